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
