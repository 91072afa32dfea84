"""Multi-workspace (OAuth) mode: `loyalty digest --team T` and `loyalty review start --team T`
post with that team's stored token, with no SLACK_BOT_TOKEN set (spec §10)."""

from __future__ import annotations

import pytest

from tests.cli.test_settings_cli import run_cli
from tests.conftest import ALICE
from tests.support.factories import department, objective
from tests.support.oauth_helpers import (
    KEY_OLD,
    TEAM_B,
    Browser,
    install,
    issued,
    seed_installation,
    served_oauth_app,
)


@pytest.fixture
def installed_team(db_url, engine, slack):
    """TEAM_B installed through the real OAuth flow; its bot token is stored encrypted."""
    with served_oauth_app(db_url, engine, slack) as (_, url):
        install(Browser(url), slack, team_id=TEAM_B)
    support = department(engine, "Support", team_id=TEAM_B, heads=(ALICE,), channel="C0SUPPORT1")
    objective(engine, support, team_id=TEAM_B)
    return TEAM_B


def oauth_env(db_url, slack) -> dict:
    client_id, client_secret = slack.oauth_client
    return {
        "DATABASE_URL": db_url,
        "SLACK_API_URL": slack.api_url,
        "SLACK_CLIENT_ID": client_id,
        "SLACK_CLIENT_SECRET": client_secret,
        "LOYALTY_ENCRYPTION_KEY": KEY_OLD,
    }


def posted_tokens(slack) -> set[str]:
    return {c.args.get("token") for c in slack.calls_to("chat.postMessage")}


def test_digest_and_review_start_use_the_teams_stored_token(db_url, installed_team, slack):
    env = oauth_env(db_url, slack)  # no SLACK_BOT_TOKEN at all
    slack.reset()
    digest = run_cli("digest", "--team", installed_team, env=env)
    assert digest.returncode == 0, digest.stderr
    assert "Sent " in digest.stdout and "SLACK_BOT_TOKEN" not in digest.stderr
    tokens = posted_tokens(slack)
    assert tokens and tokens <= set(issued(slack, TEAM_B))

    slack.reset()
    review = run_cli("review", "start", "--team", installed_team, env=env)
    assert review.returncode == 0, review.stderr
    assert "review: 1 prompt(s) sent" in review.stdout
    tokens = posted_tokens(slack)
    assert tokens and tokens <= set(issued(slack, TEAM_B))


def test_oauth_mode_team_without_installation_is_one_line(db_url, installed_team, slack):
    result = run_cli("digest", "--team", "T0NOTHERE1", env=oauth_env(db_url, slack))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("loyalty: Team T0NOTHERE1 has no")


def test_single_workspace_digest_still_asks_for_the_bot_token(db_url, engine, slack):
    department(engine, "Support", heads=(ALICE,))
    result = run_cli("digest", env={"DATABASE_URL": db_url, "SLACK_API_URL": slack.api_url})
    assert result.returncode == 2 and "Set SLACK_BOT_TOKEN" in result.stderr


def test_enterprise_grid_team_gets_its_digest_with_its_stored_token(db_url, engine, slack):
    token = seed_installation(engine, team_id="T0GRIDB02", enterprise_id="E0GRID0001")
    support = department(engine, "Support", team_id="T0GRIDB02", heads=(ALICE,))
    objective(engine, support, team_id="T0GRIDB02")
    slack.reset()
    digest = run_cli("digest", "--team", "T0GRIDB02", env=oauth_env(db_url, slack))
    assert digest.returncode == 0, digest.stderr  # was: "has no installation (uninstalled?)"
    assert "Sent " in digest.stdout and posted_tokens(slack) == {token}


def test_kpi_sync_team_reads_that_teams_own_spreadsheet(db_url, engine, slack, tmp_path):
    from sqlmodel import Session, select

    from storage.db import session_scope
    from storage.models import KpiSyncRun, KpiValue
    from storage.teams import update_settings
    from tests.fakes.google_api import FakeGoogle

    google = FakeGoogle().start()
    try:
        seed_installation(engine, team_id=TEAM_B, slack=slack)
        seed_installation(engine, team_id="T0TEAMC03", slack=slack)
        sheet_b, sheet_other = "SheetOfWorkspaceB0000000002", "SheetOfSomeoneElse000000009"
        google.add_spreadsheet(sheet_b, title="B numbers",
                               sheets={"KPIs": [["date", "kpi", "value"], ["2026-11-23", "nps", "12"]]})  # fmt: skip
        google.add_spreadsheet(sheet_other, title="Other numbers",
                               sheets={"KPIs": [["date", "kpi", "value"], ["2026-11-23", "nps", "99"]]})  # fmt: skip
        with session_scope(engine) as s:
            update_settings(s, team_id=TEAM_B, actor_id="U0ADMIN01",
                            values={"kpi_spreadsheet": sheet_b})  # fmt: skip
        env = {
            **oauth_env(db_url, slack),
            "GOOGLE_SERVICE_ACCOUNT_FILE": str(google.service_account_file(tmp_path)),
            "GOOGLE_SHEETS_API_URL": google.sheets_url,
            "KPI_SPREADSHEET": sheet_other,  # single-workspace setting: ignored here
        }
        synced = run_cli("kpi", "sync", "--team", TEAM_B, env=env)
        assert synced.returncode == 0, synced.stderr
        assert "“B numbers”" in synced.stdout and "Other numbers" not in synced.stdout
        unconnected = run_cli("kpi", "sync", "--team", "T0TEAMC03", env=env)
        assert unconnected.returncode == 1
        last = unconnected.stderr.strip().splitlines()[-1]
        assert last.startswith("loyalty: This workspace has no KPI spreadsheet connected")
        assert "/okr setup" in last
        with Session(engine) as s:
            values = [(v.team_id, v.value) for v in s.exec(select(KpiValue))]
            runs = [r.team_id for r in s.exec(select(KpiSyncRun))]
        assert values == [(TEAM_B, 12.0)] and runs == [TEAM_B]
    finally:
        google.stop()
