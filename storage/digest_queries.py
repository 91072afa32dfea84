"""Everything a weekly digest shows, read with a fixed number of bulk queries.

The number of SQL statements does not depend on how many departments there are (the bench
prints it for 50 and 500): each kind of row is read once for the whole team and grouped in
Python. No Slack code here.
"""

from __future__ import annotations

import logging
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.away import away_until
from storage.commitments import overdue as overdue_commitments
from storage.confidence import NetConfidence, net_confidence_change
from storage.feedback_figures import OpenFollowups, VoiceFigures, open_followups, period_figures
from storage.kpi_values import LatestValue, latest_values
from storage.kr_insights import KrInsight, kr_insights
from storage.models import (
    CheckIn,
    Department,
    DepartmentMember,
    KeyResult,
    KpiValue,
    Objective,
    ObjectiveStatus,
    SlackUser,
    Team,
)
from storage.progress import AT_RISK, OFF_TRACK, ON_TRACK, progress
from storage.quarters import previous_quarter, quarter_bounds, quarter_of
from storage.rollup import (
    CompanyObjective,
    QuarterTree,
    company_overview,
    quarter_tree,
    with_own_values,
)
from storage.teams import team_now, team_or_default

log = logging.getLogger(__name__)

STATUS_ORDER = [ON_TRACK, AT_RISK, OFF_TRACK]
_STATUS_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}
KPI_HISTORY_WEEKS = 12


@dataclass(slots=True)
class KrDigest:
    key_result: KeyResult
    progress: float
    status: str
    value_week_ago: float | None  # the value as it stood a week ago (None: no value then)
    checkins_this_week: int
    missed_weeks: int  # whole weeks without a check-in: 0, 1, or 2 (= two or more)
    insight: KrInsight | None = None  # forecast, mismatch, stale
    confidence_week_ago: int | None = None
    owner_away_until: date | None = None  # away owners are kept out of missed check-ins
    latest_note: str = ""  # the note of its newest check-in
    blocker: str = ""  # its open blocker: the newest check-in's, "" when none
    blocker_checkin_id: int | None = None
    blocker_since: datetime | None = None

    @property
    def needs_attention(self) -> bool:
        return self.status in (AT_RISK, OFF_TRACK)

    @property
    def moved(self) -> bool:
        kr = self.key_result
        return self.checkins_this_week > 0 and kr.current_value != self.value_week_ago


# Derived values below are cached_property: a digest is built once and then only read, and
# the department and leadership digests ask for the same lists several times each.


@dataclass
class ObjectiveDigest:
    objective: Objective
    key_results: list[KrDigest]
    rolled_up: float | None = None  # with what contributes to it

    @cached_property
    def progress(self) -> float:
        if self.rolled_up is not None:
            return self.rolled_up
        if not self.key_results:
            return 0.0
        return sum(k.progress for k in self.key_results) / len(self.key_results)

    @cached_property
    def status(self) -> str:
        """The worst of its key results: one failing KR puts the objective at risk."""
        if not self.key_results:
            return AT_RISK
        return max({k.status for k in self.key_results}, key=_STATUS_RANK.__getitem__)


