"""Behaviors against KPIs: weekly logged counts against the KPI's weekly values at
lags of 0–8 weeks, by Spearman rank correlation. Correlation, not causation.

Weeks are ISO weeks (Monday, UTC). A behavior's weekly count is what was logged that week
(0 when nothing was logged, from its first week on); a KPI's weekly value is the mean of its
values dated that week (weeks without one are missing). At lag L the count of week w is paired
with the KPI of week w + L. No claim is made under MIN_WEEKS paired weeks, or when either side
is constant (a rank correlation is then undefined).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from storage import audit
from storage.kpis import check_kpi
from storage.models import Behavior, BehaviorKpiLink, BehaviorLog, KeyResult, KpiValue

MIN_WEEKS = 8
MAX_LAG = 8
HISTORY_WEEKS = 52

NOT_ENOUGH = "not_enough_weeks"
KPI_CONSTANT = "kpi_constant"
BEHAVIOR_CONSTANT = "behavior_constant"
NO_KPI_VALUES = "no_kpi_values"
NO_LOGS = "no_logs"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def ranks(values: list[float]) -> list[float]:
    """1-based ranks; tied values share the average of their positions."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = avg
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Pearson correlation of the ranks (exact with ties); None when a side is constant."""
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sxx = syy = 0.0
    for a, b in zip(rx, ry, strict=True):
        da, db = a - mx, b - my
        sxy += da * db
        sxx += da * da
        syy += db * db
    if sxx == 0 or syy == 0:
        return None
    return sxy / (sxx * syy) ** 0.5


@dataclass(frozen=True)
class Correlation:
    """The best lag, or why nothing is claimed (`reason` set, the rest may be None)."""

    lag: int | None = None
    rho: float | None = None
    weeks: int = 0  # paired weeks at that lag (or the most found at any lag)
    reason: str | None = None

    @property
    def claimed(self) -> bool:
        return self.reason is None


def best_lag(
    counts: dict[date, float], kpi: dict[date, float], *, max_lag: int = MAX_LAG
) -> Correlation:
    """Strongest |ρ| over lags 0..max_lag among lags with ≥ MIN_WEEKS pairs (ties: shorter lag)."""
    if not kpi:
        return Correlation(reason=NO_KPI_VALUES)
    if not counts:
        return Correlation(reason=NO_LOGS)
    best: Correlation | None = None
    most = 0
    constant = None
    for lag in range(max_lag + 1):
        shift = timedelta(weeks=lag)
        xs, ys = [], []
        for week, n in counts.items():
            v = kpi.get(week + shift)
            if v is not None:
                xs.append(n)
                ys.append(v)
        most = max(most, len(xs))
        if len(xs) < MIN_WEEKS:
            continue
        rho = spearman(xs, ys)
        if rho is None:
            constant = KPI_CONSTANT if len(set(ys)) == 1 else BEHAVIOR_CONSTANT
            continue
        if best is None or abs(rho) > abs(best.rho) + 1e-12:
            best = Correlation(lag=lag, rho=rho, weeks=len(xs))
    if best is not None:
        return best
    return Correlation(weeks=most, reason=constant or NOT_ENOUGH)


def weekly_counts(
    logs: Iterable[tuple[datetime, int]], *, first_week: date, last_week: date
) -> dict[date, float]:
    """ISO week → logged count, zero-filled from first_week to last_week."""
    out: dict[date, float] = {}
    week = first_week
    while week <= last_week:
        out[week] = 0.0
        week += timedelta(weeks=1)
    for at, count in logs:
        week = monday(at.date())
        if first_week <= week <= last_week:
            out[week] += count
    return out


def weekly_kpi(values: Iterable[tuple[date, float]]) -> dict[date, float]:
    """ISO week → mean of the KPI's values dated that week."""
    sums: dict[date, list[float]] = defaultdict(lambda: [0.0, 0])
    for day, value in values:
        s = sums[monday(day)]
        s[0] += value
        s[1] += 1
    return {week: total / n for week, (total, n) in sums.items()}


# ---------------------------------------------------------------- links and bulk computation


@dataclass
class BehaviorLink:
    behavior: Behavior
    kpi_name: str
    scope: int
    explicit: bool  # set with `link`, rather than through the objective's KPI-bound KR


@dataclass
class BehaviorCorrelation:
    link: BehaviorLink
    result: Correlation
    counts: dict[date, float] = field(default_factory=dict)
    kpi: dict[date, float] = field(default_factory=dict)


