"""Bolt app factory. Nothing touches the network at import time."""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from slackapp import command_answer, event_dedupe, input_guard, logging_setup
from slackapp.context import Deps
from slackapp.listeners import HOME_SECTIONS, register_listeners
from slackapp.logging_setup import ContextThreadPoolExecutor
from slackapp.middleware import RequestMiddleware
from slackapp.oauth import (
    bot_client,
    build_oauth_settings,
    oauth_routes,
    reactivate_configured_team,
)
from slackapp.roles import install_caller
from slackapp.settings import BOLT_OAUTH_ENV, ConfigError, Settings
from slackapp.web_client import make_web_client
from storage.db import make_engine
from storage.token_crypto import install_log_redaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackApp:
    """What `create_app` builds: the Bolt app, what its listeners share, and extra HTTP routes."""

    bolt: App
    deps: Deps
    routes: dict = field(default_factory=dict)  # /slack/install, /slack/oauth_redirect (OAuth)

    def bot_client(self, team_id: str) -> WebClient | None:
        """The Web API client for one workspace outside a request (None: no installation)."""
        return bot_client(self.bolt, self.deps.settings, team_id)


def bolt_would_switch_to_oauth(settings: Settings) -> bool:
    """Bolt reads SLACK_CLIENT_ID/SECRET from the environment when it gets no OAuth settings;
    our Settings decide the mode, so in single-workspace mode they must not both be there."""
    return not settings.oauth_enabled and all(os.environ.get(k) is not None for k in BOLT_OAUTH_ENV)


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    process_before_response: bool = False,
) -> SlackApp:
    engine = engine or make_engine(settings.database_url)
    deps = Deps(settings=settings, engine=engine, home_sections=HOME_SECTIONS)
    install_log_redaction()  # no token ever reaches a log line, whoever logs it
    client = make_web_client(settings)
    oauth_settings = None
    if settings.oauth_enabled:
        # Multi-workspace: each request gets its workspace's token from the installation store.
        client.token = None
        oauth_settings = build_oauth_settings(settings, engine, client)
    elif bolt_would_switch_to_oauth(settings):
        raise ConfigError(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are in the environment without configuring "
            "OAuth (one is empty): set both to install over OAuth, or unset them for a single "
            "workspace (`loyalty` drops empty ones itself)."
        )
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

    # First: a command's deadline runs from its arrival, whatever the next middleware waits for.
    command_answer.install(app, deps.ack_deadlines)

    def inject_deps(req, next):  # noqa: A002 - Bolt's parameter name
        # Any listener after this one takes `deps` as an argument: Bolt passes context entries
        # to the parameters named after them.
        req.context["deps"] = deps
        return next()

    app.use(RequestMiddleware(inject_deps))

    logging_setup.install(app)  # each log line names the request's team, user and command
    event_dedupe.install(app)  # a retried or repeated event is processed once
    input_guard.install(app)  # no NUL or lone surrogate reaches the database
    install_caller(app)  # who is asking, with their role, once per request
    register_listeners(app)
    if not settings.oauth_enabled and client.token:
        # A reinstall sends no OAuth redirect in single-workspace mode: a working token at
        # start says its workspace has the app (again).
        reactivate_configured_team(engine, client)
    return SlackApp(bolt=app, deps=deps, routes=oauth_routes(app))


def freeze_startup_heap() -> None:
    """Once the app is built, before serving: everything alive now (modules, the app, its
    settings) lives as long as the process, so it leaves the garbage collector's generations
    (CPython's gc.freeze, meant for servers). Collections then scan only what requests
    allocate: a full collection costs a millisecond, not the 50–100 ms that otherwise lands on
    an unlucky request."""
    gc.collect()
    gc.freeze()