@dataclass
class DepartmentDigest:
    department: Department
    head_ids: list[str]
    objectives: list[ObjectiveDigest]
    kpis: list[LatestValue] = field(default_factory=list)
    behaviors: list = field(default_factory=list)  # storage.behaviors.BehaviorProgress
    kudos: list = field(default_factory=list)  # storage.kudos.KudosItem
    owes: list = field(default_factory=list)  # overdue commitments it owes ("you owe")
    owed: list = field(default_factory=list)  # overdue ones owed to its members ("owed to you")
    # Customer voice: the week's detractors and recoveries, and its follow-ups open right now.
    voice: VoiceFigures | None = None
    followups: OpenFollowups | None = None

    @property
    def has_voice(self) -> bool:
        """Whether customers had anything to say to it: no section, no line otherwise."""
        return self.voice is not None or bool(self.followups and self.followups.open)

    @cached_property
    def key_results(self) -> list[KrDigest]:
        return [k for o in self.objectives for k in o.key_results]

    @cached_property
    def moved(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.moved]

    @cached_property
    def missed(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.missed_weeks >= 1 and not k.owner_away_until]

    @cached_property
    def blocked(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.blocker]

    @cached_property
    def attention(self) -> list[KrDigest]:
        """At-risk and off-track key results, worst first: what a head nudges or comments on."""
        found = [k for k in self.key_results if k.needs_attention]
        return sorted(found, key=lambda k: (-_STATUS_RANK[k.status], k.key_result.number))

    @cached_property
    def escalated(self) -> list[KrDigest]:
        return [k for k in self.missed if k.missed_weeks >= 2]

    @cached_property
    def mismatched(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.insight and k.insight.mismatch]

    @cached_property
    def stale(self) -> list[KrDigest]:
        return [k for k in self.key_results if k.insight and k.insight.stale]

    @cached_property
    def away(self) -> dict[str, date]:
        """Owners of this department's key results who are away: user id → last away day."""
        return {
            k.key_result.owner_id: k.owner_away_until
            for k in self.key_results
            if k.owner_away_until
        }

    @cached_property
    def net_confidence(self) -> NetConfidence:
        krs = self.key_results
        return net_confidence_change(
            [k.key_result.last_confidence for k in krs], [k.confidence_week_ago for k in krs]
        )

    @cached_property
    def progress(self) -> float:
        if not self.objectives:
            return 0.0
        return sum(o.progress for o in self.objectives) / len(self.objectives)

    @cached_property
    def _status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUS_ORDER, 0)
        for o in self.objectives:
            counts[o.status] += 1
        return counts

    def count(self, wanted: str) -> int:
        return self._status_counts.get(wanted, 0)


@dataclass
class CompanyDigest:
    overview: CompanyObjective
    week_ago: float  # rolled-up progress as it stood a week ago

    @property
    def change(self) -> float:
        return self.overview.progress - self.week_ago


@dataclass
class DigestData:
    team: Team
    quarter: str
    now: datetime
    week_start: datetime
    departments: list[DepartmentDigest]
    company_kpis: list[LatestValue]
    kpi_series: dict[str, list[tuple[date, float]]]  # company-wide, for the chart
    # Company objectives: now, a week ago, and what contributes.
    company: list[CompanyDigest] = field(default_factory=list)
    tree: QuarterTree | None = None
    department_names: dict[int, str] = field(default_factory=dict)
    overdue: list = field(default_factory=list)  # every overdue commitment, oldest due first
    # Behaviors against KPIs, in the first digest of each quarter only.
    correlations: list = field(default_factory=list)
    # Decisions from the last quarter's review open the quarter's first leadership digest:
    # (the quarter reviewed, its decisions, objective id → number of objectives they started).
    decisions: tuple[str, list, dict[int, int]] | None = None
    # Display names from the user cache: a digest mentions a person once, then names them.
    user_names: dict[str, str] = field(default_factory=dict)

    @property
    def blocked(self) -> list[tuple[Department, KrDigest]]:
        return [(d.department, k) for d in self.departments for k in d.blocked]

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


@lru_cache(maxsize=32)
def _record_type(name: str, fields: tuple[str, ...]) -> type:
    return namedtuple(name, fields)


def _records(result, name: str) -> list:
    """A result's rows as named tuples: the same attribute names, but reading an attribute is
    a tuple index (~50 ns) where a SQLAlchemy Row resolves the name (~800 ns). The digest reads
    some forty attributes per key result, so for 20,000 key results that is most of a second."""
    make = _record_type(name, tuple(result.keys()))._make
    return [make(row) for row in result]


