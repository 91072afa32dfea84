"""Queries behind App Home: a handful of bounded queries, whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.departments import memberships
from storage.models import (
    Department,
    KpiValue,
    Objective,
    Recognition,
    RecognitionRecipient,
    utcnow,
)
from storage.objectives import ObjectiveView, key_results_owned_by, load_views
from storage.quarters import quarter_of
from storage.rollup import CompanyObjective, QuarterTree, company_overview, quarter_tree


@dataclass
class HomeData:
    key_results: list = field(default_factory=list)  # (KeyResult, Objective)
    department_objectives: list[ObjectiveView] = field(default_factory=list)
    more_objectives: int = 0
    kpis: list[tuple[KpiValue, KpiValue | None]] = field(default_factory=list)  # latest, previous
    kudos: list[tuple[Recognition, list[str]]] = field(default_factory=list)
    # This quarter's company objectives with each contributing department's progress (§8).
    company: list[CompanyObjective] = field(default_factory=list)
    tree: QuarterTree | None = None
    department_names: dict[int, str] = field(default_factory=dict)


def latest_company_kpis(
    session: Session, *, team_id: str
) -> list[tuple[KpiValue, KpiValue | None]]:
    """Newest and previous company-wide value of each KPI (two queries)."""
    newest = (
        select(KpiValue.kpi_name, func.max(KpiValue.day).label("day"))
        .where(KpiValue.team_id == team_id, KpiValue.scope == 0)
        .group_by(KpiValue.kpi_name)
        .subquery()
    )
    latest = session.exec(
        select(KpiValue)
        .join(newest, (KpiValue.kpi_name == newest.c.kpi_name) & (KpiValue.day == newest.c.day))
        .where(KpiValue.team_id == team_id, KpiValue.scope == 0)
        .order_by(KpiValue.kpi_name)
    ).all()
    out = []
    for row in latest:
        prev = session.exec(
            select(KpiValue)
            .where(
                KpiValue.team_id == team_id,
                KpiValue.scope == 0,
                KpiValue.kpi_name == row.kpi_name,
                KpiValue.day < row.day,
            )
            .order_by(KpiValue.day.desc())
            .limit(1)
        ).first()
        out.append((row, prev))
    return out


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
    quarter = quarter_of(utcnow().date())
    data.tree = quarter_tree(session, team_id=team_id, quarter=quarter)
    data.company = company_overview(data.tree)
    if data.company:
        data.department_names = dict(
            session.exec(
                select(Department.id, Department.name).where(Department.team_id == team_id)
            ).all()
        )
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
        data.department_objectives = load_views(session, list(objs), {quarter: data.tree})
        data.more_objectives = max(0, total - len(objs))
    data.kpis = latest_company_kpis(session, team_id=team_id)
    data.kudos = recent_kudos(session, team_id=team_id)
    return data
