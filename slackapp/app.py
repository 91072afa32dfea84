"""Bolt app factory. Nothing touches the network at import time."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.engine import Engine

from slackapp.context import Deps
from slackapp.settings import Settings
from storage.db import make_engine

log = logging.getLogger(__name__)

# One module per feature; each exposes register(app).
LISTENER_MODULES = [
    "slackapp.listeners.okr_command",
    "slackapp.listeners.objectives",
    "slackapp.listeners.departments",
    "slackapp.listeners.workspace_setup",
    "slackapp.listeners.checkin",
    "slackapp.listeners.app_home",
]


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
    app = App(
        client=make_web_client(settings),
        signing_secret=settings.slack_signing_secret,
        process_before_response=process_before_response,
        # auth.test at start-up would make a misconfigured token fail here, not on first use.
        token_verification_enabled=bool(settings.slack_bot_token),
    )

    @app.middleware
    def inject_deps(context, next):  # noqa: A002 - Bolt's parameter name
        context["deps"] = deps
        return next()

    import importlib

    for name in LISTENER_MODULES:
        importlib.import_module(name).register(app)
    app._loyalty_deps = deps  # for the CLI and tests that need the same engine
    return app
