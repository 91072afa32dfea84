"""Queries behind App Home: a handful of bounded queries, whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.departments import memberships
from storage.kpi_values import LatestValue, latest_values
from storage.models import Objective, Recognition, RecognitionRecipient
from storage.objectives import ObjectiveView, key_results_owned_by, load_views


@dataclass
class HomeData:
    key_results: list = field(default_factory=list)  # (KeyResult, Objective)
    department_objectives: list[ObjectiveView] = field(default_factory=list)
    more_objectives: int = 0
    kpis: list[LatestValue] = field(default_factory=list)  # company-wide
    kudos: list[tuple[Recognition, list[str]]] = field(default_factory=list)


def recent_kudos(
    session: Session, *, team_id: str, limit: int = 5
) -> list[tuple[Recognition, list[str]]]:
    recs = session.exec(
        select(Recognition)
        .where(Recognition.team_id == team_id)
        .order_by(Recognition.created_at.desc(), Recognition.id.desc())
        .limit(limit)
    ).all()
    if not recs:
        return []
    recipients: dict[int, list[str]] = {}
    for r in session.exec(
        select(RecognitionRecipient).where(
            col(RecognitionRecipient.recognition_id).in_([x.id for x in recs])
        )
    ):
        recipients.setdefault(r.recognition_id, []).append(r.user_id)
    return [(r, recipients.get(r.id, [])) for r in recs]


def home_data(
    session: Session, *, team_id: str, user_id: str, max_krs: int = 15, max_objectives: int = 8
) -> HomeData:
    data = HomeData()
    data.key_results = key_results_owned_by(session, team_id=team_id, user_id=user_id)
    dept_ids = [m.department_id for m in memberships(session, team_id=team_id, user_id=user_id)]
    if dept_ids:
        base = select(Objective).where(
            Objective.team_id == team_id,
            Objective.status == "active",
            col(Objective.department_id).in_(dept_ids),
        )
        total = session.exec(select(func.count()).select_from(base.subquery())).one()
        objs = session.exec(base.order_by(Objective.number.desc()).limit(max_objectives)).all()
        data.department_objectives = load_views(session, list(objs))
        data.more_objectives = max(0, total - len(objs))
    data.kpis = latest_values(session, team_id=team_id, scope=0)
    data.kudos = recent_kudos(session, team_id=team_id)
    return data