def links(session: Session, *, team_id: str, behaviors: list[Behavior]) -> dict[int, BehaviorLink]:
    """behavior id → its KPI: the explicit link, else the first KPI-bound key result of its
    objective (two queries whatever the number of behaviors)."""
    if not behaviors:
        return {}
    ids = [b.id for b in behaviors]
    out: dict[int, BehaviorLink] = {}
    by_id = {b.id: b for b in behaviors}
    for link in session.exec(
        select(BehaviorKpiLink).where(
            BehaviorKpiLink.team_id == team_id, col(BehaviorKpiLink.behavior_id).in_(ids)
        )
    ):
        out[link.behavior_id] = BehaviorLink(
            by_id[link.behavior_id], link.kpi_name, link.scope, True
        )
    objective_ids = {b.objective_id for b in behaviors if b.objective_id and b.id not in out}
    if objective_ids:
        first: dict[int, tuple[str, int]] = {}
        for obj_id, name, dept in session.execute(
            select(KeyResult.objective_id, KeyResult.kpi_name, KeyResult.kpi_department_id)
            .where(
                KeyResult.team_id == team_id,
                col(KeyResult.objective_id).in_(objective_ids),
                col(KeyResult.kpi_name).is_not(None),
            )
            .order_by(KeyResult.number)
        ):
            first.setdefault(obj_id, (name, dept or 0))
        for b in behaviors:
            if b.id not in out and b.objective_id in first:
                name, scope = first[b.objective_id]
                out[b.id] = BehaviorLink(b, name, scope, False)
    return out


def correlate(
    session: Session,
    *,
    team_id: str,
    behaviors: list[Behavior],
    today: date,
    weeks: int = HISTORY_WEEKS,
) -> list[BehaviorCorrelation]:
    """Best-lag correlation for each linked behavior over the last `weeks` weeks.

    Four SELECTs whatever the number of behaviors (links ×2, logs, KPI values).
    """
    found = links(session, team_id=team_id, behaviors=behaviors)
    if not found:
        return []
    last_week = monday(today)
    first_week = last_week - timedelta(weeks=weeks - 1)
    since = datetime.combine(first_week, time(0), tzinfo=UTC)
    logs: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for behavior_id, at, count in session.execute(
        select(BehaviorLog.behavior_id, BehaviorLog.created_at, BehaviorLog.count).where(
            BehaviorLog.team_id == team_id,
            col(BehaviorLog.behavior_id).in_(list(found)),
            BehaviorLog.created_at >= since,
        )
    ):
        logs[behavior_id].append((at, count))
    names = {link.kpi_name for link in found.values()}
    kpi_rows: dict[tuple[str, int], list[tuple[date, float]]] = defaultdict(list)
    for name, scope, day, value in session.execute(
        select(KpiValue.kpi_name, KpiValue.scope, KpiValue.day, KpiValue.value).where(
            KpiValue.team_id == team_id,
            col(KpiValue.kpi_name).in_(names),
            KpiValue.day >= first_week,
            KpiValue.day <= today,
        )
    ):
        kpi_rows[(name, scope)].append((day, value))
    kpi_weekly = {key: weekly_kpi(rows) for key, rows in kpi_rows.items()}
    out = []
    for behavior_id, link in found.items():
        created = link.behavior.created_at
        start = max(first_week, monday(created.date())) if created else first_week
        entries = logs.get(behavior_id, [])
        if entries:
            start = min(start, monday(min(at for at, _ in entries).date()))
        counts = weekly_counts(entries, first_week=start, last_week=last_week)
        kpi = kpi_weekly.get((link.kpi_name, link.scope), {})
        out.append(BehaviorCorrelation(link, best_lag(counts, kpi), counts, kpi))
    out.sort(key=lambda c: c.link.behavior.number)
    return out


def link_behavior(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    behavior: Behavior,
    kpi_name: str,
    scope: int,
    known_names: Iterable[str],
) -> BehaviorKpiLink:
    """Link a behavior to a KPI (replaces an earlier link); the caller checked the role."""
    check_kpi(kpi_name, known_names)
    row = session.exec(
        select(BehaviorKpiLink).where(
            BehaviorKpiLink.team_id == team_id, BehaviorKpiLink.behavior_id == behavior.id
        )
    ).first()
    before = row.model_dump() if row else None
    if row is None:
        row = BehaviorKpiLink(
            team_id=team_id,
            behavior_id=behavior.id,
            kpi_name=kpi_name,
            scope=scope,
            created_by=actor_id,
        )
    else:
        row.kpi_name, row.scope, row.created_by = kpi_name, scope, actor_id
    session.add(row)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="behavior.link_kpi",
        entity="behavior",
        entity_id=behavior.id,
        before=before,
        after=row,
    )
    return row
