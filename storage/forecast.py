"""Forecast: where a key result's own trend lands at quarter end.

A least-squares line through the key result's values in the quarter (its check-in values, or
its KPI's values when it is KPI-bound), evaluated at the quarter's last day. It needs two values
at different times; otherwise there is no forecast and the pace rule (progress against the calendar) decides the status.

Bulk form for digests: two SELECTs for any number of key results, sums kept per key result, so
200,000 check-ins cost one pass and no list per key result.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

from sqlalchemy import Float, bindparam, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from storage.models import CheckIn, KeyResult, KpiValue
from storage.progress import progress
from storage.quarters import quarter_bounds

# Above this many key results the check-ins are read by team and date range, not by id list.
ID_LIST_MAX = 500


class epoch_days(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """Days since 1970-01-01 UTC of a timestamp column, computed by the database: reading
    200,000 timestamps as numbers skips building 200,000 datetime objects."""

    type = Float()
    inherit_cache = True


@compiles(epoch_days, "sqlite")
def _epoch_days_sqlite(element, compiler, **kw):
    return f"(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5)"


@compiles(epoch_days, "postgresql")
def _epoch_days_postgresql(element, compiler, **kw):
    return f"(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) / 86400.0)"


@dataclass(frozen=True, slots=True)
class Forecast:
    value: float  # projected value on `on`
    on: date  # the quarter's last day
    progress: float  # progress the projected value would mean, 0..1
    points: int  # how many values the line went through


class _Fit:
    """Running sums for a least-squares line y = a + b·x (x in days since the quarter began)."""

    __slots__ = ("n", "sx", "sy", "sxx", "sxy", "lo", "hi")

    def __init__(self) -> None:
        self.n = 0
        self.sx = self.sy = self.sxx = self.sxy = 0.0
        self.lo = self.hi = None

    def add(self, x: float, y: float) -> None:
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.sxy += x * y
        if self.lo is None or x < self.lo:
            self.lo = x
        if self.hi is None or x > self.hi:
            self.hi = x

    def at(self, x: float) -> float | None:
        """The line's value at x; None with fewer than two values or all at one time."""
        return _line_at(self.n, self.sx, self.sy, self.sxx, self.sxy, self.lo, self.hi, x)


def _line_at(n, sx, sy, sxx, sxy, lo, hi, x: float) -> float | None:
    """The least-squares line through n points given by their sums, at x; None with fewer
    than two points or all at one x."""
    if n < 2 or lo == hi:
        return None
    denom = n * sxx - sx * sx
    if denom <= 0:
        return None
    slope = (n * sxy - sx * sy) / denom
    intercept = (sy - slope * sx) / n
    return intercept + slope * x


def _days(start: date, when: datetime | date) -> float:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        origin = datetime.combine(start, time(0), tzinfo=UTC)
        return (when - origin).total_seconds() / 86400.0
    return float((when - start).days)


def fit_forecast(
    points: Iterable[tuple[datetime | date, float]],
    *,
    baseline: float,
    target: float,
    quarter: str,
) -> Forecast | None:
    """Forecast from (time, value) points (those outside the quarter are ignored)."""
    start, end = quarter_bounds(quarter)
    fit = _Fit()
    for when, value in points:
        day = when.date() if isinstance(when, datetime) else when
        if value is None or not start <= day <= end:
            continue
        fit.add(_days(start, when), float(value))
    return _finish(fit, start, end, baseline, target)


def _finish(fit: _Fit, start: date, end: date, baseline: float, target: float) -> Forecast | None:
    value = fit.at(_days(start, end))
    if value is None:
        return None
    return Forecast(value=value, on=end, progress=progress(baseline, target, value), points=fit.n)


def forecasts(
    session: Session,
    *,
    team_id: str,
    quarter: str,
    key_results: list,
    checkin_forecasts: dict[int, Forecast] | None = None,
) -> dict:
    """key result id → Forecast (absent when there is none), for any number of key results.

    `key_results` are KeyResult rows (or rows with the same attributes). Two SELECTs whatever
    their number: check-in values in the quarter, and KPI values in the quarter. The first is
    skipped when the forecasts of the key results set by check-ins are known already
    (`checkin_forecasts`, read with the key results: `forecast_from_sums`).
    """
    if not key_results:
        return {}
    start, end = quarter_bounds(quarter)
    plain = {kr.id: kr for kr in key_results if not kr.kpi_name}
    bound: dict[tuple[str, int], list] = {}
    for kr in key_results:
        if kr.kpi_name:
            bound.setdefault((kr.kpi_name, kr.kpi_department_id or 0), []).append(kr)
    out: dict[int, Forecast] = {}
    if plain and checkin_forecasts is not None:
        out.update((i, checkin_forecasts[i]) for i in plain if i in checkin_forecasts)
    elif plain:
        out.update(_checkin_forecasts(session, team_id=team_id, quarter=quarter, plain=plain))
    fits: dict[int, _Fit] = {}  # KPI-bound ones, from the KPI's values
    if bound:
        fits = _kpi_fits(session, team_id=team_id, quarter=quarter, bound=bound)
    if fits:
        by_id = {kr.id: kr for kr in key_results}
        x_end = _days(start, end)
        for kr_id, fit in fits.items():
            value = fit.at(x_end)
            if value is not None:
                kr = by_id[kr_id]
                out[kr_id] = Forecast(value, end, progress(kr.baseline, kr.target, value), fit.n)
    return out


