"""KPI sync end to end: gspread over real HTTP against the fake Google, into SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from jobs.kpi_sync import run_kpi_sync
from jobs.sheets_client import RetryPolicy, SheetsError, fetch_sheet
from slackapp.settings import Settings
from storage.models import AuditLog, KeyResult, Kpi, KpiSyncRun, KpiValue, PraiseDraft
from storage.objectives import KeyResultInput
from tests.conftest import ADMIN, ALICE, BOB
from tests.fakes.google_api import FakeGoogle, date_cell, money, pct
from tests.support.factories import TEAM, department, objective
from tests.support.slack_driver import SIGNING_SECRET

FAST = RetryPolicy(first=0.01, longest=0.05, budget=0.3)


@pytest.fixture
def google():
    fake = FakeGoogle().start()
    yield fake
    fake.stop()


@pytest.fixture
def kpi_settings(db_url, slack, google, tmp_path):
    key_file = google.service_account_file(tmp_path)
    return Settings(
        _env_file=None,
        database_url=db_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        google_service_account_file=str(key_file),
        kpi_spreadsheet="https://docs.google.com/spreadsheets/d/SHEET123/edit#gid=0",
        google_sheets_api_url=google.sheets_url,
        loyalty_admins=ADMIN,
    )


@pytest.fixture
def client(kpi_settings):
    from slackapp.web_client import make_web_client

    return make_web_client(kpi_settings)


def sync(settings, engine, client, **kw):
    return run_kpi_sync(settings=settings, engine=engine, client=client, retry=FAST, **kw)


def values(engine) -> dict[tuple[str, int, date], float]:
    with Session(engine) as s:
        return {(v.kpi_name, v.scope, v.day): v.value for v in s.exec(select(KpiValue))}


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


LONG = [
    ["Date", "Department", "KPI", "Value"],
    ["2026-11-16", "", "NPS", "41"],
    ["2026-11-23", "", "nps", pct(0.45)],  # percent-formatted 0.45 shows "45%": 45, not 0.45
    ["2026-11-23", "Support", "CSAT", "88.5%"],
    ["2026-11-23", "support ", "Churn Rate", "12 %"],
    ["2026-11-23", "", "clv", money(1234.5)],
    ["2026-11-23", "", "repeat_purchase_rate", "N/A"],
    ["2026-11-23", "", "retention_rate", "#DIV/0!"],
    ["2026-11-23", "", "retention_rate", "-"],
    [],
    ["2026-11-23", "Marketing", "nps", "10"],
    ["2026-11-23", "", "Referral rate", "1e3"],
    ["31/02/2026", "", "nps", "5"],
]


def test_long_layout_sync_stores_values_as_people_see_them(
    kpi_settings, engine, client, google, slack
):
    support = department(engine, "Support")
    google.add_spreadsheet(sheets={"KPIs": LONG})
    report = sync(kpi_settings, engine, client)
    assert report.ok, report.text()
    assert google.count("batchGet") == 1 and google.count("get") == 1
    got = values(engine)
    assert got == {
        ("nps", 0, date(2026, 11, 16)): 41.0,
        ("nps", 0, date(2026, 11, 23)): 45.0,
        ("csat", support.id, date(2026, 11, 23)): 88.5,
        ("churn_rate", support.id, date(2026, 11, 23)): 12.0,
        ("clv", 0, date(2026, 11, 23)): 1234.5,
        ("referral_rate", 0, date(2026, 11, 23)): 1000.0,
    }
    text = report.text()
    assert "KPIs!D7: `N/A` means no value" in text
    assert "KPIs!D8: sheet error `#DIV/0!`" in text
    assert "KPIs!D9: `-` means no value" in text
    assert "KPIs!B11: department `Marketing` does not exist" in text
    assert "KPIs!A13: `31/02/2026` is not a real date" in text
    assert "custom KPI `referral_rate`" in text
    assert report.rows_read == 11 and report.stored == 6
    assert report.custom_kpis == ["referral_rate"]
    with Session(engine) as s:
        kpi = s.exec(select(Kpi).where(Kpi.name == "referral_rate")).one()
        assert kpi.custom and kpi.team_id == TEAM
        run = s.exec(select(KpiSyncRun)).one()
        assert run.ok and run.stored == 6 and run.rejected == 5
        assert (
            s.exec(select(AuditLog).where(AuditLog.action == "kpi.sync")).one().actor_id
            == "kpi-sync"
        )
        ref = s.exec(select(KpiValue.source_ref).where(KpiValue.kpi_name == "clv")).one()
        assert ref == "KPIs!D6"


def test_resync_of_same_sheet_changes_nothing_then_updates_one(
    kpi_settings, engine, client, google, slack
):
    department(engine, "Support")
    book = google.add_spreadsheet(sheets={"KPIs": [row[:] for row in LONG]})
    first = sync(kpi_settings, engine, client)
    before = values(engine)
    with Session(engine) as s:
        stamps = {v.id: v.synced_at for v in s.exec(select(KpiValue))}
    second = sync(kpi_settings, engine, client)
    assert second.ok and (second.stored, second.updated, second.unchanged) == (0, 0, first.stored)
    assert values(engine) == before
    with Session(engine) as s:
        assert {v.id: v.synced_at for v in s.exec(select(KpiValue))} == stamps
    book.sheets["KPIs"][2][3] = "47"
    third = sync(kpi_settings, engine, client)
    assert (third.stored, third.updated) == (0, 1)
    assert values(engine)[("nps", 0, date(2026, 11, 23))] == 47.0


def test_wide_layout_with_raw_inputs_derives_all_six(kpi_settings, engine, client, google, slack):
    sales = department(engine, "Sales")
    header = [
        "Week", "Department", "Promoters", "Passives", "Detractors", "Customers start",
        "Customers lost", "Customers end", "Customers new", "Avg order value",
        "Purchase frequency", "Customer lifespan", "Repeat customers", "Customers total",
        "Satisfied responses", "Total responses",
    ]  # fmt: skip
    row = ["2026-W47", "Sales", 60, 20, 20, 200, 10, 210, 30, money(50), 4, 3, 45, 150, 90, 120]
    google.add_spreadsheet(sheets={"KPIs": [header, row]})
    report = sync(kpi_settings, engine, client)
    assert report.ok, report.text()
    day = date(2026, 11, 16)  # Monday of ISO week 47
    got = values(engine)
    assert got[("nps", sales.id, day)] == pytest.approx(40.0)
    assert got[("churn_rate", sales.id, day)] == pytest.approx(5.0)
    assert got[("retention_rate", sales.id, day)] == pytest.approx(90.0)
    assert got[("clv", sales.id, day)] == pytest.approx(600.0)
    assert got[("repeat_purchase_rate", sales.id, day)] == pytest.approx(30.0)
    assert got[("csat", sales.id, day)] == pytest.approx(75.0)
    assert len(got) == 6 and not report.rejected


def test_wide_layout_missing_inputs_and_zero_denominator_are_reported(
    kpi_settings, engine, client, google, slack
):
    google.add_spreadsheet(
        sheets={
            "KPIs": [
                [
                    "date",
                    "promoters",
                    "passives",
                    "detractors",
                    "customers_start",
                    "customers_lost",
                    "NPS ",
                ],
                ["2026-11", 5, 0, None, 0, 3],
                ["2026-12", 0, 0, 0, 10, 1, 12],
            ]
        }
    )
    report = sync(kpi_settings, engine, client)
    text = report.text()
    assert "cannot derive nps for 2026-11-01: missing detractors" in text
    assert "cannot derive churn_rate for 2026-11-01: customers_start is 0" in text
    got = values(engine)
    assert got == {("churn_rate", 0, date(2026, 12, 1)): 10.0, ("nps", 0, date(2026, 12, 1)): 12.0}
    assert "KPIs!G2: blank" in text  # the nps column is blank in row 2: missing, not zero


def test_duplicate_rows_last_wins_and_are_reported(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(
        sheets={
            "KPIs": [
                ["date", "department", "kpi", "value"],
                ["2026-11-23", "", "nps", "30"],
                ["2026-11-23", "company", "NPS", "31"],
                ["2026-11-23", "", "nps", "32"],
            ]
        }
    )
    report = sync(kpi_settings, engine, client)
    assert values(engine) == {("nps", 0, date(2026, 11, 23)): 32.0}
    lines = [p.line() for p in report.rejected]
    assert "KPIs!D2: duplicate of KPIs!D3 (nps, 2026-11-23); the later row wins" in lines
    assert "KPIs!D3: duplicate of KPIs!D4 (nps, 2026-11-23); the later row wins" in lines


def test_decimal_comma_from_locale_and_override(kpi_settings, engine, client, google, slack):
    book = google.add_spreadsheet(
        locale="de_DE",
        sheets={"KPIs": [["Datum", "kpi", "value", "date"], ["x", "clv", "1.234,5", "23.11.2026"]]},
    )
    report = sync(kpi_settings, engine, client)
    assert report.ok and values(engine) == {("clv", 0, date(2026, 11, 23)): 1234.5}
    # Same text in a US sheet is rejected (never read as 1.234), unless the setting says comma.
    book.locale = "en_US"
    book.sheets["KPIs"][1][2] = "1.234,6"
    report = sync(kpi_settings, engine, client)
    assert "KPIs!C2: `1.234,6` does not match the sheet's number format" in report.text()
    assert values(engine)[("clv", 0, date(2026, 11, 23))] == 1234.5
    comma = kpi_settings.model_copy(update={"kpi_number_locale": "comma"})
    report = sync(comma, engine, client)
    assert values(engine)[("clv", 0, date(2026, 11, 23))] == 1234.6 and not report.rejected


def test_dates_formatted_cells_and_serials(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(
        sheets={
            "KPIs": [
                ["Date", "nps"],
                [date_cell(date(2026, 11, 2)), 1],
                ["46334", 2],  # a serial number shown as a number: 2026-11-08
                ["2026-W45", 3],
                ["2026-10", 4],
                ["Nov 30, 2026", 5],
            ]
        }
    )
    report = sync(kpi_settings, engine, client)
    assert report.ok, report.text()
    assert values(engine) == {
        ("nps", 0, date(2026, 11, 2)): 3.0,  # 2026-W45 is that date cell's Monday: later row wins
        ("nps", 0, date(2026, 11, 8)): 2.0,
        ("nps", 0, date(2026, 10, 1)): 4.0,
        ("nps", 0, date(2026, 11, 30)): 5.0,
    }
    assert [p.line() for p in report.rejected] == [
        "KPIs!B2: duplicate of KPIs!B4 (nps, 2026-11-02); the later row wins"
    ]


def test_header_with_merged_title_and_blank_cells(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(
        sheets={
            "KPIs": [
                ["Loyalty numbers 2026"],  # a merged banner above the header row
                [],
                ["", "Date", "", "NPS", "", "csat"],
                ["", "2026-11-23", "note", "40", "", "90%"],
            ]
        }
    )
    report = sync(kpi_settings, engine, client)
    assert report.ok, report.text()
    assert values(engine) == {
        ("nps", 0, date(2026, 11, 23)): 40.0,
        ("csat", 0, date(2026, 11, 23)): 90.0,
    }
    assert "KPIs!C4: column C has values but no header; ignored" in report.text()


@pytest.mark.parametrize(
    "sheet, message",
    [
        ([["Date", "NPS", "nps"]], "KPIs!C1: duplicate header `nps` (same as B1)"),
        ([["Department", "nps"], ["Support", 3]], "KPIs!A1: no `date` column in the header row"),
        (
            [["date", "department", "kpi"]],
            "KPIs!A1:C1: `KPIs` has a `kpi` column but no `value` column",
        ),
        ([], "KPIs!A1: the worksheet `KPIs` is empty"),
    ],
)
def test_bad_headers_fail_the_sync_naming_sheet_and_cell(
    kpi_settings, engine, client, google, slack, sheet, message
):
    google.add_spreadsheet(sheets={"KPIs": sheet})
    report = sync(kpi_settings, engine, client)
    assert not report.ok and report.error.startswith(message)
    assert "\n" not in report.error
    assert count(engine, KpiValue) == 0


def test_missing_worksheet_names_what_exists(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(sheets={"Sheet1": [["date", "nps"]]})
    report = sync(kpi_settings, engine, client)
    assert not report.ok
    assert report.error.startswith(
        "Worksheet `KPIs` not found in spreadsheet `Loyalty KPIs` (it has: Sheet1)"
    )
    assert google.count("batchGet") == 0


def test_not_shared_and_bad_key_are_one_line(kpi_settings, engine, client, google, slack):
    book = google.add_spreadsheet(sheets={"KPIs": [["date", "nps"]]}, shared_with=set())
    report = sync(kpi_settings, engine, client)
    assert "not shared with the service account" in report.error
    assert "loyalty-sync@demo.iam.gserviceaccount.com" in report.error
    book.shared_with = None
    google.token_refusal = "Invalid JWT Signature."
    report = sync(kpi_settings, engine, client)
    assert (
        "Google refused the service account key" in report.error
        and "Invalid JWT Signature" in report.error
    )
    missing = kpi_settings.model_copy(update={"kpi_spreadsheet": "NOPE"})
    google.token_refusal = None
    report = sync(missing, engine, client)
    assert report.error.startswith("Spreadsheet `NOPE` was not found; check KPI_SPREADSHEET")


def test_429_burst_is_retried_and_lands(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 5]]})
    google.fail("batchGet", 429, times=3)
    google.fail("get", 503, times=1)
    report = sync(kpi_settings, engine, client)
    assert report.ok and values(engine) == {("nps", 0, date(2026, 11, 23)): 5.0}
    assert google.count("batchGet") == 4 and google.count("get") == 2


def fetch_with_recorded_waits(settings) -> list[float]:
    """Fetch with the default backoff, recording the waits instead of sleeping them."""
    waits: list[float] = []
    with pytest.raises(SheetsError) as failure:
        fetch_sheet(
            service_account_file=settings.google_service_account_file,
            spreadsheet=settings.kpi_spreadsheet,
            worksheets=["KPIs"],
            praise_worksheet=None,
            api_url=settings.google_sheets_api_url,
            sleep=waits.append,
        )
    waits.append(failure.value)
    return waits


def test_retry_after_is_honoured_then_the_fetch_fails_cleanly(kpi_settings, google):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 5]]})
    google.fail("batchGet", 429, times=1000, retry_after=7)
    *waits, error = fetch_with_recorded_waits(kpi_settings)
    # Backoff 1, 2, 4, 8, 16, 16 s (about a minute), each at least the 7 s Google asked for.
    planned = [7, 7, 7, 8, 16, 16]
    assert len(waits) == len(planned) and google.count("batchGet") == len(planned) + 1
    assert all(p <= w <= p * 1.1 for w, p in zip(waits, planned, strict=True)), waits
    assert "kept answering 429" in str(error) and "next sync will try again" in str(error)


def test_retry_after_longer_than_the_longest_step_is_capped(kpi_settings, google):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 5]]})
    google.fail("batchGet", 503, times=1000, retry_after=3600)
    *waits, error = fetch_with_recorded_waits(kpi_settings)
    assert len(waits) == 6 and all(16 <= w <= 16 * 1.1 for w in waits), waits
    assert "kept answering 503" in str(error)


def test_persistent_5xx_fails_cleanly_keeps_values_and_dms_admins_once(
    kpi_settings, engine, client, google, slack
):
    book = google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 5]]})
    assert sync(kpi_settings, engine, client).ok
    book.sheets["KPIs"][1][1] = 9
    google.fail("batchGet", 500, times=1000)
    first = sync(kpi_settings, engine, client)
    assert not first.ok and "kept answering 500" in first.error
    assert values(engine) == {("nps", 0, date(2026, 11, 23)): 5.0}  # nothing lost
    assert first.admins_notified == [ADMIN]
    second = sync(kpi_settings, engine, client)
    assert not second.ok and second.admins_notified == []  # same problem: no second DM
    dms = slack.calls_to("chat.postMessage")
    assert len(dms) == 1 and dms[0]["channel"] == ADMIN and "failed" in dms[0]["text"]
    google.faults.clear()
    assert sync(kpi_settings, engine, client).ok
    assert values(engine) == {("nps", 0, date(2026, 11, 23)): 9.0}
    google.fail("batchGet", 500, times=1000)
    assert sync(kpi_settings, engine, client).admins_notified == [ADMIN]  # back again: told again


def test_rejected_cells_dm_once_per_distinct_problem(kpi_settings, engine, client, google, slack):
    book = google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", "N/A"]]})
    assert sync(kpi_settings, engine, client).admins_notified == [ADMIN]
    assert sync(kpi_settings, engine, client).admins_notified == []
    book.sheets["KPIs"].append(["2026-11-30", "#REF!"])
    assert sync(kpi_settings, engine, client).admins_notified == [ADMIN]
    dm = slack.calls_to("chat.postMessage")[-1]["text"]
    assert "KPIs!B3: sheet error `#REF!`" in dm and "KPIs!B2" in dm


def test_manual_sync_does_not_dm(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", "N/A"]]})
    report = sync(kpi_settings, engine, client, notify_admins=False)
    assert report.ok and report.rejected and slack.calls_to("chat.postMessage") == []
    # The scheduled run afterwards still tells the admins (nobody was told yet).
    assert sync(kpi_settings, engine, client).admins_notified == [ADMIN]


def test_database_failure_rolls_back_everything(
    kpi_settings, engine, client, google, slack, monkeypatch
):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 5]]})
    assert sync(kpi_settings, engine, client).ok
    google.spreadsheets["SHEET123"].sheets["KPIs"] = [
        ["date", "nps", "csat"],
        ["2026-11-23", 6, 70],
    ]
    from sqlalchemy.exc import OperationalError

    import jobs.kpi_sync as kpi_sync

    def broken(*args, **kwargs):
        raise OperationalError("UPDATE keyresult", {}, Exception("server closed the connection"))

    monkeypatch.setattr(kpi_sync, "refresh_bound_key_results", broken)
    report = sync(kpi_settings, engine, client)
    assert not report.ok and "Saving the KPI values failed" in report.error
    assert values(engine) == {("nps", 0, date(2026, 11, 23)): 5.0}  # the csat insert rolled back
    with Session(engine) as s:
        runs = s.exec(select(KpiSyncRun).order_by(KpiSyncRun.id)).all()
        assert [r.ok for r in runs] == [True, False]


def test_kpi_bound_key_results_take_newest_value(kpi_settings, engine, client, google, slack):
    support = department(engine, "Support", heads=(ALICE,))
    _, (company_kr, dept_kr, free_kr) = objective(
        engine,
        support,
        krs=[
            KeyResultInput(title="NPS", baseline=30, target=50, unit="pts", kpi_name="nps"),
            KeyResultInput(
                title="Support CSAT",
                baseline=70,
                target=90,
                unit="%",
                kpi_name="csat",
                kpi_department_id=support.id,
            ),
            KeyResultInput(title="Calls", baseline=0, target=10),
        ],
    )
    google.add_spreadsheet(
        sheets={
            "KPIs": [
                ["date", "department", "nps", "csat"],
                ["2026-11-16", "", 35, 60],
                ["2026-11-23", "", 42, 61],
                ["2026-11-09", "Support", 10, 80],
                ["2026-11-16", "Support", 11, 84],
            ]
        }
    )
    report = sync(kpi_settings, engine, client)
    assert report.key_results_updated == 2
    with Session(engine) as s:
        assert s.get(KeyResult, company_kr.id).current_value == 42
        assert s.get(KeyResult, dept_kr.id).current_value == 84
        assert s.get(KeyResult, free_kr.id).current_value is None
        assert s.exec(select(AuditLog).where(AuditLog.action == "key_result.kpi_value")).all()
    assert sync(kpi_settings, engine, client).key_results_updated == 0


def test_praise_worksheet_read_in_same_batchget_stored_once(
    kpi_settings, engine, client, google, slack
):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    slack.users[BOB]["profile"]["email"] = "bob@example.com"
    google.add_spreadsheet(
        sheets={
            "KPIs": [["date", "nps"], ["2026-11-23", 40]],
            "Praise": [
                ["Date", "Customer", "Comment", "Staff"],
                ["2026-11-20", "Dana", "Bob fixed my order in minutes!", "bob@example.com"],
                ["2026-11-21", "Eve", "Carol was lovely", "@Carol"],
                ["2026-11-21", "Finn", "Great help", "ghost@example.com"],
                ["2026-11-22", "Gus", "", "bob@example.com"],
            ],
        }
    )
    report = sync(kpi_settings, engine, client)
    assert report.ok and google.count("batchGet") == 1
    assert report.praise_new == 3
    assert "Praise!D4: `ghost@example.com`" in report.praise_unmatched
    assert "Praise!C5: no comment; praise row skipped" in report.text()
    with Session(engine) as s:
        drafts = {d.customer: d for d in s.exec(select(PraiseDraft))}
        assert drafts["Dana"].staff_user_id == BOB and drafts["Dana"].department_id == support.id
        assert drafts["Dana"].status == "pending" and drafts["Dana"].praise_date == date(
            2026, 11, 20
        )
        assert drafts["Eve"].staff_user_id == "U0CAROL01"
        assert drafts["Finn"].status == "unmatched" and drafts["Finn"].staff_user_id is None
    lookups = len(slack.calls_to("users.lookupByEmail"))
    again = sync(kpi_settings, engine, client)
    assert again.praise_new == 0 and count(engine, PraiseDraft) == 3
    assert len(slack.calls_to("users.lookupByEmail")) == lookups  # old rows are not looked up again


def test_praise_sheet_absent_is_fine(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 40]]})
    report = sync(kpi_settings, engine, client)
    assert report.ok and report.worksheets == ["KPIs"]
    assert "ranges=Praise" not in google.requests[-1][1]


def test_twenty_thousand_rows_one_request(kpi_settings, engine, client, google, slack):
    rows = [["date", "department", "kpi", "value"]]
    start = date(2000, 1, 1).toordinal()
    for i in range(20_000):
        rows.append([date.fromordinal(start + i).isoformat(), "", "nps", str(i % 100)])
    google.add_spreadsheet(sheets={"KPIs": rows})
    report = sync(kpi_settings, engine, client)
    assert report.ok and report.stored == 20_000 and report.rows_read == 20_000
    assert google.count("batchGet") == 1
    assert count(engine, KpiValue) == 20_000


def test_run_kpi_sync_resolves_team_from_auth_test(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 40]]})
    report = run_kpi_sync(settings=kpi_settings, engine=engine, client=client, retry=FAST)
    assert report.team_id == TEAM and slack.calls_to("auth.test")


def test_fake_answers_unformatted_values_like_google_and_parser_reads_them(google, tmp_path):
    """UNFORMATTED_VALUE gives raw numbers and serial dates; trailing blanks are dropped."""
    import requests

    from jobs.sheet_values import NumberFormat, parse_kpi_sheet

    key_file = google.service_account_file(tmp_path)
    google.add_spreadsheet(
        sheets={
            "KPIs": [
                ["date", "nps", "csat", ""],
                [date_cell(date(2026, 11, 23)), 40, pct(0.9), None],
                [None, None, None],
                [],
            ]
        }
    )
    from jobs.sheets_client import _credentials

    creds = _credentials(str(key_file))
    from google.auth.transport.requests import Request

    creds.refresh(Request())
    answer = requests.get(
        f"{google.sheets_url}/SHEET123/values:batchGet",
        params={"ranges": "KPIs", "valueRenderOption": "UNFORMATTED_VALUE"},
        headers={"Authorization": f"Bearer {creds.token}"},
        timeout=5,
    ).json()
    rows = answer["valueRanges"][0]["values"]
    assert rows == [["date", "nps", "csat"], [46349, 40, 0.9]]  # ragged, trailing rows gone
    res = parse_kpi_sheet("KPIs", rows, departments={}, fmt=NumberFormat())
    assert {k: v.value for k, v in res.values.items()} == {
        ("nps", 0, date(2026, 11, 23)): 40.0,
        ("csat", 0, date(2026, 11, 23)): 0.9,  # why the sync asks for FORMATTED_VALUE
    }
    unauthorised = requests.get(f"{google.sheets_url}/SHEET123", timeout=5)
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["status"] == "UNAUTHENTICATED"


def test_token_endpoint_down_is_a_clean_failure(kpi_settings, engine, client, google, slack):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], ["2026-11-23", 5]]})
    google.fail("token", 503, times=100)
    report = sync(kpi_settings, engine, client)
    assert not report.ok and "\n" not in report.error, report.error
    assert report.error.startswith("Google's token endpoint is unavailable"), report.error
    assert count(engine, KpiValue) == 0


def test_several_worksheets_in_one_batchget_later_sheet_wins(
    kpi_settings, engine, client, google, slack
):
    google.add_spreadsheet(
        sheets={
            "Weekly": [["date", "nps"], ["2026-11-23", 40]],
            "Monthly": [["month", "nps", "csat"], ["2026-11", 41, "80%"], ["2026-11-23", 44]],
        }
    )
    settings = Settings(
        _env_file=None, **{**kpi_settings.model_dump(), "kpi_worksheets": "Weekly, Monthly"}
    )
    report = sync(settings, engine, client)
    assert report.ok and google.count("batchGet") == 1
    assert "ranges=Weekly&ranges=Monthly" in google.requests[-1][1]
    assert values(engine) == {
        ("nps", 0, date(2026, 11, 23)): 44.0,
        ("nps", 0, date(2026, 11, 1)): 41.0,
        ("csat", 0, date(2026, 11, 1)): 80.0,
    }
    assert "Weekly!B2: duplicate of Monthly!B3; the later one wins" in report.text()


def test_wide_header_longer_than_a_kpi_name_is_refused_and_the_rest_lands(
    kpi_settings, engine, client, google, slack, driver
):
    department(engine, "Support", heads=(ALICE,))
    long_header = "Share of customers who answered the survey within the first week " * 2
    google.add_spreadsheet(sheets={"KPIs": [["date", "NPS", long_header], ["2026-11-23", 40, 7]]})
    report = sync(kpi_settings, engine, client)
    assert report.ok, report.text()
    assert values(engine) == {("nps", 0, date(2026, 11, 23)): 40.0}
    rejected = [p.line() for p in report.rejected]
    assert len(rejected) == 1, rejected
    assert rejected[0].startswith("KPIs!C1: ") and "longer than 64 characters" in rejected[0]
    with Session(engine) as s:
        assert all(len(name) <= 64 for name in s.exec(select(Kpi.name)))
    # The KPI choices of `/okr new` still build: the modal opens.
    slack.reset()
    driver.command("/okr", "new", user=ALICE)
    view = slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "okr_new_objective"


def test_praise_staff_words_are_not_user_ids(kpi_settings, engine, client, google, slack):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    google.add_spreadsheet(
        sheets={
            "KPIs": [["date", "nps"], ["2026-11-23", 40]],
            "Praise": [
                ["Date", "Customer", "Comment", "Staff"],
                ["2026-11-20", "Dana", "Someone fixed my order", "UNASSIGNED"],
                ["2026-11-21", "Eve", "Bob was lovely", "<@U0BOB0001>"],
            ],
        }
    )
    report = sync(kpi_settings, engine, client)
    assert report.ok and report.praise_unmatched == ["Praise!D2: `UNASSIGNED`"]
    with Session(engine) as s:
        drafts = {d.customer: d for d in s.exec(select(PraiseDraft))}
    assert (drafts["Dana"].status, drafts["Dana"].staff_user_id) == ("unmatched", None)
    assert (drafts["Eve"].status, drafts["Eve"].staff_user_id) == ("pending", BOB)
