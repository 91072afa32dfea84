"""KPI sync budget (issue 3): a 10,000-row long sheet and the same data in wide format,
synced into SQLite through the fake Google over real HTTP.

Budgets: ONE batchGet per sync; parse + upsert under 2 s; a re-sync with nothing changed
under 1 s. Printed first, the ratios to baselines timed in the same run: parse + upsert and
the re-sync against one bulk `executemany` of the same rows into an empty table (the floor of
writing them), and the batched read against a naive reader asking for one row per request.
Then the absolute figures, with the time and SQL statements per sync.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.measure import per_item, print_ratios, ratio_line, stopwatch
from bench.seed import fetch_with, migrated_sqlite, sheet_settings
from jobs.kpi_sync import run_kpi_sync
from storage.db import session_scope
from storage.departments import create_department
from tests.support.sql_count import counted_statements

TEAM = "T0BENCH01"
PARSE_UPSERT_BUDGET = 2.0
RESYNC_BUDGET = 1.0
ROWS = 10_000
NAIVE_SAMPLE = 1_000
KPIS = ["nps", "churn_rate", "retention_rate", "csat", "clv"]


def _sheets() -> tuple[list[list], list[list]]:
    """The same 10,000 values as a long sheet (10,000 rows) and a wide one (2,000 rows)."""
    start = date(2020, 1, 6)
    days = ROWS // len(KPIS)
    long = [["Date", "Department", "KPI", "Value"]]
    wide = [["Date", "Department", *KPIS]]
    for i in range(days):
        day = (start + timedelta(days=i)).isoformat()
        dept = "Support" if i % 2 else ""
        values = [f"{(i * 7 + k * 13) % 100 + 0.5:.1f}" for k in range(len(KPIS))]
        for kpi, value in zip(KPIS, values, strict=True):
            long.append([day, dept, kpi, value if kpi != "csat" else value + "%"])
        wide.append(
            [day, dept, *[v if k != "csat" else v + "%" for k, v in zip(KPIS, values, strict=True)]]
        )
    return long, wide


def _naive_read(google, settings, title: str, rows: int) -> float:
    """One values.get per row, the way a hand-rolled reader often does it."""
    import gspread

    from jobs.sheets_client import RetryPolicy, _credentials, _http_client_class

    http_cls = _http_client_class(settings.google_sheets_api_url, RetryPolicy(), time.sleep)
    client = gspread.Client(
        auth=_credentials(settings.google_service_account_file), http_client=http_cls
    )
    started = time.perf_counter()
    for r in range(1, rows + 1):
        client.http_client.values_get("SHEET123", f"{title}!A{r}:Z{r}")
    return time.perf_counter() - started


def with_department(tmp: str, name: str):
    """A fresh database holding the one department the sheets name: (url, engine)."""
    url, engine = migrated_sqlite(tmp, name)
    with session_scope(engine) as s:
        create_department(
            s, team_id=TEAM, actor_id="U0ADMIN01", is_admin=True,
            name="Support", channel_id=None, head_ids=[],
        )  # fmt: skip
    return url, engine


def synced_layout(tmp: str, google, key_file: Path, title: str) -> dict:
    """One layout fetched once and synced twice (the second time nothing changed): figures."""
    from sqlalchemy import select

    from storage.models import KpiValue

    url, engine = with_department(tmp, title)
    settings = sheet_settings(url, key_file, google.sheets_url, kpi_worksheets=title)
    google.reset_counts()
    with stopwatch() as fetch_s:
        data = fetch_with(settings)
    figures = {"fetch_s": fetch_s[0], "batch_gets": google.count("batchGet"),
               "requests": google.count("get") + google.count("batchGet"),
               "sheet_rows": len(data.worksheets[title])}  # fmt: skip
    for run in ("first", "again"):
        with counted_statements(engine) as statements, stopwatch() as took:
            result = run_kpi_sync(
                settings=settings, engine=engine, client=None, team_id=TEAM,
                notify_admins=False, fetch=lambda data=data: data,
            )  # fmt: skip
        figures[run] = result
        figures[f"{run}_s"], figures[f"{run}_statements"] = took[0], len(statements)
    assert figures["first"].ok and figures["first"].stored == ROWS, figures["first"].summary()
    again = figures["again"]
    assert again.ok and again.unchanged == ROWS and again.stored == again.updated == 0
    with engine.connect() as conn:
        figures["rows"] = [dict(r) for r in conn.execute(select(KpiValue.__table__)).mappings()]
    engine.dispose()
    sample = min(figures["sheet_rows"], NAIVE_SAMPLE)
    # The naive reader is timed on NAIVE_SAMPLE rows and scaled: all 10,000 would take most of
    # a minute of `make bench` to show the same thing.
    per_row = _naive_read(google, settings, title, sample) / sample
    figures["naive_read_s"], figures["naive_sample"] = per_row * figures["sheet_rows"], sample
    figures["executemany_s"] = executemany_baseline(tmp, title, figures.pop("rows"))
    return figures


def executemany_baseline(tmp: str, title: str, rows: list[dict]) -> float:
    """Seconds to store the same values with one bulk INSERT (an executemany) into an empty
    table: the floor of writing them, with no parsing, matching or comparing."""
    from sqlalchemy import insert

    from storage.models import KpiValue

    for row in rows:
        row.pop("id", None)
    _, engine = with_department(tmp, f"{title}_executemany")
    with stopwatch() as took, engine.begin() as conn:
        conn.execute(insert(KpiValue.__table__), rows)
    engine.dispose()
    return took[0]


def layout_lines(title: str, f: dict) -> list[str]:
    within = (
        f["batch_gets"] == 1 and f["first_s"] < PARSE_UPSERT_BUDGET and f["again_s"] < RESYNC_BUDGET
    )
    return [
        f"{title:4} layout: {f['sheet_rows'] - 1:>6} rows, {ROWS} values · fetch {f['fetch_s']:.2f}s "
        f"({f['requests']} requests, {f['batch_gets']} batchGet) · parse+upsert {f['first_s']:.2f}s "
        f"({per_item(f['first_s'], ROWS)} per value, {f['first_statements']} SQL statements; "
        f"budget {PARSE_UPSERT_BUDGET}s) · re-sync unchanged {f['again_s']:.2f}s "
        f"({per_item(f['again_s'], ROWS)} per value, {f['again_statements']} SQL statements; "
        f"budget {RESYNC_BUDGET}s) {'ok' if within else 'OVER BUDGET'}",
        f"       one bulk executemany of the same {ROWS} rows into an empty table: "
        f"{f['executemany_s']:.2f}s ({per_item(f['executemany_s'], ROWS)} per value)",
        f"       naive one-request-per-row reader: {f['sheet_rows']} requests, "
        f"{f['naive_read_s']:.1f}s (timed on {f['naive_sample']} rows, scaled) → "
        f"{f['sheet_rows'] / f['requests']:.0f}× the requests of the batched read",
    ]  # fmt: skip


def layout_ratios(title: str, f: dict) -> list[str]:
    return [
        ratio_line(f["first_s"] / f["executemany_s"], f"{title} layout: parse + upsert of "
                   f"{ROWS:,} values against one bulk executemany of the same rows"),
        ratio_line(f["again_s"] / f["executemany_s"], f"{title} layout: re-sync with nothing "
                   "changed against the same executemany"),
        ratio_line(f["fetch_s"] / f["naive_read_s"], f"{title} layout: the batched read "
                   "against a naive reader asking for one row per request"),
    ]  # fmt: skip


def main() -> bool:
    from tests.fakes.google_api import FakeGoogle

    long, wide = _sheets()
    google = FakeGoogle().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            key_file = google.service_account_file(Path(tmp))
            google.add_spreadsheet(sheets={"Long": long, "Wide": wide})
            figures = {
                title: synced_layout(tmp, google, key_file, title) for title in ("Long", "Wide")
            }
    finally:
        google.stop()
    print_ratios(*(line for title, f in figures.items() for line in layout_ratios(title, f)))
    ok = True
    for title, f in figures.items():
        print("\n".join(layout_lines(title, f)))
        ok &= f["batch_gets"] == 1 and f["first_s"] < PARSE_UPSERT_BUDGET
        ok &= f["again_s"] < RESYNC_BUDGET
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
