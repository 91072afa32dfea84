"""Logging: LOG_LEVEL and LOG_FORMAT (text | json), the Slack request on each line,
and libraries' routine chatter only at DEBUG.

Each line logged while a Slack request is handled names its team, user and command / action /
view / event: the app's dispatch puts them in a context variable, and the listener executor runs
each listener in a copy of the dispatching thread's context, so lines logged from the listener's
worker thread carry them too."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "loyalty_slack_request", default=None
)

# Libraries' routine INFO lines: migration plugin set-up and "Running upgrade …" (alembic), a
# line per scheduler tick (apscheduler). Shown when LOG_LEVEL=DEBUG.
CHATTY_LOGGERS = ("alembic", "apscheduler")
# Warnings that say nothing an admin can act on (Bolt, at every start with a client given).
DEMOTED_MESSAGES = ("`token` will be unused",)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(slack_suffix)s"
_HANDLER_NAME = "loyalty"


class SlackRequestFilter(logging.Filter):
    """Adds the current Slack request (team, user, what) to every record; demotes chatter."""

    def __init__(self, root_level: int):
        super().__init__()
        self.root_level = root_level

    def filter(self, record: logging.LogRecord) -> bool:
        request = _request.get()
        record.slack = request or {}
        record.slack_suffix = (
            " [" + " ".join(f"{k}={v}" for k, v in request.items()) + "]" if request else ""
        )
        if record.levelno > logging.DEBUG and any(
            text in str(record.msg) for text in DEMOTED_MESSAGES
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.root_level <= logging.DEBUG
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "slack", {}),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "INFO", fmt: str = "text", *, stream=None) -> None:
    """(Re)configure the root logger: one handler on stderr, in `fmt`, at `level`."""
    root = logging.getLogger()
    numeric = logging.getLevelName(level.upper())
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(SlackRequestFilter(numeric))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else "WARNING")


def describe(body: dict) -> dict:
    """team, user and the command / action / view / event / shortcut of a Slack request body."""
    out: dict = {}
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    event = body.get("event") or {}
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user")
    if team:
        out["team"] = team
    if user and isinstance(user, str):
        out["user"] = user
    if body.get("command"):
        out["command"] = body["command"]
    elif body.get("actions"):
        out["action"] = body["actions"][0].get("action_id")
    elif body.get("view") and body.get("type", "").startswith("view_"):
        out["view"] = body["view"].get("callback_id")
    elif body.get("callback_id"):
        out["shortcut"] = body["callback_id"]
    elif event.get("type"):
        out["event"] = event["type"]
    return out


def install(app) -> None:
    """Name the request in every log line logged while the app handles it.

    Bolt runs middleware one after the other (its `next()` only marks the request to go on), so
    a middleware cannot wrap the handling; wrapping the app's dispatch does, for every transport
    (HTTP, Socket Mode) and for the listener threads it starts."""
    dispatch = app.dispatch

    def dispatch_with_log_context(req):
        token = _request.set(describe(req.body if isinstance(req.body, dict) else {}))
        try:
            return dispatch(req)
        finally:
            _request.reset(token)

    app.dispatch = dispatch_with_log_context


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """Runs each task in a copy of the submitting thread's context variables."""

    def submit(self, fn, /, *args, **kwargs):
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)
