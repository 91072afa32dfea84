"""Multi-workspace install over OAuth against the fake Slack, through the real HTTP server:
state verified, tokens encrypted at rest (raw rows hold no token), token rotation, key rotation,
no token in logs or URLs."""

from __future__ import annotations

import logging
import os
import time
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session

from slackapp.app import create_app
from slackapp.oauth import bot_scopes, installation_store, team_client
from slackapp.settings import ConfigError, drop_blank_oauth_env
from storage import token_crypto
from storage.models import Team
from storage.oauth_tables import reencrypt_tokens
from tests.support.oauth_helpers import (
    KEY_NEW,
    KEY_OLD,
    TEAM_B,
    Browser,
    install,
    issued,
    oauth_settings,
    raw_rows,
    seed_installation,
    serve_in_thread,
    served_oauth_app,
    start_install,
)
from tests.support.slack_driver import SlackDriver


def test_install_flow_stores_encrypted_tokens_and_serves_the_new_team(
    oauth_url, oauth_app, slack, engine, caplog
):
    caplog.set_level(logging.DEBUG)
    browser = Browser(oauth_url)
    authorize_url, query = start_install(browser)
    # The authorize page is on SLACK_API_URL's host, asking for the manifest's bot scopes.
    assert authorize_url.startswith(slack.url + "/oauth/v2/authorize")
    assert query["client_id"] == [slack.oauth_client[0]]
    assert query["scope"][0].split(",") == bot_scopes()
    page = install(browser, slack)
    (token,) = issued(slack)
    assert token not in page
    access = slack.calls_to("oauth.v2.access")[-1]
    assert access.args["_client_auth"] == ":".join(slack.oauth_client)

    # At rest: ciphertext only, in every row of every credential table.
    for table in ("slack_installations", "slack_bots"):
        rows = raw_rows(engine, table)
        assert rows and all(token not in row and "xoxb-" not in row for row in rows)
        assert all("gAAAAA" in row for row in rows)
    with Session(engine) as s:
        team = s.get(Team, TEAM_B)
        assert team is not None and team.uninstalled_at is None and team.name == "Example"

    # A request from the new workspace runs with that workspace's token, sent in a header.
    driver = SlackDriver(oauth_app.bolt, slack, team_id=TEAM_B, http_url=oauth_url)
    slack.reset()
    driver.home_opened("U0ALICE01")
    publish = slack.wait_for("views.publish")[0]
    assert publish.headers["authorization"] == f"Bearer {token}"
    # Never in a URL, never in a log line.
    assert token not in caplog.text and "xoxb-" not in caplog.text
    assert all(token not in c.headers.get("referer", "") for c in slack.calls)


def test_state_is_verified(oauth_url, slack, engine):
    browser = Browser(oauth_url)
    _, query = start_install(browser)
    slack.add_oauth_code("code-forged", team_id=TEAM_B)
    # Forged state, missing cookie, missing state: refused, nothing stored, code unused.
    status, _, _ = browser.get("/slack/oauth_redirect?code=code-forged&state=not-the-state")
    assert status in (400, 401)
    status, _, _ = browser.get(
        "/slack/oauth_redirect?" + urlencode({"code": "code-forged", "state": query["state"][0]}),
        cookies=False,
    )
    assert status == 400
    status, _, _ = browser.get("/slack/oauth_redirect?code=code-forged")
    assert status in (400, 401)
    assert raw_rows(engine, "slack_installations") == []
    assert "code-forged" in slack.oauth_codes
    # A failed attempt also clears the browser's state cookie; a fresh install works once only.
    _, query = start_install(browser)
    ok = urlencode({"code": "code-forged", "state": query["state"][0]})
    assert browser.get("/slack/oauth_redirect?" + ok)[0] == 200
    slack.add_oauth_code("code-again", team_id=TEAM_B)
    again = urlencode({"code": "code-again", "state": query["state"][0]})
    assert browser.get("/slack/oauth_redirect?" + again)[0] in (400, 401)
    assert len(raw_rows(engine, "slack_installations")) == 1


def test_expiring_token_is_rotated_with_refresh_token(oauth_url, oauth_app, slack, engine):
    browser = Browser(oauth_url)
    # Expires within the rotation window: the next request refreshes it first.
    install(browser, slack, rotating=True, expires_in=600)
    (first,) = issued(slack)
    assert first.startswith("xoxe.xoxb-")
    driver = SlackDriver(oauth_app.bolt, slack, team_id=TEAM_B, http_url=oauth_url)
    slack.reset()
    driver.home_opened("U0BOB0001")
    refresh = slack.wait_for("oauth.v2.access")[0]
    assert refresh.args["grant_type"] == "refresh_token"
    assert refresh.args["refresh_token"].startswith("xoxe-1-")
    publish = slack.wait_for("views.publish")[0]
    newest = issued(slack)[-1]
    assert newest != first and publish.headers["authorization"] == f"Bearer {newest}"
    store = installation_store(oauth_app.bolt)
    bot = store.find_bot(enterprise_id=None, team_id=TEAM_B)
    assert bot.bot_token == newest and bot.bot_token_expires_at > time.time() + 3600
    for row in raw_rows(engine, "slack_bots") + raw_rows(engine, "slack_installations"):
        assert "xoxe" not in row and "xoxb" not in row
    # Jobs get a client for the team with the current token.
    assert oauth_app.bot_client(TEAM_B).token == newest
    assert oauth_app.bot_client("T0NOTHERE1") is None
    # CLI commands (no Bolt app) get the same stored token.
    settings = oauth_app.deps.settings
    assert team_client(settings, engine, TEAM_B).token == newest
    assert team_client(settings, engine, "T0NOTHERE1") is None


