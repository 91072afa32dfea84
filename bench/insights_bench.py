"""Insight budgets (issue 11), on SQLite:

- guardrail evaluation after a 10,000-row KPI sync: a constant number of SQL statements
  (printed for 1,000 and 10,000 rows) and under 100 ms;
- forecasts and confidence-mismatch flags for every key result of the leadership digest —
  20,000 key results with 200,000 check-ins (the foundation data set, bench/okr_bench.py) —
  under 1 s, with a statement count that does not depend on the number of key results
  (printed for 2,000 and 20,000);
- behaviors against KPIs for 500 behaviors × 52 weeks (Spearman at lags 0–8) under 1 s.

Each is also timed per item and against a naive baseline on the same data in the same run:
every row read with one plain SELECT per table and the same formulas applied in plain Python.
Those ratios are printed first; they carry no goal (the product's way reads fewer rows, so a
ratio under 1 is expected), they show what the database-side work buys.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import Session

from bench import okr_bench
from bench.measure import per_item, print_ratios, ratio_line
from bench.seed import migrated_sqlite
from storage.behavior_correlation import best_lag, correlate, monday, weekly_counts, weekly_kpi
from storage.forecast import fit_forecast
from storage.guardrails import evaluate, is_healthy
from storage.kr_insights import insight, kr_insights
from storage.models import (
    Behavior,
    BehaviorKpiLink,
    BehaviorLog,
    CheckIn,
    Department,
    KeyResult,
    KpiGuardrail,
    KpiValue,
    Objective,
    Team,
)
from tests.support.sql_count import counted_statements

GUARDRAIL_BUDGET = 0.100
INSIGHTS_BUDGET = 1.0
CORRELATION_BUDGET = 1.0
TEAM = "T0BENCH01"
GUARDRAILS = 200  # 10 KPIs × 20 scopes


def fresh(tmp: str, name: str):
    return migrated_sqlite(tmp, name)[1]


# ---------------------------------------------------------------- guardrails


def guardrail_run(tmp: str, rows: int) -> tuple[int, float, int]:
    """A synced table of `rows` values (10 KPIs × 20 scopes × days) and 200 guardrails whose
    newest values cross their thresholds; returns (statements, seconds, transitions)."""
    engine = fresh(tmp, f"guardrails{rows}")
    kpis = [f"kpi_{k}" for k in range(10)]
    scopes = range(20)
    days = rows // (len(kpis) * len(scopes))
    start = date(2026, 1, 1)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Department.__table__),
            [{"id": d, "team_id": TEAM, "name": f"D{d}", "name_key": f"d{d}",
              "created_by": "U0", "created_at": now} for d in range(1, 20)],
        )  # fmt: skip
        conn.execute(
            insert(KpiValue.__table__),
            [
                {"team_id": TEAM, "kpi_name": k, "scope": s, "department_id": s or None,
                 "day": start + timedelta(days=i), "value": 30.0 + (i % 20), "source": "sheet",
                 "synced_at": now}
                for k in kpis for s in scopes for i in range(days)
            ],
        )  # fmt: skip
        conn.execute(
            insert(KpiGuardrail.__table__),
            [
                {"team_id": TEAM, "kpi_name": k, "scope": s, "department_id": s or None,
                 "op": "above", "threshold": 45.0, "state": "healthy", "changes": 0,
                 "created_by": "U0", "created_at": now}
                for k in kpis for s in scopes
            ],
        )  # fmt: skip
    with Session(engine) as s, counted_statements(engine) as statements:
        started = time.perf_counter()
        changed = evaluate(s, team_id=TEAM)
        s.commit()
        seconds = time.perf_counter() - started
    naive_s = naive_guardrails(engine)
    engine.dispose()
    return len(statements), seconds, len(changed), naive_s


def naive_guardrails(engine) -> float:
    """Seconds to read every value and every guardrail with one plain SELECT each and judge
    each guardrail against its newest value in Python."""
    started = time.perf_counter()
    with engine.connect() as conn:
        newest: dict[tuple[str, int], tuple[date, float]] = {}
        for name, scope, day, value in conn.execute(
            select(KpiValue.kpi_name, KpiValue.scope, KpiValue.day, KpiValue.value)
        ):
            if (name, scope) not in newest or day > newest[(name, scope)][0]:
                newest[(name, scope)] = (day, value)
        rails = conn.execute(
            select(KpiGuardrail.kpi_name, KpiGuardrail.scope, KpiGuardrail.op,
                   KpiGuardrail.threshold)
        ).all()  # fmt: skip
        judged = [
            is_healthy(op, threshold, newest[(name, scope)][1])
            for name, scope, op, threshold in rails
            if (name, scope) in newest
        ]
    assert len(judged) == len(rails)
    return time.perf_counter() - started


# ---------------------------------------------------------------- forecasts and mismatch


def insights_run(tmp: str, departments: int) -> tuple[int, int, float, int, int]:
    engine = fresh(tmp, f"insights{departments}")
    okr_bench.seed(engine, departments)
    now = datetime.now(UTC)
    with Session(engine) as s, counted_statements(engine) as statements:
        started = time.perf_counter()
        # What the leadership digest reads: every active key result of the quarter.
        rows = s.execute(
            select(*KeyResult.__table__.columns, Objective.quarter)
            .join(Objective, Objective.id == KeyResult.objective_id)
            .where(KeyResult.team_id == okr_bench.TEAM, Objective.status == "active")
        ).all()
        stale_days = s.get(Team, okr_bench.TEAM).stale_days
        found = kr_insights(
            s, team_id=okr_bench.TEAM, items=[(r, r.quarter) for r in rows], now=now,
            stale_days=stale_days,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    forecasts = sum(1 for i in found.values() if i.forecast)
    flags = sum(1 for i in found.values() if i.mismatch)
    naive = naive_insights(engine, rows, now, stale_days)
    assert naive["forecasts"] == forecasts, (naive["forecasts"], forecasts)
    engine.dispose()
    return {"krs": len(rows), "statements": len(statements), "seconds": seconds,
            "forecasts": forecasts, "flags": flags, **naive}  # fmt: skip


def naive_insights(engine, rows, now: datetime, stale_days: int) -> dict:
    """The straightforward way: every check-in read with one plain SELECT, grouped per key
    result in Python, and each key result's line fitted from its own list (the same formulas:
    storage.forecast.fit_forecast, storage.kr_insights.insight). Returns the seconds spent
    reading and computing."""
    started = time.perf_counter()
    points: dict[int, list] = defaultdict(list)
    with engine.connect() as conn:
        for kr_id, at, value in conn.execute(
            select(CheckIn.key_result_id, CheckIn.created_at, CheckIn.value).where(
                CheckIn.team_id == okr_bench.TEAM
            )
        ):
            points[kr_id].append((at, value))
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    found = {}
    for r in rows:
        forecast = fit_forecast(points.get(r.id, ()), baseline=r.baseline, target=r.target,
                                quarter=r.quarter)  # fmt: skip
        found[r.id] = insight(r, quarter=r.quarter, now=now, stale_days=stale_days,
                              forecast=forecast)  # fmt: skip
    compute_s = time.perf_counter() - started
    return {"naive_read_s": read_s, "naive_compute_s": compute_s,
            "forecasts": sum(1 for i in found.values() if i.forecast)}  # fmt: skip


# ---------------------------------------------------------------- correlation


def correlation_run(tmp: str, behaviors: int = 500, weeks: int = 52) -> tuple[int, float, int]:
    engine = fresh(tmp, "correlation")
    rng = random.Random(11)
    now = datetime.now(UTC)
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    with engine.begin() as conn:
        conn.execute(
            insert(Department.__table__),
            [{"id": 1, "team_id": TEAM, "name": "D", "name_key": "d", "created_by": "U0",
              "created_at": now}],
        )  # fmt: skip
        conn.execute(
            insert(Behavior.__table__),
            [{"id": b, "team_id": TEAM, "number": b, "department_id": 1,
              "description": f"Behavior {b}", "weekly_target": 5, "active": True,
              "created_by": "U0", "created_at": now - timedelta(weeks=weeks)}
             for b in range(1, behaviors + 1)],
        )  # fmt: skip
        conn.execute(
            insert(BehaviorKpiLink.__table__),
            [{"team_id": TEAM, "behavior_id": b, "kpi_name": f"kpi_{b % 6}", "scope": 0,
              "created_by": "U0", "created_at": now} for b in range(1, behaviors + 1)],
        )  # fmt: skip
        conn.execute(
            insert(BehaviorLog.__table__),
            [{"team_id": TEAM, "behavior_id": b, "user_id": "U1", "count": rng.randint(0, 12),
              "note": "", "created_at": datetime.combine(
                  monday - timedelta(weeks=w, days=-1), datetime.min.time(), tzinfo=UTC)}
             for b in range(1, behaviors + 1) for w in range(weeks)],
        )  # fmt: skip
        conn.execute(
            insert(KpiValue.__table__),
            [{"team_id": TEAM, "kpi_name": f"kpi_{k}", "scope": 0, "day":
              monday - timedelta(weeks=w), "value": 40 + rng.random() * 10, "source": "sheet",
              "synced_at": now} for k in range(6) for w in range(weeks)],
        )  # fmt: skip
    with Session(engine) as s, counted_statements(engine) as statements:
        rows = list(s.scalars(select(Behavior).where(Behavior.team_id == TEAM)))
        started = time.perf_counter()
        results = correlate(s, team_id=TEAM, behaviors=rows, today=today)
        seconds = time.perf_counter() - started
    claimed = sum(1 for r in results if r.result.claimed)
    naive_read_s, naive_compute_s, naive_claimed = naive_correlation(engine, today, weeks)
    assert naive_claimed == claimed, (naive_claimed, claimed)
    engine.dispose()
    return {"statements": len(statements), "seconds": seconds, "claimed": claimed,
            "naive_read_s": naive_read_s, "naive_compute_s": naive_compute_s}  # fmt: skip


def naive_correlation(engine, today: date, weeks: int) -> tuple[float, float, int]:
    """The straightforward way: links, logs and KPI values read with one plain SELECT each,
    then each behavior's weekly counts against its KPI's weekly means at every lag, in plain
    Python with the same formulas (storage.behavior_correlation). Returns (read seconds,
    compute seconds, behaviors with a claim)."""
    last_week = monday(today)
    first_week = last_week - timedelta(weeks=weeks - 1)
    started = time.perf_counter()
    with engine.connect() as conn:
        links = dict(
            conn.execute(select(BehaviorKpiLink.behavior_id, BehaviorKpiLink.kpi_name)).all()
        )
        logs = conn.execute(
            select(BehaviorLog.behavior_id, BehaviorLog.created_at, BehaviorLog.count)
        ).all()
        values = conn.execute(select(KpiValue.kpi_name, KpiValue.day, KpiValue.value)).all()
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    by_behavior: dict[int, list] = defaultdict(list)
    for behavior_id, at, count in logs:
        by_behavior[behavior_id].append((at, count))
    by_kpi: dict[str, list] = defaultdict(list)
    for name, day, value in values:
        by_kpi[name].append((day, value))
    kpi_weeks = {name: weekly_kpi(rows) for name, rows in by_kpi.items()}
    claimed = 0
    for behavior_id, name in links.items():
        entries = by_behavior.get(behavior_id, [])
        start = min([first_week, *(monday(at.date()) for at, _ in entries)])
        counts = weekly_counts(entries, first_week=start, last_week=last_week)
        claimed += best_lag(counts, kpi_weeks.get(name, {})).claimed
    return read_s, time.perf_counter() - started, claimed


def guardrail_section() -> tuple[bool, list[str], list[str]]:
    """(within budget, ratio lines, figure lines) for guardrail evaluation."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = {rows: guardrail_run(tmp, rows) for rows in (1_000, 10_000)}
    lines = []
    for rows, (statements, seconds, changed, naive_s) in runs.items():
        lines.append(
            f"guardrail evaluation over a {rows:,}-row sync, {GUARDRAILS} guardrails "
            f"({changed} changed state): {statements} SQL statements, {seconds * 1000:.1f} ms "
            f"({per_item(seconds, GUARDRAILS)} per guardrail); naive read-all-and-compare "
            f"{naive_s * 1000:.1f} ms"
        )
    (small, *_), (big, seconds, _, naive_s) = runs[1_000], runs[10_000]
    constant = small == big
    lines.append(
        f"  statements 1,000 vs 10,000 rows: {small} vs {big} "
        f"({'constant' if constant else 'GROWS'}); budget {GUARDRAIL_BUDGET * 1000:.0f} ms"
    )
    ratio = ratio_line(seconds / naive_s, "guardrail evaluation after a 10,000-row sync against "
                       "reading every value and comparing in Python")  # fmt: skip
    return constant and seconds < GUARDRAIL_BUDGET, [ratio], lines


