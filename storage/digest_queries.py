"""Everything a weekly digest shows, read with a fixed number of bulk queries.

The number of SQL statements does not depend on how many departments there are (the bench
prints it for 50 and 500): each kind of row is read once for the whole team and grouped in
Python. No Slack code here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from storage.away import away_until
from storage.confidence import NetConfidence, net_confidence_change
from storage.kpi_values import LatestValue, latest_values
from storage.kr_insights import KrInsight, kr_insights
from storage.models import (
    CheckIn,
    Department,
    DepartmentMember,
    KeyResult,
    KpiValue,
    Objective,
    Team,
)
from storage.progress import AT_RISK, OFF_TRACK, ON_TRACK, progress
from storage.quarters import quarter_bounds, quarter_of

log = logging.getLogger(__name__)

STATUS_ORDER = [ON_TRACK, AT_RISK, OFF_TRACK]
KPI_HISTORY_WEEKS = 12


@dataclass
class KrDigest:
    key_result: KeyResult
    progress: float
    status: str
    value_week_ago: float | None  # the value as it stood a week ago (None: no value then)
    checkins_this_week: int
    missed_weeks: int  # whole weeks without a check-in: 0, 1, or 2 (= two or more)
    insight: KrInsight | None = None  # forecast, mismatch, stale (spec §9)
    confidence_week_ago: int | None = None
    owner_away_until: date | None = None  # away owners are kept out of missed check-ins

    @property
    def moved(self) -> bool:
        kr = self.key_result
        return self.checkins_this_week > 0 and kr.current_value != self.value_week_ago


@dataclass
class ObjectiveDigest:
    objective: Objective
    key_results: list[KrDigest]

    @property
    def progress(self) -> float:
        if not self.key_results:
            return 0.0
        return sum(k.progress for k in self.key_results) / len(self.key_results)

    @property
    def status(self) -> str:
        """The worst of its key results: one failing KR puts the objective at risk."""
        if not self.key_results:
            return AT_RISK
        return max((k.status for k in self.key_results), key=STATUS_ORDER.index)


@dataclass
class DepartmentDigest:
    department: Department
    head_ids: list[str]
    objectives: list[ObjectiveDigest]
    kpis: list[LatestValue] = field(default_factory=list)
    behaviors: list = field(default_factory=list)  # storage.behaviors.BehaviorProgress
    kudos: list = field(default_factory=list)  # storage.kudos.KudosItem

    @property
    def key_results(self) -> list[KrDigest]:
        return [k for o in self.objectives for k in o.key_results]

    @property
    def moved(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.moved]

    @property
    def missed(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.missed_weeks >= 1 and not k.owner_away_until]

    @property
    def escalated(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.missed_weeks >= 2 and not k.owner_away_until]

    @property
    def mismatched(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.insight and k.insight.mismatch]

    @property
    def stale(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.insight and k.insight.stale]

    @property
    def away(self) -> dict[str, date]:
        """Owners of this department's key results who are away: user id → last away day."""
        return {
            k.key_result.owner_id: k.owner_away_until
            for k in self.key_results
            if k.owner_away_until
        }

    @property
    def net_confidence(self) -> NetConfidence:
        krs = self.key_results
        return net_confidence_change(
            [k.key_result.last_confidence for k in krs], [k.confidence_week_ago for k in krs]
        )

    @property
    def progress(self) -> float:
        if not self.objectives:
            return 0.0
        return sum(o.progress for o in self.objectives) / len(self.objectives)

    def count(self, wanted: str) -> int:
        return sum(1 for o in self.objectives if o.status == wanted)


@dataclass
class DigestData:
    team: Team
    quarter: str
    now: datetime
    week_start: datetime
    departments: list[DepartmentDigest]
    company_kpis: list[LatestValue]
    kpi_series: dict[str, list[tuple[date, float]]]  # company-wide, for the chart
    # Behaviors against KPIs, in the first digest of each quarter only (spec §9).
    correlations: list = field(default_factory=list)

    @property
    def at_risk(self) -> list[tuple[Department, ObjectiveDigest]]:
        out = [
            (d.department, o)
            for d in self.departments
            for o in d.objectives
            if o.status in (AT_RISK, OFF_TRACK)
        ]
        return sorted(out, key=lambda p: (-STATUS_ORDER.index(p[1].status), p[1].progress))


