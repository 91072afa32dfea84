"""Customer voice budgets: a 50,000-row Feedback tab read in the same single batchGet as the
KPI tab, through the fake Google over real HTTP, into SQLite.

Budgets: ONE batchGet; parse + upsert (feedback stored, routed, follow-ups opened) under 2 s;
a re-sync of the same sheet stores nothing; the customer-voice figures in a constant number of
statements at 50 and 500 departments. Prints the figures of the busiest department.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PARSE_UPSERT_BUDGET = 2.0
ROWS = 50_000
TEAM = "T0BENCH01"


def _feedback_tab(departments: list[str]) -> list[list]:
    rng = random.Random(7)
    start = date.today() - timedelta(days=120)
    rows = [["Date", "Customer", "Score", "Comment", "Department", "Staff"]]
    words = ["parcel late", "refund please", "great service", "app crashed", "kind staff"]
    for i in range(ROWS):
        day = (start + timedelta(days=i % 120)).isoformat()
        score = rng.choice([0, 2, 3, 5, 6, 7, 8, 9, 9, 10, 10])
        dept = departments[i % len(departments)] if i % 3 else ""
        rows.append([day, f"customer{i % 20_000}@example.com", str(score),
                     f"{rng.choice(words)} #{i}", dept, ""])  # fmt: skip
    return rows


def _figures_statements(engine, departments: int) -> int:
    """Statements the figures take with `departments` departments having follow-ups."""
    from storage.db import session_scope
    from storage.feedback_figures import open_and_overdue, voice_figures
    from storage.models import Department, Followup, utcnow
    from tests.support.sql_count import counted_statements

    team = f"T0FIG{departments:04d}"
    now = utcnow()
    with session_scope(engine) as s:
        ids = []
        for d in range(departments):
            dept = Department(team_id=team, name=f"D{d}", name_key=f"d{d}", created_by="U0BENCH01")
            s.add(dept)
            s.flush()
            ids.append(dept.id)
        for n, dept_id in enumerate(ids * 4):
            at = now - timedelta(days=n % 21)
            s.add(Followup(team_id=team, number=n + 1, department_id=dept_id, score=3,
                           received_at=at, due_at=at + timedelta(hours=48)))  # fmt: skip
    with session_scope(engine) as s, counted_statements(engine) as statements:
        voice_figures(s, team_id=team, start=(now - timedelta(days=28)).date(),
                      end=now.date() + timedelta(days=1), now=now)  # fmt: skip
        open_and_overdue(s, team_id=team, now=now)
    return len(statements)


def main() -> bool:
    from bench.seed import fetch_with, migrated_sqlite, sheet_settings
    from jobs.kpi_sync import run_kpi_sync
    from storage.db import session_scope
    from storage.departments import create_department
    from storage.feedback_figures import COMPANY, voice_figures
    from storage.models import Feedback, Followup
    from tests.fakes.google_api import FakeGoogle

    names = ["Support", "Logistics", "Billing", "Product", "Stores"]
    tab = _feedback_tab(names)
    google = FakeGoogle().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            key_file = google.service_account_file(Path(tmp))
            google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], [date.today().isoformat(), 41]],
                                           "Feedback": tab})  # fmt: skip
            url, engine = migrated_sqlite(tmp, "feedback")
            with session_scope(engine) as s:
                for name in names:
                    create_department(s, team_id=TEAM, actor_id="U0ADMIN01", is_admin=True,
                                      name=name, channel_id=None, head_ids=[])  # fmt: skip
            settings = sheet_settings(url, key_file, google.sheets_url)
            google.reset_counts()
            t0 = time.perf_counter()
            data = fetch_with(settings)
            fetch_s = time.perf_counter() - t0
            batch_gets = google.count("batchGet")
            t1, c1 = time.perf_counter(), time.process_time()
            first = run_kpi_sync(settings=settings, engine=engine, client=None, team_id=TEAM,
                                 notify_admins=False, fetch=lambda: data)  # fmt: skip
            upsert_s, upsert_cpu = time.perf_counter() - t1, time.process_time() - c1
            t2 = time.perf_counter()
            again = run_kpi_sync(settings=settings, engine=engine, client=None, team_id=TEAM,
                                 notify_admins=False, fetch=lambda: data)  # fmt: skip
            resync_s = time.perf_counter() - t2
            with session_scope(engine) as s:
                from sqlmodel import func, select

                stored = s.exec(select(func.count()).select_from(Feedback)).one()
                followups = s.exec(select(func.count()).select_from(Followup)).one()
                now = datetime.now(UTC)
                figs = voice_figures(s, team_id=TEAM, start=date.today() - timedelta(days=130),
                                     end=date.today() + timedelta(days=1), now=now)  # fmt: skip
            small, big = _figures_statements(engine, 50), _figures_statements(engine, 500)
            engine.dispose()
    finally:
        google.stop()
    assert first.ok and again.ok, (first.error, again.error)
    within = (
        batch_gets == 1
        and upsert_s < PARSE_UPSERT_BUDGET
        and first.feedback_new == stored == ROWS
        and again.feedback_new == 0
        and small == big
    )
    print(
        f"Feedback tab: {ROWS} rows · fetch {fetch_s:.2f}s ({batch_gets} batchGet with the KPI tab) "
        f"· parse+upsert {upsert_s:.2f}s, {upsert_cpu:.2f}s CPU (budget {PARSE_UPSERT_BUDGET}s) · "
        f"{stored} stored, "
        f"{followups} follow-ups · re-sync {resync_s:.2f}s, {again.feedback_new} stored "
        f"{'ok' if within else 'OVER BUDGET'}"
    )
    print(f"Figures: {small} statements at 50 departments, {big} at 500")
    weeks = sorted({week for (dept, week) in figs if dept == COMPANY})[-3:]
    for week in weeks:
        f = figs[(COMPANY, week)]
        rate = f"{f.close_the_loop_rate:.0f}%" if f.close_the_loop_rate is not None else "—"
        print(f"  week of {week}: {f.detractors} detractors · close-the-loop {rate} · "
              f"{f.open} open · {f.overdue} overdue · {f.recovered} recovered")  # fmt: skip
    return within


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
