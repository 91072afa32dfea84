"""One way for benches to build and sign Slack requests: the form body of a slash command or
of a button press, signed with the test signing secret (tests/support/slack_driver.py), sent
either to `App.dispatch` or over HTTP to a running server."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlencode

from tests.support.slack_driver import SIGNING_SECRET, sign, signed_request

__all__ = ["SIGNING_SECRET", "button_body", "post_signed", "signed_request", "slash_body"]


def slash_body(
    *, team_id: str, user: str, command: str, text: str, response_url: str, i: int
) -> str:
    """The form body Slack posts for `command text` typed by `user` in #general."""
    return urlencode(
        {
            "token": "x",
            "team_id": team_id,
            "team_domain": "bench",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0BENCH",
            "response_url": response_url,
            "trigger_id": f"{i}.{i}.t",
        }
    )


def button_body(
    *, team_id: str, user: str, action_id: str, value: str, response_url: str, i: int
) -> str:
    """The form body Slack posts when `user` presses the button `action_id` on a message."""
    payload = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "bench"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": "A0BENCH",
        "token": "x",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0GENERAL"},
        "trigger_id": f"{i}.{i}.t",
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": "1.1",
            }
        ],  # fmt: skip
    }
    return urlencode({"payload": json.dumps(payload)})


def post_signed(port: int, body: str, path: str = "/slack/events") -> tuple[int, str]:
    """POST the signed form `body` to a server on loopback: (HTTP status, response body).
    Connection errors are raised to the caller, which decides what a cut connection means."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        conn.request("POST", path, body=body.encode(), headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()