def missed_weeks(kr: KeyResult, now: datetime) -> int:
    """Whole weeks since the last check-in (or since the KR was created), capped at 2."""
    since = kr.last_checkin_at or kr.created_at
    return min(2, max(0, (now - since).days // 7))


def build_digest_data(
    session: Session,
    *,
    team_id: str,
    now: datetime,
    department_ids: list[int] | None = None,
    default_timezone: str = "UTC",
) -> DigestData:
    team = session.get(Team, team_id) or Team(team_id=team_id)
    quarter = quarter_of(now.date())
    week_start = now - timedelta(days=7)

    dept_q = select(Department).where(Department.team_id == team_id)
    if department_ids is not None:
        dept_q = dept_q.where(col(Department.id).in_(department_ids or [-1]))
    departments = list(session.exec(dept_q.order_by(Department.name_key)).all())
    wanted = {d.id for d in departments}

    heads: dict[int, list[str]] = defaultdict(list)
    for dept_id, user_id in session.exec(
        select(DepartmentMember.department_id, DepartmentMember.user_id)
        .where(DepartmentMember.team_id == team_id, DepartmentMember.is_head.is_(True))
        .order_by(DepartmentMember.id)
    ).all():
        heads[dept_id].append(user_id)

    # Objectives and key results come back as read-only rows with the models' attribute names:
    # a big workspace has tens of thousands, and ORM objects would cost most of the build time.
    objectives = [
        o
        for o in session.exec(
            select(*Objective.__table__.columns)
            .where(
                Objective.team_id == team_id,
                Objective.quarter == quarter,
                Objective.status == "active",
            )
            .order_by(Objective.number)
        ).all()
        if o.department_id in wanted
    ]
    obj_ids = {o.id for o in objectives}
    krs_by_obj: dict[int, list[KeyResult]] = defaultdict(list)
    for kr in session.exec(
        select(*KeyResult.__table__.columns)
        .join(Objective, col(Objective.id) == KeyResult.objective_id)
        .where(
            KeyResult.team_id == team_id,
            Objective.quarter == quarter,
            Objective.status == "active",
        )
        .order_by(KeyResult.number)
    ).all():
        if kr.objective_id in obj_ids:
            krs_by_obj[kr.objective_id].append(kr)

    # This week's check-ins, and for each KR the last check-in before the week (its value then).
    week_counts: dict[int, int] = defaultdict(int)
    for kr_id, n in session.exec(
        select(CheckIn.key_result_id, func.count())
        .where(CheckIn.team_id == team_id, CheckIn.created_at >= week_start)
        .group_by(CheckIn.key_result_id)
    ).all():
        week_counts[kr_id] = n
    last_before = (
        select(CheckIn.key_result_id, func.max(CheckIn.created_at).label("at"))
        .where(CheckIn.team_id == team_id, CheckIn.created_at < week_start)
        .group_by(CheckIn.key_result_id)
        .subquery()
    )
    value_then: dict[int, float | None] = {}
    confidence_then: dict[int, int] = {}
    for kr_id, value, confidence in session.exec(
        select(CheckIn.key_result_id, CheckIn.value, CheckIn.confidence).join(
            last_before,
            and_(
                last_before.c.key_result_id == CheckIn.key_result_id,
                last_before.c.at == CheckIn.created_at,
            ),
        )
    ).all():
        value_then[kr_id] = value
        confidence_then[kr_id] = confidence

    changes: dict[int, list[LatestValue]] = defaultdict(list)
    for v in latest_values(
        session,
        team_id=team_id,
        as_of=now.date(),
        since=now.date() - timedelta(weeks=KPI_HISTORY_WEEKS),
    ):
        changes[v.scope].append(v)
    # The company-wide chart: plain rows, not ORM objects (weeks × KPIs of them).
    series: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for name, day, value in session.exec(
        select(KpiValue.kpi_name, KpiValue.day, KpiValue.value)
        .where(
            KpiValue.team_id == team_id,
            KpiValue.scope == 0,
            KpiValue.day >= now.date() - timedelta(weeks=KPI_HISTORY_WEEKS),
            KpiValue.day <= now.date(),
        )
        .order_by(KpiValue.kpi_name, KpiValue.day)
    ).all():
        series[name].append((day, value))

    behaviors = _behaviors(session, team_id, department_ids, week_start, now)
    kudos_by_dept = _kudos(session, team_id, department_ids, week_start, now)

    # Insights (spec §9): forecasts for every key result in two statements, who is away in one.
    all_krs = [kr for krs in krs_by_obj.values() for kr in krs]
    insights = kr_insights(
        session,
        team_id=team_id,
        items=[(kr, quarter) for kr in all_krs],
        now=now,
        stale_days=team.stale_days,
    )
    away = away_until(session, team_id=team_id, today=now.date())

    def kr_digest(kr: KeyResult) -> KrDigest:
        checked = week_counts.get(kr.id, 0)
        then = value_then.get(kr.id)  # None: no check-in before the week
        found = insights[kr.id]
        return KrDigest(
            key_result=kr,
            progress=progress(kr.baseline, kr.target, kr.current_value),
            status=found.status,
            value_week_ago=then,
            checkins_this_week=checked,
            missed_weeks=missed_weeks(kr, now),
            insight=found,
            confidence_week_ago=confidence_then.get(kr.id),
            owner_away_until=away.get(kr.owner_id),
        )

    objectives_by_dept: dict[int, list[ObjectiveDigest]] = defaultdict(list)
    for o in objectives:
        objectives_by_dept[o.department_id].append(
            ObjectiveDigest(objective=o, key_results=[kr_digest(k) for k in krs_by_obj[o.id]])
        )
    digests = [
        DepartmentDigest(
            department=d,
            head_ids=heads.get(d.id, []),
            objectives=objectives_by_dept.get(d.id, []),
            kpis=changes.get(d.id, []),
            behaviors=behaviors.get(d.id, []),
            kudos=kudos_by_dept.get(d.id, []),
        )
        for d in departments
    ]
    return DigestData(
        team=team,
        quarter=quarter,
        now=now,
        week_start=week_start,
        departments=digests,
        company_kpis=changes.get(0, []),
        kpi_series=dict(series),
        correlations=_quarterly_correlations(session, team_id, department_ids, now),
    )


def first_week_of_quarter(now: datetime) -> bool:
    start, _ = quarter_bounds(quarter_of(now.date()))
    return (now.date() - start).days < 7


def _quarterly_correlations(session, team_id, department_ids, now) -> list:
    """Behaviors against KPIs over the past year, for the first leadership digest of a quarter."""
    if department_ids is not None or not first_week_of_quarter(now):
        return []
    from storage.behavior_correlation import correlate
    from storage.models import Behavior

    behaviors = list(
        session.exec(
            select(Behavior).where(Behavior.team_id == team_id, Behavior.active.is_(True))
        ).all()
    )
    return correlate(session, team_id=team_id, behaviors=behaviors, today=now.date())


def _behaviors(session, team_id, department_ids, start, end) -> dict[int, list]:
    try:
        from storage.behaviors import weekly_behavior_counts
    except ImportError:  # behaviors feature not installed in this build
        log.info("storage.behaviors is not available; digests show no behaviors")
        return {}
    return weekly_behavior_counts(
        session, team_id=team_id, department_ids=department_ids, start=start, end=end
    )


def _kudos(session, team_id, department_ids, start, end) -> dict[int, list]:
    try:
        from storage.kudos import kudos_between
    except ImportError:
        log.info("storage.kudos is not available; digests show no kudos")
        return {}
    out: dict[int, list] = defaultdict(list)
    for item in kudos_between(
        session, team_id=team_id, start=start, end=end, department_ids=department_ids
    ):
        for dept_id in dict.fromkeys(item.department_ids):
            out[dept_id].append(item)
    return out
