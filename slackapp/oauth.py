"""Multi-workspace install over OAuth (HTTP mode), tokens encrypted at rest.

With SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and LOYALTY_ENCRYPTION_KEY set, `loyalty serve` offers
`GET /slack/install` (the "Add to Slack" page) and `GET /slack/oauth_redirect` (Slack sends the
installer back here). slack-sdk's SQLAlchemy installation and state stores keep their rows in
the app's own database, in tables our migrations create (storage/oauth_tables.py) whose token
columns are Fernet-encrypted. Expiring tokens (token rotation) are refreshed with
`oauth.v2.access grant_type=refresh_token` before they run out.

Every Slack endpoint (authorize page, oauth.v2.access) is derived from SLACK_API_URL so a
GovSlack host, a proxy or the tests' fake gets the whole flow.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy.engine import Engine

from slackapp.settings import ConfigError, Settings
from slackapp.web_client import make_web_client
from storage import lifecycle, oauth_tokens, token_crypto
from storage.db import session_scope
from storage.oauth_tables import slack_bots, slack_installations, slack_oauth_states

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_EXPIRATION_SECONDS = 600
# Refresh a rotating token this long before it expires (Slack's tokens live 12 hours).
ROTATE_MINUTES_BEFORE_EXPIRY = 120
# auth.test answers meaning the token itself is dead (the app is gone from the workspace), as
# opposed to Slack being unreachable or busy, which proves nothing either way.
DEAD_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


def bot_scopes() -> list[str]:
    """The bot scopes the app manifest declares, so the install asks for exactly those."""
    from slackapp.manifest import BOT_SCOPES

    return list(BOT_SCOPES)


def slack_origin(settings: Settings) -> str:
    """https://slack.com for https://slack.com/api/ (the authorize page lives beside the API)."""
    parts = urlsplit(settings.slack_api_url)
    return f"{parts.scheme}://{parts.netloc}"


def require_oauth_config(settings: Settings, *, answers_requests: bool = True) -> None:
    """OAuth mode stores tokens; without an encryption key it must not start. Verifying
    Slack's requests needs the signing secret; CLI commands that only post do not."""
    if not settings.loyalty_encryption_key:
        raise ConfigError(
            "Set LOYALTY_ENCRYPTION_KEY (one or more Fernet keys, comma-separated, newest first) "
            "to install over OAuth: tokens are stored encrypted. Generate one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    if answers_requests and not settings.slack_signing_secret:
        raise ConfigError("Set SLACK_SIGNING_SECRET (Basic Information page of the Slack app).")


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack-sdk's store on our tables: tokens pass through EncryptedText columns.

    Saving an installation also (re)activates the team, so a reinstall within the retention
    period keeps the team's data.
    """

    def __init__(self, client_id: str, engine: Engine):
        # Not super().__init__: that would build a private MetaData with VARCHAR(200) tokens.
        self.metadata = slack_installations.metadata
        self.installations = slack_installations
        self.bots = slack_bots
        self.client_id = client_id
        self.engine = engine
        self._logger = logging.getLogger(__name__)

    def create_tables(self):  # Alembic owns the schema
        raise NotImplementedError("run `loyalty db upgrade` instead")

    def save(self, installation: Installation):
        super().save(installation)
        if installation.team_id:
            lifecycle.mark_installed(
                self.engine, team_id=installation.team_id, name=installation.team_name
            )

    def delete_team(self, team_id: str) -> None:
        """Remove every stored token of a workspace (installations and bots)."""
        oauth_tokens.delete_team_tokens(self.engine, team_id=team_id)

    def delete_user_tokens(self, team_id: str, user_ids: list[str]) -> None:
        oauth_tokens.delete_user_tokens(self.engine, team_id=team_id, user_ids=user_ids)


class DatabaseStateStore(SQLAlchemyOAuthStateStore):
    """slack-sdk's OAuth state store on our migrated table."""

    def __init__(self, engine: Engine, expiration_seconds: int = STATE_EXPIRATION_SECONDS):
        self.expiration_seconds = expiration_seconds
        self.engine = engine
        self.metadata = slack_oauth_states.metadata
        self.oauth_states = slack_oauth_states
        self._logger = logging.getLogger(__name__)

    def create_tables(self):  # Alembic owns the schema
        raise NotImplementedError("run `loyalty db upgrade` instead")


def build_oauth_settings(settings: Settings, engine: Engine, client: WebClient) -> OAuthSettings:
    require_oauth_config(settings)
    token_crypto.configure(settings.loyalty_encryption_key)
    store = EncryptedInstallationStore(settings.slack_client_id, engine)
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=bot_scopes(),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=slack_origin(settings) + "/oauth/v2/authorize",
        installation_store=store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE_EXPIRY,
        state_store=DatabaseStateStore(engine),
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
    )
    # Bolt builds the token rotator with a default client (slack.com); point it at SLACK_API_URL.
    if oauth.authorize.token_rotator is not None:
        oauth.authorize.token_rotator.client = client
    return oauth


