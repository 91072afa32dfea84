"""Uninstall: app_uninstalled and tokens_revoked (either order, repeated) delete the tokens at
once and mark the team; data is purged after the retention period, or at once from the CLI;
jobs skip uninstalled teams; a reinstall within the period keeps the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import Session, func, select

from jobs.data_retention import purge_expired_teams
from loyalty.cli import cli
from storage.db import session_scope
from storage.lifecycle import active_team_ids, is_team_active
from storage.models import AuditLog, Department, Objective, Team
from tests.conftest import ADMIN, ALICE
from tests.support.factories import department, objective
from tests.support.oauth_helpers import (
    TEAM_B,
    Browser,
    install,
    raw_rows,
    wait_until,
)
from tests.support.slack_driver import SlackDriver

TEAM_A = "T0TEAMA01"


def tokens_of(engine, team_id: str) -> int:
    return sum(
        1
        for table in ("slack_installations", "slack_bots")
        for row in raw_rows(engine, table)
        if f" {team_id} " in f" {row} "
    )


def uninstalled_at(engine, team_id: str):
    with Session(engine) as s:
        team = s.get(Team, team_id)
        return team.uninstalled_at if team else None


def rows_of(engine, model, team_id: str) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(model.team_id == team_id)).one()


APP_UNINSTALLED = {"type": "app_uninstalled"}
TOKENS_REVOKED = {
    "type": "tokens_revoked",
    "tokens": {"oauth": ["U0ADMIN01"], "bot": ["U0BOT0001"]},
}


@pytest.mark.parametrize(
    "order",
    [
        [APP_UNINSTALLED, TOKENS_REVOKED, APP_UNINSTALLED, TOKENS_REVOKED],
        [TOKENS_REVOKED, APP_UNINSTALLED, TOKENS_REVOKED, APP_UNINSTALLED],
    ],
    ids=["uninstalled-first", "revoked-first"],
)
def test_uninstall_events_delete_tokens_in_either_order(oauth_url, oauth_app, slack, engine, order):
    browser = Browser(oauth_url)
    install(browser, slack, team_id=TEAM_B)
    install(browser, slack, team_id=TEAM_A)  # a second workspace that stays installed
    assert tokens_of(engine, TEAM_B) == 2 and tokens_of(engine, TEAM_A) == 2
    driver = SlackDriver(oauth_app.bolt, slack, team_id=TEAM_B, http_url=oauth_url)
    first_time = None
    for event in order:
        assert driver.event(event).status == 200
        wait_until(lambda: uninstalled_at(engine, TEAM_B) is not None)
        first_time = first_time or uninstalled_at(engine, TEAM_B)
        assert uninstalled_at(engine, TEAM_B) == first_time  # repeats keep the first time
        wait_until(lambda: tokens_of(engine, TEAM_B) == 0)
    assert tokens_of(engine, TEAM_A) == 2 and uninstalled_at(engine, TEAM_A) is None
    with Session(engine) as s:
        logs = s.exec(select(AuditLog).where(AuditLog.action == "team.uninstall")).all()
        assert [log.team_id for log in logs] == [TEAM_B]
    # Jobs skip the team: no client, not among the active teams.
    assert oauth_app.bot_client(TEAM_B) is None and oauth_app.bot_client(TEAM_A) is not None
    with Session(engine) as s:
        assert active_team_ids(s) == [TEAM_A]
    # Requests from it are no longer authorized and write nothing.
    slack.reset()
    driver.command("/okr", "dept create Ghosts", user=ADMIN)
    assert rows_of(engine, Department, TEAM_B) == 0
    assert slack.calls_to("views.publish") == []


def test_reinstall_within_retention_keeps_data(oauth_url, oauth_app, slack, engine):
    browser = Browser(oauth_url)
    install(browser, slack, team_id=TEAM_B)
    department(engine, "Support", team_id=TEAM_B)
    driver = SlackDriver(oauth_app.bolt, slack, team_id=TEAM_B, http_url=oauth_url)
    driver.event(APP_UNINSTALLED)
    wait_until(lambda: uninstalled_at(engine, TEAM_B) is not None)
    install(browser, slack, team_id=TEAM_B)
    assert uninstalled_at(engine, TEAM_B) is None and tokens_of(engine, TEAM_B) == 2
    assert rows_of(engine, Department, TEAM_B) == 1


def seed_two_teams(engine):
    for team in (TEAM_A, TEAM_B):
        dept = department(engine, "Support", team_id=team)
        objective(engine, dept, team_id=team, owner=ALICE)


def test_retention_job_purges_after_the_period_only(settings, engine):
    seed_two_teams(engine)
    with session_scope(engine) as s:
        from storage.lifecycle import mark_uninstalled

        gone = mark_uninstalled(s, team_id=TEAM_B).uninstalled_at
    days = settings.loyalty_data_retention_days
    assert days == 30
    assert (
        purge_expired_teams(settings=settings, engine=engine, now=gone + timedelta(days=days - 1))
        == []
    )
    assert rows_of(engine, Objective, TEAM_B) == 1
    purged = purge_expired_teams(
        settings=settings, engine=engine, now=gone + timedelta(days=days, seconds=1)
    )
    assert purged == [TEAM_B]
    for model in (Team, Department, Objective, AuditLog):
        assert rows_of(engine, model, TEAM_B) == 0
        assert rows_of(engine, model, TEAM_A) >= 1
    # Running again finds nothing to do.
    assert (
        purge_expired_teams(settings=settings, engine=engine, now=gone + timedelta(days=days + 5))
        == []
    )


def test_retention_days_setting_is_honoured(settings, engine):
    seed_two_teams(engine)
    short = settings.model_copy(update={"loyalty_data_retention_days": 0})
    with session_scope(engine) as s:
        from storage.lifecycle import mark_uninstalled

        gone = mark_uninstalled(s, team_id=TEAM_B).uninstalled_at
    assert purge_expired_teams(settings=short, engine=engine, now=gone) == [TEAM_B]


def run_cli(db_url, *args):
    env = {"DATABASE_URL": db_url, "LOYALTY_ADMINS": "", "SLACK_BOT_TOKEN": ""}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=True)


def test_team_purge_cli_deletes_at_once_and_refuses_installed_team(db_url, engine):
    seed_two_teams(engine)
    refused = run_cli(db_url, "team", "purge", "--team", TEAM_B)
    assert refused.exit_code != 0 and "still has the app installed" in str(refused.exception)
    assert rows_of(engine, Objective, TEAM_B) == 1
    with session_scope(engine) as s:
        from storage.lifecycle import mark_uninstalled

        mark_uninstalled(s, team_id=TEAM_B)
    result = run_cli(db_url, "team", "purge", "--team", TEAM_B)
    assert result.exit_code == 0, result.output
    assert "Purged team T0TEAMB02" in result.output
    assert rows_of(engine, Objective, TEAM_B) == 0 and rows_of(engine, Team, TEAM_B) == 0
    assert rows_of(engine, Objective, TEAM_A) == 1
    missing = run_cli(db_url, "team", "purge", "--team", "T0NOTHERE1")
    assert missing.exit_code != 0 and "No team" in str(missing.exception)


def test_single_workspace_uninstall_marks_team_and_use_reactivates(driver, slack, engine, caplog):
    department(engine, "Support")
    driver.event(APP_UNINSTALLED)
    wait_until(lambda: uninstalled_at(engine, TEAM_A) is not None)
    with Session(engine) as s:
        assert not is_team_active(s, team_id=TEAM_A)
    caplog.set_level("INFO", logger="slackapp.listeners.uninstall")
    driver.event(TOKENS_REVOKED)  # the second event of the pair changes nothing
    # Events are handled after their ack: let this one finish before the "reinstall" below.
    wait_until(lambda: "revoked tokens" in caplog.text)
    # A reinstall through Slack's UI sends no OAuth redirect; the next command proves it.
    driver.command("/okr", "dept list", user=ALICE)
    driver.last_reply_text()
    assert uninstalled_at(engine, TEAM_A) is None
