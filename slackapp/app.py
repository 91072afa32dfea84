"""Bolt app factory. Nothing touches the network at import time."""

from __future__ import annotations

import logging
import os

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.engine import Engine

from slackapp.context import Deps
from slackapp.logging_setup import ContextThreadPoolExecutor
from slackapp.settings import Settings
from storage.db import make_engine

log = logging.getLogger(__name__)

# One module per feature; each exposes register(app).
LISTENER_MODULES = [
    "slackapp.listeners.okr_command",
    "slackapp.listeners.objectives",
    "slackapp.listeners.objective_edit",
    "slackapp.listeners.departments",
    "slackapp.listeners.workspace_setup",
    "slackapp.listeners.checkin",
    "slackapp.listeners.app_home",
    "slackapp.listeners.uninstall",
    "slackapp.listeners.behavior",
    "slackapp.listeners.kudos",
    "slackapp.listeners.praise_shortcut",
    "slackapp.listeners.reaction_kudos",
    "slackapp.listeners.praise_drafts",
    "slackapp.listeners.kpi",
    "slackapp.listeners.reminders",
    "slackapp.listeners.quarterly_review",
    "slackapp.listeners.alignment",
    "slackapp.listeners.commitments",
    "slackapp.listeners.away",
]


BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


def make_web_client(settings: Settings, token: str | None = None) -> WebClient:
    """Web API client honouring SLACK_API_URL, Retry-After on 429, and transient 5xx."""
    client = WebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url)
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    process_before_response: bool = False,
) -> App:
    engine = engine or make_engine(settings.database_url)
    deps = Deps(settings=settings, engine=engine)
    from storage.token_crypto import install_log_redaction

    install_log_redaction()  # no token ever reaches a log line, whoever logs it
    client = make_web_client(settings)
    oauth_settings = None
    if settings.oauth_enabled:
        from slackapp.oauth import build_oauth_settings

        # Multi-workspace: each request gets its workspace's token from the installation store.
        client.token = None
        oauth_settings = build_oauth_settings(settings, engine, client)
    # Bolt switches itself to file-based OAuth stores whenever SLACK_CLIENT_ID and
    # SLACK_CLIENT_SECRET exist in the environment, even empty (`--env-file .env`); our Settings
    # decide the mode, so Bolt must not see them in single-workspace mode.
    hidden = {}
    if oauth_settings is None:
        hidden = {k: os.environ.pop(k) for k in BOLT_OAUTH_ENV if k in os.environ}
    try:
        app = App(
            client=client,
            signing_secret=settings.slack_signing_secret,
            process_before_response=process_before_response,
            oauth_settings=oauth_settings,
            # auth.test at start-up would make a misconfigured token fail here, not on first use.
            token_verification_enabled=bool(client.token),
            # Bolt's default pool size; listeners see the request's log context (logging_setup).
            listener_executor=ContextThreadPoolExecutor(max_workers=5),
        )
    finally:
        os.environ.update(hidden)

    @app.middleware
    def inject_deps(context, next):  # noqa: A002 - Bolt's parameter name
        context["deps"] = deps
        return next()

    from slackapp import event_dedupe, input_guard, logging_setup

    logging_setup.install(app)  # each log line names the request's team, user and command
    event_dedupe.install(app)  # a retried or repeated event is processed once
    input_guard.install(app)  # no NUL or lone surrogate reaches the database

    import importlib

    for name in LISTENER_MODULES:
        importlib.import_module(name).register(app)
    app._loyalty_deps = deps  # for the CLI and tests that need the same engine
    from slackapp.oauth import oauth_routes

    app._loyalty_routes = oauth_routes(app)  # /slack/install, /slack/oauth_redirect (OAuth only)
    return app