def insights_section() -> tuple[bool, list[str], list[str]]:
    """(within budget, ratio lines, figure lines) for forecasts and mismatch flags."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = [insights_run(tmp, departments) for departments in (50, 500)]
    lines = []
    for r in runs:
        checkins = r["krs"] * okr_bench.CHECKINS_PER_KR
        lines.append(
            f"forecasts + mismatch flags for {r['krs']:,} key results / {checkins:,} check-ins: "
            f"{r['statements']} SQL statements, {r['seconds']:.2f}s "
            f"({per_item(r['seconds'], r['krs'])} per key result; {r['forecasts']:,} forecasts, "
            f"{r['flags']:,} mismatch flags); naive: read every check-in "
            f"{r['naive_read_s']:.2f}s + fit each key result in Python {r['naive_compute_s']:.2f}s"
        )
    small, big = runs
    constant = small["statements"] == big["statements"]
    lines.append(
        f"  statements {small['krs']:,} vs {big['krs']:,} key results: {small['statements']} vs "
        f"{big['statements']} ({'constant' if constant else 'GROWS'}); "
        f"budget {INSIGHTS_BUDGET:.0f}s"
    )
    naive_s = big["naive_read_s"] + big["naive_compute_s"]
    ratios = [
        ratio_line(big["seconds"] / naive_s, f"forecasts for {big['krs']:,} key results against "
                   "reading every check-in and fitting each key result in plain Python"),
        ratio_line(big["seconds"] / big["naive_compute_s"], "the same against the plain-Python "
                   "fit alone, over check-ins already in memory"),
    ]  # fmt: skip
    return constant and big["seconds"] < INSIGHTS_BUDGET, ratios, lines


def correlation_section() -> tuple[bool, list[str], list[str]]:
    """(within budget, ratio lines, figure lines) for behaviors against KPIs."""
    with tempfile.TemporaryDirectory() as tmp:
        r = correlation_run(tmp)
    naive_s = r["naive_read_s"] + r["naive_compute_s"]
    lines = [
        f"behaviors vs KPIs, 500 behaviors × 52 weeks × lags 0–8: {r['statements']} SQL "
        f"statements, {r['seconds']:.2f}s ({per_item(r['seconds'], 500, 'ms')} per behavior; "
        f"{r['claimed']} with a claim); naive: read {r['naive_read_s']:.2f}s + compute in "
        f"Python {r['naive_compute_s']:.2f}s; budget {CORRELATION_BUDGET:.0f}s"
    ]
    ratios = [
        ratio_line(r["seconds"] / naive_s, "correlations against reading links, logs and KPI "
                   "values with plain SELECTs and correlating in Python"),
    ]  # fmt: skip
    return r["seconds"] < CORRELATION_BUDGET, ratios, lines


def main() -> bool:
    ok, ratios, lines = True, [], []
    for section in (guardrail_section, insights_section, correlation_section):
        within, section_ratios, section_lines = section()
        ok &= within
        ratios += section_ratios
        lines += section_lines
    print_ratios(*ratios)
    print("\n".join(lines))
    return ok