def installation_store(app) -> EncryptedInstallationStore | None:
    flow = getattr(app, "oauth_flow", None)
    store = flow.settings.installation_store if flow is not None else None
    return store if isinstance(store, EncryptedInstallationStore) else None


def bot_client(app, settings: Settings, team_id: str) -> WebClient | None:
    """A Web API client for one workspace, for jobs that run outside a Slack request.

    Single-workspace mode: the app's client (SLACK_BOT_TOKEN). OAuth mode: the team's stored bot
    token, refreshed first when it is about to expire; None when the team has no token (it was
    uninstalled), so the caller skips it.
    """
    store = installation_store(app)
    if store is None:
        return app.client
    return _stored_bot_client(settings, store, team_id)


def team_client(settings: Settings, engine: Engine, team_id: str) -> WebClient | None:
    """Same as `bot_client`, without a Bolt app (CLI commands such as `loyalty digest`)."""
    if not settings.oauth_enabled:
        return make_web_client(settings)
    require_oauth_config(settings, answers_requests=False)
    token_crypto.configure(settings.loyalty_encryption_key)
    store = EncryptedInstallationStore(settings.slack_client_id, engine)
    return _stored_bot_client(settings, store, team_id)


def _stored_bot_client(settings: Settings, store, team_id: str) -> WebClient | None:
    # The store matches the enterprise id exactly, as Bolt's request authorization does, so a
    # grid workspace's rows are found only with their org's id.
    enterprise_id = lifecycle.bot_enterprise_id(
        store.engine, client_id=store.client_id, team_id=team_id
    )
    bot: Bot | None = store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
    if bot is None or not bot.bot_token:
        return None
    if bot.bot_refresh_token:
        api = make_web_client(settings)
        api.token = None  # oauth.v2.access authenticates with the client id and secret
        rotator = TokenRotator(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            client=api,
        )
        refreshed = rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY
        )
        if refreshed is not None:
            store.save_bot(refreshed)
            bot = refreshed
    return make_web_client(settings, token=bot.bot_token)


def working_team_id(client: WebClient) -> str | None:
    """The workspace the client's token works in (auth.test), or None when Slack says the
    token is dead. Any other failure (network, 5xx, rate limit) raises: it proves nothing."""
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        if exc.response.get("error") in DEAD_TOKEN_ERRORS:
            return None
        raise
    return answer.get("team_id")


def reactivate_if_token_works(
    engine: Engine, client: WebClient, *, team_id: str | None = None
) -> bool:
    """A token that works proves the app is installed in its workspace (a reinstall no OAuth
    redirect reported, as in single-workspace mode): that team is made active again. With
    `team_id`, only when the token works for that team. Raises when Slack can't be asked."""
    works_for = working_team_id(client)
    if works_for is None or (team_id is not None and works_for != team_id):
        return False
    with session_scope(engine) as session:
        lifecycle.reactivate_if_uninstalled(session, team_id=works_for)
    return True


def reactivate_configured_team(engine: Engine, client: WebClient) -> None:
    """At start in single-workspace mode: the configured token's team is installed."""
    try:
        reactivate_if_token_works(engine, client)
    except Exception:  # noqa: BLE001 - Bolt already checked the token; this is bookkeeping
        log.warning("Could not check at start whether the workspace reinstalled the app")


def oauth_routes(app) -> dict:
    """WSGI handlers for the install paths (served by slackapp/http_server.py)."""
    if app.oauth_flow is None:
        return {}
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    handler = SlackRequestHandler(app)

    def install_only(environ, start_response):
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET")])
            return [b"method not allowed"]
        return handler(environ, start_response)

    return {INSTALL_PATH: install_only, REDIRECT_PATH: install_only}