def _quarter_key_results(team_id: str, quarter: str, week_start: datetime):
    """The quarter's active key results (all columns), each with `checkins_this_week`, the
    last check-in before `week_start` (`value_then`, `confidence_then`) and its newest check-in's
    note and blocker (`latest_note`, `latest_blocker`, `latest_id`, `latest_at`)."""
    checkin = CheckIn.__table__
    kr_table = KeyResult.__table__
    this_week = (
        select(func.count())
        .select_from(checkin)
        .where(checkin.c.key_result_id == kr_table.c.id, checkin.c.created_at >= week_start)
        .scalar_subquery()
    )
    last_before = (
        select(checkin.c.id)
        .where(checkin.c.key_result_id == kr_table.c.id, checkin.c.created_at < week_start)
        .order_by(checkin.c.created_at.desc(), checkin.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    newest = (
        select(checkin.c.id)
        .where(checkin.c.key_result_id == kr_table.c.id)
        .order_by(checkin.c.created_at.desc(), checkin.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    then = checkin.alias("checkin_then")
    latest = checkin.alias("checkin_latest")
    return (
        select(
            *kr_table.columns,
            this_week.label("checkins_this_week"),
            then.c.value.label("value_then"),
            then.c.confidence.label("confidence_then"),
            latest.c.id.label("latest_id"),
            latest.c.note.label("latest_note"),
            latest.c.blocker.label("latest_blocker"),
            latest.c.created_at.label("latest_at"),
        )
        .join(Objective, col(Objective.id) == kr_table.c.objective_id)
        .outerjoin(then, then.c.id == last_before)
        .outerjoin(latest, latest.c.id == newest)
        .where(
            kr_table.c.team_id == team_id,
            Objective.quarter == quarter,
            Objective.status == ObjectiveStatus.ACTIVE,
        )
        .order_by(kr_table.c.number)
    )


def build_digest_data(
    session: Session,
    *,
    team_id: str,
    now: datetime,
    department_ids: list[int] | None = None,
    default_timezone: str = "UTC",
) -> DigestData:
    team = team_or_default(session, team_id=team_id)
    quarter = quarter_of(now.date())
    week_start = now - timedelta(days=7)
    local_today = team_now(team, default_timezone, now=now).date()  # "away until", overdue

    departments, heads = _departments_and_heads(session, team_id, department_ids)
    # Plain columns are read through the Core connection: no ORM result machinery (nor, on a
    # process's first digest, the ORM's compilation of each statement).
    conn = session.connection()
    objectives, krs_by_obj, quarter_krs = _objectives_and_key_results(
        conn, team_id, quarter, week_start, wanted={d.id for d in departments}
    )
    changes, series = _kpi_changes_and_series(session, conn, team_id, now)
    behaviors = _behaviors(session, team_id, department_ids, week_start, now)
    # Customer voice for every department at once: two statements, whatever their number.
    voice = period_figures(session, team_id=team_id, start=week_start, end=now, now=now)
    pending = open_followups(session, team_id=team_id, now=now)
    kudos_by_dept = _kudos(session, team_id, department_ids, week_start, now)
    objectives_by_dept, tree = _objective_digests(
        session, team, objectives, krs_by_obj, quarter=quarter, today=local_today, now=now
    )
    company = _company_week_ago(tree, quarter_krs, week_start)
    names = _department_names(conn, team_id, departments, department_ids)
    overdue = overdue_commitments(session, team_id=team_id, today=local_today)
    digests = _department_digests(
        departments,
        heads,
        objectives_by_dept,
        changes,
        behaviors,
        kudos_by_dept,
        voice,
        pending,
        overdue=overdue,
    )
    return DigestData(
        team=team,
        quarter=quarter,
        now=now,
        week_start=week_start,
        departments=digests,
        company_kpis=changes.get(0, []),
        kpi_series=dict(series),
        company=company,
        tree=tree,
        department_names=names,
        overdue=overdue,
        correlations=_quarterly_correlations(session, team_id, department_ids, now),
        decisions=_last_quarters_decisions(session, team_id, department_ids, now),
        user_names=display_names(session, team_id=team_id),
    )


def _objective_digests(session, team, objectives, krs_by_obj, *, quarter, today, now):
    """Each department's objectives with their key results' insights (forecasts for every key
    result in two statements, who is away in one), and the quarter's alignment tree."""
    all_krs = [kr for krs in krs_by_obj.values() for kr in krs]
    insights = kr_insights(
        session,
        team_id=team.team_id,
        items=[(kr, quarter) for kr in all_krs],
        now=now,
        stale_days=team.stale_days,
    )
    away = away_until(session, team_id=team.team_id, today=today)
    tree = quarter_tree(session, team_id=team.team_id, quarter=quarter)
    by_dept: dict[int, list[ObjectiveDigest]] = defaultdict(list)
    for o in objectives:
        by_dept[o.department_id].append(
            ObjectiveDigest(
                objective=o,
                key_results=[_kr_digest(k, insights[k.id], away, now) for k in krs_by_obj[o.id]],
                rolled_up=tree.progress(o.id) if o.id in tree.nodes else None,
            )
        )
    return by_dept, tree


def _department_digests(
    departments,
    heads,
    objectives_by_dept,
    changes,
    behaviors,
    kudos_by_dept,
    voice,
    pending,
    *,
    overdue,
) -> list[DepartmentDigest]:
    owes, owed = _owes_and_owed(overdue)
    return [
        DepartmentDigest(
            department=d,
            head_ids=heads.get(d.id, []),
            objectives=objectives_by_dept.get(d.id, []),
            kpis=changes.get(d.id, []),
            behaviors=behaviors.get(d.id, []),
            kudos=kudos_by_dept.get(d.id, []),
            owes=owes.get(d.id, []),
            owed=owed.get(d.id, []),
            voice=voice.get(d.id),
            followups=pending.get(d.id),
        )
        for d in departments
    ]


def _departments_and_heads(
    session: Session, team_id: str, department_ids: list[int] | None
) -> tuple[list[Department], dict[int, list[str]]]:
    dept_q = select(Department).where(Department.team_id == team_id)
    if department_ids is not None:
        dept_q = dept_q.where(col(Department.id).in_(department_ids or [-1]))
    departments = list(session.exec(dept_q.order_by(Department.name_key)).all())
    heads: dict[int, list[str]] = defaultdict(list)
    for dept_id, user_id in session.connection().execute(
        select(DepartmentMember.department_id, DepartmentMember.user_id)
        .where(DepartmentMember.team_id == team_id, DepartmentMember.is_head.is_(True))
        .order_by(DepartmentMember.id)
    ):
        heads[dept_id].append(user_id)
    return departments, heads


def _objectives_and_key_results(conn, team_id: str, quarter: str, week_start: datetime, *, wanted):
    """The quarter's active objectives of the `wanted` departments, their key results by
    objective, and every active key result of the quarter (company ones too, for roll-ups)."""
    # Read-only records with the models' attribute names: a big workspace has tens of
    # thousands, and ORM objects would cost most of the build time.
    objectives = [
        o
        for o in _records(
            conn.execute(
                select(*Objective.__table__.columns)
                .where(
                    Objective.team_id == team_id,
                    Objective.quarter == quarter,
                    Objective.status == ObjectiveStatus.ACTIVE,
                )
                .order_by(Objective.number)
            ),
            "ObjectiveRow",
        )
        if o.department_id in wanted
    ]
    obj_ids = {o.id for o in objectives}
    krs_by_obj: dict[int, list[KeyResult]] = defaultdict(list)
    quarter_krs = []
    # With each key result, in the same statement: its check-ins this week, and the last
    # check-in before the week (its value and confidence then; NULL when there was none).
    # Both are index seeks on (key_result_id, created_at) per key result, instead of walking
    # every check-in of the team twice.
    for kr in _records(conn.execute(_quarter_key_results(team_id, quarter, week_start)), "KrRow"):
        quarter_krs.append(kr)
        if kr.objective_id in obj_ids:
            krs_by_obj[kr.objective_id].append(kr)
    return objectives, krs_by_obj, quarter_krs


def _kpi_changes_and_series(session: Session, conn, team_id: str, now: datetime):
    """Each scope's latest KPI values, and the company-wide chart's points by KPI."""
    since = now.date() - timedelta(weeks=KPI_HISTORY_WEEKS)
    changes: dict[int, list[LatestValue]] = defaultdict(list)
    for v in latest_values(session, team_id=team_id, as_of=now.date(), since=since):
        changes[v.scope].append(v)
    # Plain rows, not ORM objects (weeks × KPIs of them).
    series: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for name, day, value in conn.execute(
        select(KpiValue.kpi_name, KpiValue.day, KpiValue.value)
        .where(
            KpiValue.team_id == team_id,
            KpiValue.scope == 0,
            KpiValue.day >= since,
            KpiValue.day <= now.date(),
        )
        .order_by(KpiValue.kpi_name, KpiValue.day)
    ):
        series[name].append((day, value))
    return changes, series


def _kr_digest(kr, found: KrInsight, away: dict, now: datetime) -> KrDigest:
    return KrDigest(
        key_result=kr,
        progress=progress(kr.baseline, kr.target, kr.current_value),
        status=found.status,
        value_week_ago=kr.value_then,  # None: no check-in before the week
        checkins_this_week=kr.checkins_this_week,
        missed_weeks=missed_weeks(kr, now),
        insight=found,
        confidence_week_ago=kr.confidence_then,
        owner_away_until=away.get(kr.owner_id),
        latest_note=kr.latest_note or "",
        blocker=kr.latest_blocker or "",
        blocker_checkin_id=kr.latest_id if kr.latest_blocker else None,
        blocker_since=kr.latest_at if kr.latest_blocker else None,
    )


def _company_week_ago(tree: QuarterTree, quarter_krs, week_start: datetime) -> list:
    """The company objectives with their progress a week ago: only the objectives they roll up
    from need their key results' values as they stood then."""
    overview = company_overview(tree)
    if not overview:
        return []
    feeding = tree.descendants(c.id for c in overview)

    def value_at_week_start(kr) -> float | None:
        if kr.last_checkin_at is None or kr.last_checkin_at < week_start or kr.kpi_name:
            return kr.current_value
        return kr.value_then

    week_ago = with_own_values(
        tree,
        (
            (k.objective_id, k.baseline, k.target, value_at_week_start(k))
            for k in quarter_krs
            if k.objective_id in feeding
        ),
    )
    return [CompanyDigest(c, week_ago.progress(c.id)) for c in overview]


def _department_names(conn, team_id, departments, department_ids) -> dict[int, str]:
    if department_ids is None:
        return {d.id: d.name for d in departments}  # every department of the team already
    return {
        d_id: name
        for d_id, name in conn.execute(
            select(Department.id, Department.name).where(Department.team_id == team_id)
        )
    }


def _owes_and_owed(overdue) -> tuple[dict, dict]:
    """Overdue commitments by the department that owes them and by the one that asked."""
    owes, owed = defaultdict(list), defaultdict(list)
    for c in overdue:
        owes[c.department_id].append(c)
        if c.asker_department_id is not None:
            owed[c.asker_department_id].append(c)
    return owes, owed


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


def _last_quarters_decisions(session, team_id, department_ids, now):
    """What leadership decided in the last quarter's review, for the first leadership digest of
    the next quarter (the week the new quarter's work starts)."""
    if department_ids is not None or not first_week_of_quarter(now):
        return None
    from storage.decisions import decisions_for_quarter, objective_numbers

    reviewed = previous_quarter(quarter_of(now.date()))
    decisions = decisions_for_quarter(session, team_id=team_id, quarter=reviewed)
    if not decisions:
        return None
    started = [d.objective_id for d in decisions if d.objective_id]
    return reviewed, decisions, objective_numbers(session, team_id=team_id, ids=started)


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


def display_names(session: Session, *, team_id: str) -> dict[str, str]:
    """Every cached person's display name in the team (one statement)."""
    return {
        user_id: name
        for user_id, name in session.connection().execute(
            select(SlackUser.user_id, SlackUser.display_name).where(
                SlackUser.team_id == team_id, col(SlackUser.display_name).is_not(None)
            )
        )
        if name
    }


def unnamed_people(session: Session, *, team_id: str, quarter: str) -> list[str]:
    """People a digest names (owners of the quarter's active objectives and key results, heads)
    whose display name the user cache does not hold yet."""
    conn = session.connection()
    wanted: set[str] = set()
    for (user_id,) in conn.execute(
        select(Objective.owner_id).where(
            Objective.team_id == team_id,
            Objective.quarter == quarter,
            Objective.status == ObjectiveStatus.ACTIVE,
        )
    ):
        wanted.add(user_id)
    for (user_id,) in conn.execute(
        select(KeyResult.owner_id)
        .join(Objective, col(Objective.id) == KeyResult.objective_id)
        .where(
            KeyResult.team_id == team_id,
            Objective.quarter == quarter,
            Objective.status == ObjectiveStatus.ACTIVE,
        )
    ):
        wanted.add(user_id)
    for (user_id,) in conn.execute(
        select(DepartmentMember.user_id).where(
            DepartmentMember.team_id == team_id, DepartmentMember.is_head.is_(True)
        )
    ):
        wanted.add(user_id)
    return sorted(wanted - set(display_names(session, team_id=team_id)))


def department_names(session: Session, *, team_id: str) -> dict[int, str]:
    """Every department of the team by id (one statement)."""
    rows = session.connection().execute(
        select(Department.id, Department.name).where(Department.team_id == team_id)
    )
    return {dept_id: name for dept_id, name in rows}
