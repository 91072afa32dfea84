"""Make every string of an incoming payload storable before any listener sees it.

PostgreSQL text cannot hold NUL (U+0000) and UTF-8 cannot encode a lone surrogate (a JSON body
may carry `"\\ud800"`); either would turn a user's note into a database error after the ack, so
they are removed (NUL) or replaced by U+FFFD. Every other character — other control
characters, emoji, right-to-left text — passes through untouched.
"""

from __future__ import annotations

import re

from slackapp.middleware import RequestMiddleware

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value


def clean(value):
    """Clean strings in place inside dicts and lists (listeners hold references to them)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = clean(item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = clean(item)
    return value


def guard_input(req, next):  # noqa: A002 - Bolt's parameter name
    if isinstance(req.body, dict):
        clean(req.body)
    return next()


def install(app) -> None:
    app.use(RequestMiddleware(guard_input))


# ---- payload shape (HTTP mode) ----------------------------------------------------------------
def _dict(value) -> bool:
    return isinstance(value, dict)


def malformed_reason(raw: bytes, content_type: str) -> str | None:
    """Why a request body cannot be a Slack payload, or None when its shape is plausible.

    Bolt assumes Slack's shapes (an `event` object, a `view` with a `state`…) and answers 500
    when they are missing; a signed but malformed body deserves a 400 instead. Only the fields
    Bolt and our listeners rely on are checked.
    """
    import json
    from urllib.parse import parse_qs

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if "json" in (content_type or "").lower():
        try:
            body = json.loads(text)
        except ValueError:
            return "body is not JSON"
        if not _dict(body) or not isinstance(body.get("type"), str):
            return "JSON body is not an object with a type"
        if body["type"] == "event_callback" and not (
            _dict(body.get("event")) and isinstance(body["event"].get("type"), str)
        ):
            return "event_callback without an event"
        return None
    if not (text.startswith("payload=") or "&payload=" in text):
        return None  # slash commands and the like: Bolt matches them or answers 404
    form = parse_qs(text, keep_blank_values=True)
    if "payload" not in form:
        return None
    try:
        payload = json.loads(form["payload"][0])
    except ValueError:
        return "payload is not JSON"
    if not _dict(payload) or not isinstance(payload.get("type"), str):
        return "payload is not an object with a type"
    for key in ("team", "user", "view", "container", "channel", "message"):
        if key in payload and payload[key] is not None and not _dict(payload[key]):
            return f"payload.{key} is not an object"
    kind = payload["type"]
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not _dict(view) or not isinstance(view.get("callback_id"), str):
            return f"{kind} without a view"
        if kind == "view_submission" and not (
            _dict(view.get("state")) and _dict(view["state"].get("values"))
        ):
            return "view_submission without state values"
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(_dict(a) for a in actions):
            return "block_actions without actions"
    return None
