"""Insight budgets (issue 11), on SQLite:

- guardrail evaluation after a 10,000-row KPI sync: a constant number of SQL statements
  (printed for 1,000 and 10,000 rows) and under 100 ms;
- forecasts and confidence-mismatch flags for every key result of the leadership digest —
  20,000 key results with 200,000 check-ins (the foundation data set, bench/okr_bench.py) —
  under 1 s, with a statement count that does not depend on the number of key results
  (printed for 2,000 and 20,000);
- behaviors against KPIs for 500 behaviors × 52 weeks (Spearman at lags 0–8) under 1 s.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import Session

from bench import okr_bench
from bench.seed import migrated_sqlite
from storage.behavior_correlation import correlate
from storage.guardrails import evaluate
from storage.kr_insights import kr_insights
from storage.models import (
    Behavior,
    BehaviorKpiLink,
    BehaviorLog,
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
    engine.dispose()
    return len(statements), seconds, len(changed)


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
        found = kr_insights(
            s, team_id=okr_bench.TEAM, items=[(r, r.quarter) for r in rows], now=now,
            stale_days=(s.get(Team, okr_bench.TEAM).stale_days),
        )  # fmt: skip
        seconds = time.perf_counter() - started
    forecasts = sum(1 for i in found.values() if i.forecast)
    flags = sum(1 for i in found.values() if i.mismatch)
    engine.dispose()
    return len(rows), len(statements), seconds, forecasts, flags


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
    engine.dispose()
    return len(statements), seconds, claimed


def main() -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        counts = {}
        for rows in (1_000, 10_000):
            statements, seconds, changed = guardrail_run(tmp, rows)
            counts[rows] = statements
            print(
                f"guardrail evaluation over a {rows:,}-row sync, 200 guardrails "
                f"({changed} changed state): {statements} SQL statements, {seconds * 1000:.1f} ms"
            )
        constant = counts[1_000] == counts[10_000]
        ok &= constant and seconds < GUARDRAIL_BUDGET
        print(
            f"  statements 1,000 vs 10,000 rows: {counts[1_000]} vs {counts[10_000]} "
            f"({'constant' if constant else 'GROWS'}); budget {GUARDRAIL_BUDGET * 1000:.0f} ms"
        )

        counts = {}
        for departments in (50, 500):
            krs, statements, seconds, forecasts, flags = insights_run(tmp, departments)
            counts[krs] = statements
            checkins = krs * okr_bench.CHECKINS_PER_KR
            print(
                f"forecasts + mismatch flags for {krs:,} key results / {checkins:,} check-ins: "
                f"{statements} SQL statements, {seconds:.2f}s ({forecasts:,} forecasts, "
                f"{flags:,} mismatch flags)"
            )
        small, big = sorted(counts)
        constant = counts[small] == counts[big]
        ok &= constant and seconds < INSIGHTS_BUDGET
        print(
            f"  statements {small:,} vs {big:,} key results: {counts[small]} vs {counts[big]} "
            f"({'constant' if constant else 'GROWS'}); budget {INSIGHTS_BUDGET:.0f}s"
        )

        statements, seconds, claimed = correlation_run(tmp)
        ok &= seconds < CORRELATION_BUDGET
        print(
            f"behaviors vs KPIs, 500 behaviors × 52 weeks × lags 0–8: {statements} SQL "
            f"statements, {seconds:.2f}s ({claimed} with a claim); budget "
            f"{CORRELATION_BUDGET:.0f}s"
        )
    return ok
