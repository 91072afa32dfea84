"""Weekly check-in reminders, at the configured local time in each owner's own timezone.

One DM per person per ISO week (run key `reminder/<user>/<week>`), listing their key results
with no check-in in the past 7 days, each with a Check in button (the `checkin_open` action)
and one "Snooze a week" button. Snoozing records next week's key as `snoozed`, so that week's
reminder is skipped by the same exactly-once mechanism. KPI-bound key results only ask for a
confidence reading.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from jobs import run_once
from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from jobs.schedule_times import WEEKLY_GRACE, due_weekly, parse_hhmm, zone
from slackapp.blocks.reminders import reminder_blocks
from storage.away import away_until
from storage.db import session_scope
from storage.kr_insights import kr_insights
from storage.models import KeyResult, utcnow
from storage.objectives import active_key_results, due_for_checkin
from storage.reminder_snoozes import REMINDER_JOB
from storage.teams import cached_users, team_or_default, team_timezone

log = logging.getLogger(__name__)

JOB = REMINDER_JOB
TZ_CACHE_TTL = timedelta(days=1)


def _owner_timezones(
    engine: Engine, client: WebClient | None, *, team_id: str, owners: list[str], now: datetime
) -> dict[str, str | None]:
    """Each owner's tz from the users.info cache, refreshing entries older than a day."""
    with session_scope(engine) as session:
        rows = cached_users(session, team_id=team_id, user_ids=owners)
    out: dict[str, str | None] = {}
    for owner in owners:
        row = rows.get(owner)
        # Cache age is wall-clock time, whatever instant the schedule is evaluated for.
        fresh = row is not None and row.fetched_at and utcnow() - row.fetched_at < TZ_CACHE_TTL
        if not fresh and client is not None:
            try:
                from slackapp.context import fetch_user

                with session_scope(engine) as session:
                    row = fetch_user(session, client, team_id=team_id, user_id=owner, force=True)
            except Exception as exc:  # noqa: BLE001 - keep the old tz (or the team's)
                log.warning("users.info failed for %s: %s", owner, exc)
        out[owner] = None if row is None or row.deleted or row.is_bot else (row.tz or "")
    return out


def _slot_open_somewhere(now: datetime, weekday: int, at, grace: timedelta) -> bool:
    """Is the weekly slot due in any UTC offset (−12…+14, quarter hours)? A cheap gate that
    spares the tick a database read in the minutes when nobody can be due."""
    return any(
        due_weekly(now, timezone(timedelta(minutes=15 * q)), weekday, at, grace) is not None
        for q in range(-12 * 4, 14 * 4 + 1)
    )


def plan_reminders(
    engine: Engine,
    client: WebClient | None,
    *,
    team_id: str,
    now: datetime,
    default_timezone: str = "UTC",
    grace: timedelta = WEEKLY_GRACE,
) -> list[Outgoing]:
    with session_scope(engine) as session:
        team = team_or_default(session, team_id=team_id)
    at = parse_hhmm(team.reminder_time, "10:00")
    if not _slot_open_somewhere(now, team.reminder_weekday, at, grace):
        return []  # most minutes of the week: no timezone on Earth is in its reminder window
    rows, due, found = _due_key_results(engine, team_id=team_id, now=now)
    if not due:
        return []
    mismatches: dict[str, dict[int, tuple[KeyResult, str]]] = defaultdict(dict)
    for kr in rows:
        insight = found.get(kr.id)
        if insight is not None and insight.mismatch:
            mismatches[kr.owner_id][kr.id] = (kr, insight.mismatch)
    team_tz = team_timezone(team, default_timezone)
    tzs = _owner_timezones(engine, client, team_id=team_id, owners=sorted(due), now=now)
    by_period: dict[str, list[str]] = defaultdict(list)
    for owner in sorted(due):
        if tzs.get(owner) is None:  # deactivated account or bot: nobody to remind
            continue
        period = due_weekly(now, zone(tzs[owner], team_tz), team.reminder_weekday, at, grace)
        if period is not None:
            by_period[period].append(owner)
    return _reminders(engine, team_id=team_id, by_period=by_period, due=due, mismatches=mismatches)


def _due_key_results(engine: Engine, *, team_id: str, now: datetime):
    """(every active key result, owner → the ones due a check-in, kr id → insight), detached."""
    with session_scope(engine) as session:
        pairs = active_key_results(session, team_id=team_id)
        rows = [kr for kr, _ in pairs]
        # Someone away is not nagged about numbers they cannot move until they are back.
        away = away_until(session, team_id=team_id, today=now.date())
        due: dict[str, list[KeyResult]] = defaultdict(list)
        for kr in rows:
            if due_for_checkin(kr, now) and kr.owner_id not in away:
                due[kr.owner_id].append(kr)
        if not due:
            return rows, due, {}
        found = kr_insights(
            session,
            team_id=team_id,
            items=[(kr, q) for kr, q in pairs if kr.owner_id in due],
            now=now,
        )
        session.expunge_all()
    return rows, due, found


def _reminders(
    engine: Engine, *, team_id: str, by_period: dict[str, list[str]], due, mismatches
) -> list[Outgoing]:
    """One DM per owner and week, unless that week's reminder was sent, is going out or was
    snoozed (a failed one is tried again)."""
    messages = []
    for period, owners in by_period.items():
        taken = run_once.statuses(engine, team_id=team_id, job=JOB, period=period)
        for owner in owners:
            if owner in taken and taken[owner] != run_once.FAILED:
                continue  # sent, in flight or snoozed
            krs = due[owner]
            messages.append(
                Outgoing(
                    channel=owner,
                    text=f"Weekly check-in: {len(krs)} key result"
                    f"{'s' if len(krs) != 1 else ''} need an update",
                    blocks=reminder_blocks(krs, period, mismatches.get(owner)),
                    key=RunKey(team_id, JOB, owner, period),
                    label="check-in reminder",
                )
            )
    return messages


def send_due_reminders(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime | None = None,
    default_timezone: str = "UTC",
    poster: Poster | None = None,
) -> PostReport:
    now = now or utcnow()
    messages = plan_reminders(
        engine, client, team_id=team_id, now=now, default_timezone=default_timezone
    )
    if not messages:
        return PostReport()
    return (poster or Poster(client, engine=engine)).post_all(messages)