def test_encryption_key_rotation(db_url, engine, slack):
    with served_oauth_app(db_url, engine, slack) as (_, url):  # encrypted with KEY_OLD
        install(Browser(url), slack)
    (token,) = issued(slack)
    before = raw_rows(engine, "slack_bots")
    # New key first, old one still listed: old ciphertext reads, rewrite moves it to the new key.
    token_crypto.configure(f"{KEY_NEW},{KEY_OLD}")
    assert reencrypt_tokens(engine) >= 2
    assert raw_rows(engine, "slack_bots") != before
    token_crypto.configure(KEY_NEW)  # the old key retired
    app2 = create_app(oauth_settings(db_url, slack, keys=KEY_NEW), engine)
    bot = installation_store(app2.bolt).find_bot(enterprise_id=None, team_id=TEAM_B)
    assert bot.bot_token == token
    # A database read with a key that never encrypted it fails loudly, never returns garbage.
    token_crypto.configure(Fernet.generate_key().decode())
    with pytest.raises(token_crypto.TokenKeyError):
        installation_store(app2.bolt).find_bot(enterprise_id=None, team_id=TEAM_B)


def test_oauth_needs_an_encryption_key(db_url, engine, slack):
    settings = oauth_settings(db_url, slack, keys=None)
    with pytest.raises(ConfigError, match="LOYALTY_ENCRYPTION_KEY"):
        create_app(settings, engine)
    with pytest.raises(ConfigError, match="LOYALTY_ENCRYPTION_KEY"):
        from slackapp.settings import load_settings

        load_settings(_env_file=None, loyalty_encryption_key="not-a-fernet-key")


def test_single_workspace_mode_has_no_install_routes(app, slack):
    url, srv = serve_in_thread(app)
    try:
        status, _, _ = Browser(url).get("/slack/install")
        assert status == 404
    finally:
        srv.close()
    assert app.bolt.oauth_flow is None and app.bolt.client.token == "xoxb-test-token"


def test_redaction_of_tokens_in_log_lines(caplog):
    token_crypto.install_log_redaction()
    caplog.set_level(logging.INFO)
    logging.getLogger("anything").info(
        "got %s and %s", "xoxb-123-456-abcDEF", "xoxe.xoxb-1-MIIabc and xoxe-1-refresh"
    )
    assert "xox" not in caplog.text and caplog.text.count("[redacted]") == 3


def test_empty_client_env_vars_do_not_switch_bolt_to_oauth(settings, engine, monkeypatch):
    # `docker run --env-file .env` exports the empty SLACK_CLIENT_ID/SECRET lines of
    # .env.example; Bolt alone would then turn on its file-based OAuth stores.
    # The `loyalty` command drops them before anything reads its environment.
    monkeypatch.setenv("SLACK_CLIENT_ID", "")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", " ")
    drop_blank_oauth_env()
    assert "SLACK_CLIENT_ID" not in os.environ and "SLACK_CLIENT_SECRET" not in os.environ
    app = create_app(settings, engine)
    assert app.bolt.oauth_flow is None and app.bolt.client.token == "xoxb-test-token"


def test_create_app_never_edits_the_environment(settings, engine, monkeypatch):
    # Left in place, they would turn Bolt's file-based OAuth on: create_app refuses, clearly,
    # and leaves the process environment as it found it.
    monkeypatch.setenv("SLACK_CLIENT_ID", "")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "")
    before = dict(os.environ)
    with pytest.raises(ConfigError, match="SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"):
        create_app(settings, engine)
    assert dict(os.environ) == before


GRID = "E0GRID0001"


def test_enterprise_grid_installation_is_found_for_scheduled_work_as_for_requests(
    oauth_app, engine, slack
):
    """A workspace of an Enterprise Grid org installs with an enterprise id on its rows; jobs
    and CLI commands, which know only the team id, must find the token Bolt uses for its
    requests."""
    from slack_bolt.context import BoltContext

    token = seed_installation(engine, team_id=TEAM_B, enterprise_id=GRID)
    # What Bolt authorizes a request from that workspace with (its payload names both ids).
    authorize = oauth_app.bolt.oauth_flow.settings.authorize
    context = BoltContext(client=oauth_app.bolt.client)
    result = authorize(context=context, enterprise_id=GRID, team_id=TEAM_B, user_id=None)
    assert result is not None and result.bot_token == token
    # Scheduled work and CLI commands get the same token.
    assert oauth_app.bot_client(TEAM_B).token == token
    assert team_client(oauth_app.deps.settings, engine, TEAM_B).token == token
    # Another grid workspace's rows are not mistaken for it.
    other = seed_installation(engine, team_id="T0GRIDC03", enterprise_id=GRID)
    assert oauth_app.bot_client("T0GRIDC03").token == other != token
    assert oauth_app.bot_client(TEAM_B).token == token
    assert oauth_app.bot_client("T0NOTHERE1") is None