@functools.cache
def checkin_sums(*, by: Literal["ids", "objectives", "team"]):
    """Per key result, the count and sums of x, y, x², xy and the least and greatest x (x in
    days since the quarter began) of its check-in values in [:begin, :finish] (`sums_params`):
    for the key results :ids (`by="ids"`), for the key results of the objectives :ids
    (`by="objectives"`: joined to a page's key-result read), or for every key result of the
    team :team_id (`by="team"`). Built once: with its subquery and functions, building it cost
    five times as much CPU as running it."""
    # The database sums per key result: one row per key result comes back, not one per
    # check-in. x is computed once per check-in in a subquery; OFFSET 0 keeps SQLite from
    # folding the subquery into the aggregate (which would parse each timestamp six times), and
    # is a no-op elsewhere.
    points = select(
        CheckIn.key_result_id.label("kr_id"),
        (epoch_days(CheckIn.created_at) - bindparam("origin_days", type_=Float)).label("x"),
        col(CheckIn.value).label("y"),
    ).where(
        col(CheckIn.value).is_not(None),
        CheckIn.created_at >= bindparam("begin"),
        CheckIn.created_at <= bindparam("finish"),
    )
    # By key result id alone (the key results are the team's, and so are their check-ins): a
    # team_id condition here makes SQLite walk the team's index, every check-in of the team,
    # instead of the (key result, created_at) one.
    if by == "ids":
        points = points.where(col(CheckIn.key_result_id).in_(bindparam("ids", expanding=True)))
    elif by == "objectives":
        of_objectives = select(KeyResult.id).where(
            col(KeyResult.objective_id).in_(bindparam("ids", expanding=True))
        )
        points = points.where(col(CheckIn.key_result_id).in_(of_objectives))
    elif by == "team":
        points = points.where(CheckIn.team_id == bindparam("team_id"))
    else:  # a misspelt choice must not quietly read the whole team
        raise ValueError(f"checkin_sums: by={by!r} is not ids, objectives or team")
    p = points.offset(0).subquery("points")
    return select(
        p.c.kr_id,
        func.count().label("n"),
        func.sum(p.c.x).label("sx"),
        func.sum(p.c.y).label("sy"),
        func.sum(p.c.x * p.c.x).label("sxx"),
        func.sum(p.c.x * p.c.y).label("sxy"),
        func.min(p.c.x).label("lo"),
        func.max(p.c.x).label("hi"),
    ).group_by(p.c.kr_id)


def sums_params(quarter: str) -> dict:
    """The parameters of `checkin_sums` for the quarter (ids or team aside)."""
    start, end = quarter_bounds(quarter)
    begin = datetime.combine(start, time(0), tzinfo=UTC)
    finish = datetime.combine(end, time(23, 59, 59, 999999), tzinfo=UTC)
    return {"origin_days": begin.timestamp() / 86400.0, "begin": begin, "finish": finish}


def forecast_from_sums(kr, quarter: str, sums) -> Forecast | None:
    """The forecast of a key result set by check-ins, from its row of `checkin_sums`
    (n, sx, sy, sxx, sxy, lo, hi; n None or 0 when it has no check-in value in the quarter)."""
    n, sx, sy, sxx, sxy, lo, hi = sums
    if not n:
        return None
    start, end = quarter_bounds(quarter)
    value = _line_at(n, sx, sy, sxx, sxy, lo, hi, _days(start, end))
    if value is None:
        return None
    return Forecast(value, end, progress(kr.baseline, kr.target, value), int(n))


def _checkin_forecasts(
    session: Session, *, team_id: str, quarter: str, plain: dict
) -> dict[int, Forecast]:
    """Forecasts of the key results set by check-ins (`plain`, by id): one statement."""
    by_ids = len(plain) <= ID_LIST_MAX
    params = sums_params(quarter)
    params.update({"ids": list(plain)} if by_ids else {"team_id": team_id})
    out: dict[int, Forecast] = {}
    rows = session.connection().execute(checkin_sums(by="ids" if by_ids else "team"), params)
    for kr_id, *sums in rows:
        kr = plain.get(kr_id)
        found = None if kr is None else forecast_from_sums(kr, quarter, sums)
        if found is not None:
            out[kr_id] = found
    return out


def _kpi_fits(session: Session, *, team_id: str, quarter: str, bound: dict) -> dict[int, _Fit]:
    """The trend line of each KPI-bound key result (`bound`: (KPI, scope) → key results), from
    the KPI's values in the quarter: one statement."""
    start, end = quarter_bounds(quarter)
    names = {name for name, _ in bound}
    by_key: dict[tuple[str, int], _Fit] = {}
    for name, scope, day, value in session.connection().execute(
        select(KpiValue.kpi_name, KpiValue.scope, KpiValue.day, KpiValue.value).where(
            KpiValue.team_id == team_id,
            col(KpiValue.kpi_name).in_(names),
            KpiValue.day >= start,
            KpiValue.day <= end,
        )
    ):
        if (name, scope) in bound:
            by_key.setdefault((name, scope), _Fit()).add(float((day - start).days), value)
    fits: dict[int, _Fit] = {}
    for key, krs in bound.items():
        if key in by_key:
            for kr in krs:
                fits[kr.id] = by_key[key]
    return fits
