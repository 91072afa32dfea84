"""A reinstall is noticed without an OAuth redirect (single-workspace mode): the team is active
again at start (auth.test with the configured token names it), and the retention purge asks
auth.test (the team's own token) before deleting — a team whose token works is kept and active
again; one whose token Slack refuses is purged; when Slack can't be asked, nothing is deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

import jobs.scheduler as scheduler
from jobs.data_retention import purge_expired_teams
from slackapp.app import create_app
from storage.db import session_scope
from storage.lifecycle import mark_uninstalled, reactivate_if_uninstalled
from storage.models import AuditLog, Objective, Team, utcnow
from tests.conftest import ALICE
from tests.support.factories import department, objective
from tests.support.oauth_helpers import TEAM_B

TEAM_A = "T0TEAMA01"  # the fake Slack's team for the configured token


def seed(engine, team_id: str) -> None:
    objective(engine, department(engine, "Support", team_id=team_id), team_id=team_id, owner=ALICE)


def uninstall(engine, team_id: str, *, days_ago: int = 0):
    with session_scope(engine) as s:
        mark_uninstalled(s, team_id=team_id, now=utcnow() - timedelta(days=days_ago))


def uninstalled_at(engine, team_id: str):
    with Session(engine) as s:
        team = s.get(Team, team_id)
        return team.uninstalled_at if team else "purged"


def objectives(engine, team_id: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count()).select_from(Objective).where(Objective.team_id == team_id)
        ).one()


def reinstall_audits(engine, team_id: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.team_id == team_id, AuditLog.action == "team.reinstall")
        ).one()


def test_start_reactivates_the_configured_tokens_team(settings, engine, slack):
    seed(engine, TEAM_A)
    seed(engine, TEAM_B)
    uninstall(engine, TEAM_A, days_ago=3)
    uninstall(engine, TEAM_B, days_ago=3)
    for _ in range(2):  # e.g. `loyalty serve` workers starting one after another
        app = create_app(settings, engine)
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)
    assert uninstalled_at(engine, TEAM_A) is None
    assert reinstall_audits(engine, TEAM_A) == 1  # once, however many processes start
    assert uninstalled_at(engine, TEAM_B) is not None  # not the token's team: untouched


def test_start_with_a_revoked_token_changes_nothing(settings, engine, slack):
    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A)
    slack.revoked_tokens.add(settings.slack_bot_token)
    with pytest.raises(Exception, match="token_revoked"):
        create_app(settings, engine)  # Bolt refuses to start with it, as before
    assert uninstalled_at(engine, TEAM_A) is not None


def test_retention_purge_keeps_a_team_whose_token_works_again(settings, engine, slack):
    seed(engine, TEAM_A)
    seed(engine, TEAM_B)
    uninstall(engine, TEAM_A, days_ago=40)  # reinstalled since; nobody used a command
    uninstall(engine, TEAM_B, days_ago=40)  # really gone: the token names another team
    purged = purge_expired_teams(settings=settings, engine=engine, now=utcnow())
    assert purged == [TEAM_B]
    assert uninstalled_at(engine, TEAM_A) is None and objectives(engine, TEAM_A) == 1
    assert reinstall_audits(engine, TEAM_A) == 1
    assert uninstalled_at(engine, TEAM_B) == "purged" and objectives(engine, TEAM_B) == 0
    assert {c.args.get("token") for c in slack.calls_to("auth.test")} == {settings.slack_bot_token}


def test_retention_purge_deletes_when_slack_refuses_the_token(settings, engine, slack):
    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A, days_ago=40)
    slack.revoked_tokens.add(settings.slack_bot_token)
    assert purge_expired_teams(settings=settings, engine=engine, now=utcnow()) == [TEAM_A]
    assert objectives(engine, TEAM_A) == 0


def test_retention_purge_deletes_nothing_while_slack_cannot_answer(settings, engine, slack):
    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A, days_ago=40)
    slack.http_error("auth.test", status=503, times=10)
    assert purge_expired_teams(settings=settings, engine=engine, now=utcnow()) == []
    assert objectives(engine, TEAM_A) == 1 and uninstalled_at(engine, TEAM_A) is not None
    # The next day Slack answers: the token works, so the team is active again.
    slack.faults.clear()
    assert purge_expired_teams(settings=settings, engine=engine, now=utcnow()) == []
    assert uninstalled_at(engine, TEAM_A) is None


def test_scheduled_daily_job_rechecks_with_each_teams_client(app, settings, engine, monkeypatch):
    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A, days_ago=40)
    rt = scheduler.Runtime(settings=settings, engine=engine, app=app)
    monkeypatch.setattr(scheduler, "_runtime", rt)
    scheduler.daily()
    assert uninstalled_at(engine, TEAM_A) is None and objectives(engine, TEAM_A) == 1


def test_daily_job_notices_a_reinstall_before_the_period_ends(settings, engine, slack):
    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A, days_ago=2)  # reinstalled since, while this process ran on
    assert purge_expired_teams(settings=settings, engine=engine, now=utcnow()) == []
    assert uninstalled_at(engine, TEAM_A) is None and reinstall_audits(engine, TEAM_A) == 1


def test_reactivation_is_recorded_once(engine):
    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A)
    results = []
    for _ in range(2):
        with session_scope(engine) as s:
            results.append(reactivate_if_uninstalled(s, team_id=TEAM_A))
    assert results == [True, False] and reinstall_audits(engine, TEAM_A) == 1
    with session_scope(engine) as s:  # an unknown team is nothing to reactivate
        assert reactivate_if_uninstalled(s, team_id="T0NOTHERE1") is False


def test_a_cli_command_that_reaches_slack_reactivates_the_team(db_url, engine, slack):
    from tests.cli.test_settings_cli import run_cli

    seed(engine, TEAM_A)
    uninstall(engine, TEAM_A, days_ago=5)
    env = {"DATABASE_URL": db_url, "SLACK_API_URL": slack.api_url,
           "SLACK_BOT_TOKEN": "xoxb-test-token"}  # fmt: skip
    sent = run_cli("digest", "--team", TEAM_A, env=env)
    assert sent.returncode == 0, sent.stderr
    assert uninstalled_at(engine, TEAM_A) is None and reinstall_audits(engine, TEAM_A) == 1
