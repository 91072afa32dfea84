"""`/okr setup` with several workspaces (OAuth installs): each connects its own KPI spreadsheet
(key or URL) and sees the service account's email to share it with; a malformed value is a
field error that writes nothing. With one workspace the form has no such field (the server's
KPI_SPREADSHEET rules). `/kpi` in a workspace without a sheet says how to connect one."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from slackapp.app import create_app
from storage.models import AuditLog, Team
from tests.conftest import ADMIN, BOB
from tests.fakes.google_api import FakeGoogle
from tests.support.oauth_helpers import TEAM_B, oauth_settings, seed_installation
from tests.support.slack_driver import SlackDriver, state

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-XyZw"
SERVICE_ACCOUNT = "okr-sheets@loyalty-demo.iam.gserviceaccount.com"


@pytest.fixture
def oauth_driver(db_url, engine, slack, tmp_path):
    google = FakeGoogle().start()
    settings = oauth_settings(db_url, slack)
    settings.google_service_account_file = str(
        google.service_account_file(tmp_path, email=SERVICE_ACCOUNT)
    )
    seed_installation(engine, team_id=TEAM_B, slack=slack)
    app = create_app(settings, engine)
    yield SlackDriver(app.bolt, slack, team_id=TEAM_B)
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)
    google.stop()


def setup_values(**extra) -> dict:
    return state(
        leadership_channel=("conversation", "C0LEAD0001"),
        recognition_channel=("conversation", None),
        feedback_channel=("conversation", None),
        recognition_emoji="star",
        digest_weekday=("option", "4"),
        digest_time=("time", "16:00"),
        reminder_weekday=("option", "0"),
        reminder_time=("time", "10:00"),
        review_lead_days="7",
        stale_days="14",
        timezone="UTC",
        kudos_require_behavior=("checkboxes", []),
        **extra,
    )


def blocks_by_id(view: dict) -> dict:
    return {b.get("block_id"): b for b in view["blocks"]}


def stored_sheet(engine, team_id: str) -> str | None:
    with Session(engine) as s:
        team = s.get(Team, team_id)
        return team.kpi_spreadsheet if team else None


def settings_audits(engine, team_id: str) -> int:
    with Session(engine) as s:
        rows = s.exec(
            select(AuditLog).where(
                AuditLog.team_id == team_id, AuditLog.action == "settings.update"
            )
        ).all()
        return len(rows)


def test_workspace_connects_its_own_spreadsheet_in_setup(oauth_driver, slack, engine):
    driver = oauth_driver
    # /kpi before: says how this workspace connects a sheet (not a server setting).
    driver.command("/kpi", "", user=BOB)
    text = driver.last_reply_text()
    assert "No Google Sheet is connected to this workspace" in text and "/okr setup" in text
    assert "KPI_SPREADSHEET" not in text

    driver.command("/okr", "setup", user=ADMIN)
    view = slack.wait_for("views.open")[0]["view"]
    field = blocks_by_id(view)["kpi_spreadsheet"]
    assert field["label"]["text"] == "KPI spreadsheet (key or URL)" and field["optional"]
    assert SERVICE_ACCOUNT in field["hint"]["text"]  # whom to share the sheet with
    assert len(view["blocks"]) <= 100

    for bad in ("my loyalty sheet", "https://example.com/spreadsheets/d/" + KEY, "short"):
        resp = driver.view_submission("okr_setup", setup_values(kpi_spreadsheet=bad), user=ADMIN)
        error = json.loads(resp.body)["errors"]["kpi_spreadsheet"]
        assert f"`{bad}`" in error and "not a Google Sheets address or key" in error
        assert stored_sheet(engine, TEAM_B) is None and settings_audits(engine, TEAM_B) == 0

    url = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
    resp = driver.view_submission("okr_setup", setup_values(kpi_spreadsheet=url), user=ADMIN)
    assert resp.status == 200 and not resp.body
    assert stored_sheet(engine, TEAM_B) == KEY and settings_audits(engine, TEAM_B) == 1
    # Only admins: a member's submission changes nothing.
    other = driver.view_submission("okr_setup", setup_values(kpi_spreadsheet="x" * 30), user=BOB)
    assert "Only a workspace admin" in json.loads(other.body)["errors"]["leadership_channel"]
    assert stored_sheet(engine, TEAM_B) == KEY

    slack.reset()
    driver.command("/okr", "setup", user=ADMIN)
    again = blocks_by_id(slack.wait_for("views.open")[0]["view"])["kpi_spreadsheet"]
    assert again["element"]["initial_value"] == KEY
    # The bare key works too; an empty field disconnects.
    driver.view_submission("okr_setup", setup_values(kpi_spreadsheet=f" {KEY} "), user=ADMIN)
    assert stored_sheet(engine, TEAM_B) == KEY
    driver.view_submission("okr_setup", setup_values(kpi_spreadsheet=""), user=ADMIN)
    assert stored_sheet(engine, TEAM_B) is None


def test_a_spreadsheet_connected_to_another_workspace_is_refused(oauth_driver, engine):
    from storage.db import session_scope
    from storage.teams import update_settings

    with session_scope(engine) as s:
        update_settings(s, team_id="T0TEAMA01", actor_id=ADMIN, values={"kpi_spreadsheet": KEY})
    url = f"https://docs.google.com/spreadsheets/d/{KEY}/edit"
    resp = oauth_driver.view_submission("okr_setup", setup_values(kpi_spreadsheet=url), user=ADMIN)
    error = json.loads(resp.body)["errors"]["kpi_spreadsheet"]
    assert "connected to another workspace" in error
    assert stored_sheet(engine, TEAM_B) is None and settings_audits(engine, TEAM_B) == 0
    assert stored_sheet(engine, "T0TEAMA01") == KEY


def test_single_workspace_setup_has_no_spreadsheet_field(driver, slack, engine):
    driver.command("/okr", "setup", user=ADMIN)
    view = slack.wait_for("views.open")[0]["view"]
    assert "kpi_spreadsheet" not in blocks_by_id(view)
    # A forged field is ignored: one workspace reads the server's KPI_SPREADSHEET.
    resp = driver.view_submission("okr_setup", setup_values(kpi_spreadsheet=KEY), user=ADMIN)
    assert resp.status == 200
    assert stored_sheet(engine, "T0TEAMA01") is None
