"""Several workspaces (OAuth installs): each syncs its own KPI spreadsheet, connected in
`/okr setup`; the server's KPI_SPREADSHEET is for single-workspace mode only. No workspace sees
another's values, sync reports, department names or staff; one without a spreadsheet is
skipped without a report."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

import jobs.scheduler as scheduler
from slackapp.app import create_app
from storage.db import session_scope
from storage.models import KpiSyncRun, KpiValue, PraiseDraft, SlackUser
from storage.teams import update_settings
from tests.conftest import ALICE, BOB
from tests.fakes.google_api import FakeGoogle
from tests.support.factories import department
from tests.support.oauth_helpers import TEAM_B, oauth_settings, seed_installation

TEAM_A = "T0TEAMA01"
SHEET_A = "SheetOfWorkspaceA0000000001"
SHEET_B = "SheetOfWorkspaceB0000000002"
ADMIN_A, ADMIN_B = "U0AADMIN1", "U0BADMIN1"

A_ROWS = [
    ["Date", "Department", "KPI", "Value"],
    ["2026-11-23", "", "nps", "41"],  # company-wide: would land in any workspace synced from it
    ["2026-11-23", "Secret Skunkworks", "csat", "77"],
]
A_PRAISE = [
    ["date", "customer", "comment", "staff"],
    ["2026-11-23", "Acme", "Alice saved our launch", "alice@team-a.example"],
]
B_ROWS = [
    ["Date", "Department", "KPI", "Value"],
    ["2026-11-23", "Billing", "churn_rate", "3%"],
]


@pytest.fixture
def google():
    fake = FakeGoogle().start()
    yield fake
    fake.stop()


@pytest.fixture
def two_workspaces(db_url, engine, slack, google, tmp_path):
    """Workspaces A and B installed over OAuth; the server also names a KPI_SPREADSHEET (A's),
    which multi-workspace mode must ignore."""
    settings = oauth_settings(db_url, slack)
    settings.google_service_account_file = str(google.service_account_file(tmp_path))
    settings.google_sheets_api_url = google.sheets_url
    settings.kpi_spreadsheet = f"https://docs.google.com/spreadsheets/d/{SHEET_A}/edit"
    tokens = {
        team: seed_installation(engine, team_id=team, slack=slack) for team in (TEAM_A, TEAM_B)
    }
    department(engine, "Secret Skunkworks", team_id=TEAM_A, heads=(ALICE,))
    department(engine, "Billing", team_id=TEAM_B, heads=(BOB,), channel="C0BILLING1")
    with session_scope(engine) as s:
        s.add(SlackUser(team_id=TEAM_A, user_id=ADMIN_A, is_admin=True))
        s.add(SlackUser(team_id=TEAM_B, user_id=ADMIN_B, is_admin=True))
    slack.add_user("U0ALICEA1", email="alice@team-a.example", team_id=TEAM_A)
    google.add_spreadsheet(SHEET_A, title="Workspace A numbers",
                           sheets={"KPIs": A_ROWS, "Praise": A_PRAISE})  # fmt: skip
    app = create_app(settings, engine)
    yield settings, app, tokens
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)


def connect(engine, team_id: str, sheet: str | None) -> None:
    with session_scope(engine) as s:
        update_settings(s, team_id=team_id, actor_id="U0ADMIN01", values={"kpi_spreadsheet": sheet})


def run_scheduled_sync(settings, engine, app, monkeypatch) -> None:
    monkeypatch.setattr(
        scheduler, "_runtime", scheduler.Runtime(settings=settings, engine=engine, app=app)
    )
    scheduler.kpi_sync()


def team_values(engine, team_id: str) -> dict:
    with Session(engine) as s:
        rows = s.exec(select(KpiValue).where(KpiValue.team_id == team_id)).all()
        return {(v.kpi_name, v.scope): v.value for v in rows}


def team_rows(engine, model, team_id: str) -> list:
    with Session(engine) as s:
        return s.exec(select(model).where(model.team_id == team_id)).all()


def posted(slack, token: str) -> str:
    """Everything posted with one workspace's token, as one text."""
    return "\n".join(
        str(c.args) for c in slack.calls_to("chat.postMessage") if c.args.get("token") == token
    )


def test_each_workspace_syncs_its_own_spreadsheet_and_sees_nothing_of_another(
    two_workspaces, engine, slack, google, monkeypatch
):
    settings, app, tokens = two_workspaces
    connect(engine, TEAM_A, f"https://docs.google.com/spreadsheets/d/{SHEET_A}/edit#gid=0")
    slack.reset()
    run_scheduled_sync(settings, engine, app, monkeypatch)

    assert team_values(engine, TEAM_A) == {("nps", 0): 41.0, ("csat", 1): 77.0}
    assert len(team_rows(engine, PraiseDraft, TEAM_A)) == 1
    # B connected nothing: not synced from the server's sheet (A's), no run, no report, no DM.
    assert team_values(engine, TEAM_B) == {}
    assert team_rows(engine, KpiSyncRun, TEAM_B) == []
    assert team_rows(engine, PraiseDraft, TEAM_B) == []
    assert posted(slack, tokens[TEAM_B]) == ""
    assert google.count("batchGet") == 1  # A's sheet only

    # B connects its own sheet, not yet shared with the service account: B's admins hear of
    # B's sheet, with B's token; nothing about A's sheet, departments or staff.
    google.add_spreadsheet(SHEET_B, title="Workspace B numbers", sheets={"KPIs": B_ROWS},
                           shared_with=set())  # fmt: skip
    connect(engine, TEAM_B, SHEET_B)
    slack.reset()
    run_scheduled_sync(settings, engine, app, monkeypatch)
    to_b = posted(slack, tokens[TEAM_B])
    assert SHEET_B in to_b and ADMIN_B in to_b
    for secret in (SHEET_A, "Workspace A numbers", "Secret Skunkworks", "alice@team-a.example",
                   "Acme", ADMIN_A):  # fmt: skip
        assert secret not in to_b
    assert SHEET_B not in posted(slack, tokens[TEAM_A])
    assert [r.ok for r in team_rows(engine, KpiSyncRun, TEAM_B)] == [False]

    google.spreadsheets[SHEET_B].shared_with = None  # shared now
    run_scheduled_sync(settings, engine, app, monkeypatch)
    billing = team_rows(engine, KpiSyncRun, TEAM_B)[-1]
    assert billing.ok and "Workspace B numbers" in billing.report
    assert team_values(engine, TEAM_B) == {("churn_rate", 2): 3.0}
    assert team_values(engine, TEAM_A) == {("nps", 0): 41.0, ("csat", 1): 77.0}
    for run in team_rows(engine, KpiSyncRun, TEAM_B):
        assert "Skunkworks" not in run.report and "Workspace A" not in run.report

    # Disconnecting (an empty field) stops B's sync again; its stored values stay.
    connect(engine, TEAM_B, "")
    runs_before = len(team_rows(engine, KpiSyncRun, TEAM_B))
    run_scheduled_sync(settings, engine, app, monkeypatch)
    assert len(team_rows(engine, KpiSyncRun, TEAM_B)) == runs_before
    assert team_values(engine, TEAM_B) == {("churn_rate", 2): 3.0}


def test_single_workspace_mode_keeps_using_kpi_spreadsheet(
    settings, engine, slack, google, tmp_path, monkeypatch
):
    """One workspace: the server's KPI_SPREADSHEET, whatever the team row says."""
    settings.google_service_account_file = str(google.service_account_file(tmp_path))
    settings.google_sheets_api_url = google.sheets_url
    settings.kpi_spreadsheet = SHEET_A
    google.add_spreadsheet(SHEET_A, sheets={"KPIs": A_ROWS[:2]})
    department(engine, "Support")
    connect(engine, TEAM_A, SHEET_B)  # ignored with one workspace
    from slackapp.web_client import make_web_client

    monkeypatch.setattr(
        scheduler,
        "_runtime",
        scheduler.Runtime(settings=settings, engine=engine, client=make_web_client(settings)),
    )
    scheduler.kpi_sync()
    assert team_values(engine, TEAM_A) == {("nps", 0): 41.0}
