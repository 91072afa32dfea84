"""Customer feedback from the KPI spreadsheet's Feedback tab (same batchGet, over real HTTP
against the fake Google) and from `loyalty feedback import FILE.csv`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from jobs.kpi_sync import run_kpi_sync
from jobs.sheets_client import RetryPolicy
from slackapp.settings import Settings
from storage.models import Feedback, Followup, KpiValue, utcnow
from tests.cli.test_settings_cli import run_cli
from tests.conftest import ADMIN, ALICE, BOB
from tests.fakes.google_api import FakeGoogle, date_cell
from tests.support.factories import TEAM, department
from tests.support.slack_driver import SIGNING_SECRET

FAST = RetryPolicy(first=0.01, longest=0.05, budget=0.3)
TODAY = utcnow().date()


@pytest.fixture
def google():
    fake = FakeGoogle().start()
    yield fake
    fake.stop()


@pytest.fixture
def kpi_settings(db_url, slack, google, tmp_path):
    return Settings(
        _env_file=None,
        database_url=db_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        google_service_account_file=str(google.service_account_file(tmp_path)),
        kpi_spreadsheet="SHEET123",
        google_sheets_api_url=google.sheets_url,
        loyalty_admins=ADMIN,
    )


@pytest.fixture
def client(kpi_settings):
    from slackapp.web_client import make_web_client

    return make_web_client(kpi_settings)


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def day(n: int = 0) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def feedback_tab():
    return [
        ["Date", "Customer", "Score", "Comment", "Department", "Staff"],
        [day(1), "Ann", "3", "Courier <!channel> lost the parcel", "Support", ""],
        [day(1), "Ben", "10", "Bob was brilliant", "", "bob@example.com"],
        [date_cell(TODAY), "Cy", "6", "meh", "", ""],
        [day(2), "Dee", "11", "too high", "", ""],
        [day(2), "Eve", "-1", "too low", "", ""],
        [day(2), "Fay", "7.5", "half", "", ""],
        [day(2), "Gil", "ten", "words", "", ""],
        [day(2), "Hal", "", "blank", "", ""],
        [day(2), "", "4", "who?", "", ""],
        ["", "Ida", "4", "when?", "", ""],
        [day(3), "Jo", "5", "unknown dept", "Nowhere", ""],
    ]


def test_feedback_tab_lands_in_the_same_batchget_bad_rows_reported_once(
    kpi_settings, engine, client, google, slack
):
    department(engine, "Support", heads=(ALICE,))
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], [day(1), 40]],
                                   "Feedback": feedback_tab()})  # fmt: skip
    report = run_kpi_sync(settings=kpi_settings, engine=engine, client=client, retry=FAST)
    assert report.ok, report.error
    assert google.count("batchGet") == 1 and "Feedback" in report.worksheets
    assert report.feedback_new == 4 and len(report.feedback_followups) == 3
    text = report.text()
    for cell, why in [("C5", "`11`"), ("C6", "`-1`"), ("C7", "`7.5`"), ("C8", "`ten`"),
                      ("C9", "no score"), ("B10", "no customer"), ("A11", "no date")]:  # fmt: skip
        assert f"Feedback!{cell}: " in text and why in text.split(f"Feedback!{cell}: ")[1], cell
    assert "department `Nowhere` does not exist" in text
    assert count(engine, KpiValue) == 1  # the KPIs landed beside it
    with Session(engine) as s:
        rows = {f.customer: f for f in s.exec(select(Feedback))}
        fus = list(s.exec(select(Followup).order_by(Followup.number)))
    assert set(rows) == {"Ann", "Ben", "Cy", "Jo"}
    assert rows["Ann"].department_id is not None and rows["Ann"].source == "sheet"
    # No department, no rule, no default: the admins are told instead of nobody.
    dm_ann = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ALICE)[0]
    assert "&lt;!channel&gt;" in json.dumps(dm_ann["blocks"])
    slack.wait_for("chat.postMessage", 2, where=lambda c: c["channel"] == ADMIN)
    assert [f.score for f in fus] == [3, 6, 5]
    # Re-sync: nothing new stored, nobody told twice, the same problems (no new admin DM).
    sent = len(slack.calls_to("chat.postMessage"))
    again = run_kpi_sync(settings=kpi_settings, engine=engine, client=client, retry=FAST)
    assert again.ok and again.feedback_new == 0 and again.feedback_followups == []
    assert count(engine, Feedback) == 4 and count(engine, Followup) == 3
    assert len(slack.calls_to("chat.postMessage")) == sent


def test_spreadsheet_without_feedback_tab_is_fine(kpi_settings, engine, client, google):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], [day(1), 40]]})
    report = run_kpi_sync(settings=kpi_settings, engine=engine, client=client, retry=FAST)
    assert report.ok and report.worksheets == ["KPIs"] and report.feedback_new == 0


def test_feedback_tab_with_a_bad_header_does_not_stop_the_kpis(
    kpi_settings, engine, client, google
):
    google.add_spreadsheet(sheets={"KPIs": [["date", "nps"], [day(1), 40]],
                                   "Feedback": [["when", "customer", "score"], [day(1), "A", 1]]})  # fmt: skip
    report = run_kpi_sync(settings=kpi_settings, engine=engine, client=client, retry=FAST)
    assert report.ok and count(engine, KpiValue) == 1 and count(engine, Feedback) == 0
    assert "needs `date` column" in report.text()


def test_csv_import_cli_same_columns_once(db_url, engine, slack, tmp_path):
    department(engine, "Support", heads=(BOB,))
    path = tmp_path / "survey.csv"
    path.write_text(
        "\ufeffdate,customer,score,comment,department,staff\n"
        f'{day(1)},Kim,2,"Slow, rude",support,\n'
        f"{day(1)},Lee,9,Great,,\n"
        f"{day(1)},Max,12,bad score,,\n",
        encoding="utf-8",
    )
    env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": "xoxb-test-token",
           "SLACK_API_URL": slack.api_url}  # fmt: skip
    first = run_cli("feedback", "import", str(path), "--team", TEAM, env=env)
    assert first.returncode == 0, first.stderr
    assert "3 rows read · 2 stored" in first.stdout and "1 follow-ups opened" in first.stdout
    assert "'survey.csv'!C4: score `12` is not a whole number 0–10" in first.stdout
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == BOB)
    second = run_cli("feedback", "import", str(path), "--team", TEAM, env=env)
    assert "0 stored · 2 already there" in second.stdout
    assert count(engine, Feedback) == 2 and count(engine, Followup) == 1
    with Session(engine) as s:
        (fb,) = s.exec(select(Feedback).where(Feedback.customer == "Kim")).all()
    assert fb.source == "csv" and fb.comment == "Slow, rude"
    assert len([c for c in slack.calls_to("chat.postMessage") if c["channel"] == BOB]) == 1
