"""Per key result insights in one place: forecast, status, mismatch, stale.

Used by the objective detail and list, the digests and the reminders, so they all agree. A fixed
number of SELECTs whatever the number of key results (see storage.forecast.forecasts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, select

from storage.confidence import mismatch
from storage.forecast import Forecast, forecasts
from storage.models import Team
from storage.progress import status, worsen
from storage.staleness import DEFAULT_STALE_DAYS, days_since_checkin


@dataclass(frozen=True)
class KrInsight:
    forecast: Forecast | None
    data_status: str  # what the numbers alone say (forecast, else pace)
    status: str  # data status, made worse by a low confidence
    mismatch: str | None  # overconfident | underconfident
    stale: bool
    days_since_checkin: int


def insight(kr, *, quarter: str, now: datetime, stale_days: int, forecast: Forecast | None):
    common = dict(
        baseline=kr.baseline,
        target=kr.target,
        current=kr.current_value,
        quarter=quarter,
        now=now,
        forecast_progress=forecast.progress if forecast else None,
    )
    data_status = status(**common, confidence=None)
    days = days_since_checkin(kr, now)
    return KrInsight(
        forecast=forecast,
        data_status=data_status,
        status=worsen(data_status, kr.last_confidence),
        mismatch=mismatch(kr.last_confidence, data_status),
        stale=days >= stale_days,
        days_since_checkin=days,
    )


# Read by every list and objective view: built once, not on each call.
_STALE_DAYS = select(Team.stale_days).where(Team.team_id == bindparam("team_id"))


def stale_days_of(session: Session, team_id: str) -> int:
    team = session.identity_map.get(session.identity_key(Team, team_id))
    if team is not None:  # already read in this unit of work (a digest): no statement
        return team.stale_days or DEFAULT_STALE_DAYS
    return session.execute(_STALE_DAYS, {"team_id": team_id}).scalar() or DEFAULT_STALE_DAYS


def kr_insights(
    session: Session,
    *,
    team_id: str,
    items: list[tuple[object, str]],
    now: datetime,
    stale_days: int | None = None,
    checkin_forecasts: dict[int, Forecast] | None = None,
) -> dict[int, KrInsight]:
    """key result id → KrInsight for (key result, quarter) pairs. `checkin_forecasts`: the
    forecasts of those set by check-ins, when they were read with the key results."""
    if stale_days is None:
        stale_days = stale_days_of(session, team_id)
    by_quarter: dict[str, list] = defaultdict(list)
    for kr, quarter in items:
        by_quarter[quarter].append(kr)
    out: dict[int, KrInsight] = {}
    for quarter, krs in by_quarter.items():
        found = forecasts(
            session,
            team_id=team_id,
            quarter=quarter,
            key_results=krs,
            checkin_forecasts=checkin_forecasts,
        )
        for kr in krs:
            out[kr.id] = insight(
                kr, quarter=quarter, now=now, stale_days=stale_days, forecast=found.get(kr.id)
            )
    return out


def view_insights(session: Session, *, team_id: str, views: list, now: datetime):
    """Insights for every key result of ObjectiveViews (storage.objectives); the team's
    stale-days setting is read only when the views were loaded without it, and the check-in
    forecasts only when they were not read with the key results."""
    items = [(kr, v.objective.quarter) for v in views for kr in v.key_results]
    stale_days = next((v.stale_days for v in views if v.stale_days is not None), None)
    known: dict[int, Forecast] | None = {}
    for v in views:
        if v.checkin_forecasts is None:
            known = None
            break
        known.update(v.checkin_forecasts)
    return kr_insights(
        session,
        team_id=team_id,
        items=items,
        now=now,
        stale_days=stale_days,
        checkin_forecasts=known,
    )
