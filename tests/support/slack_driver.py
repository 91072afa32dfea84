"""Drive the real Bolt App with signed requests, the way Slack would: realistic payloads,
signatures from slack_sdk's SignatureVerifier, through App.dispatch or over HTTP."""

from __future__ import annotations

import functools
import json
import time
import urllib.request
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

import yaml
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
_ids = count(1)


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"x-slack-request-timestamp": ts, "x-slack-signature": signature}


def signed_request(
    body: str, content_type: str = "application/x-www-form-urlencoded"
) -> BoltRequest:
    """A signed BoltRequest for App.dispatch (benches time dispatch without HTTP)."""
    headers = {"content-type": [content_type]}
    headers.update({k: [v] for k, v in sign(body).items()})
    return BoltRequest(body=body, headers=headers)


@functools.cache
def subscribed_events() -> frozenset[str]:
    """The bot events manifest.yml subscribes to: the only ones Slack delivers."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    return frozenset(manifest["settings"]["event_subscriptions"]["bot_events"])


class SlackDriver:
    """Builds realistic payloads and sends them signed to the app under test."""

    def __init__(
        self, app: App, fake: FakeSlack, *, team_id: str | None = None, http_url: str | None = None
    ):
        self.app = app
        self.fake = fake
        self.team_id = team_id or fake.team_id
        self.http_url = http_url  # when set, requests go over HTTP to the running server

    # ---- transport -------------------------------------------------------------------------
    def send(self, body: str, content_type: str, headers: dict | None = None) -> BoltResponse:
        hdrs = {"content-type": content_type, **sign(body), **(headers or {})}
        if self.http_url:
            req = urllib.request.Request(
                self.http_url + "/slack/events", data=body.encode(), headers=hdrs, method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return BoltResponse(
                        status=resp.status, body=resp.read().decode(), headers=dict(resp.headers)
                    )
            except urllib.error.HTTPError as err:
                return BoltResponse(status=err.code, body=err.read().decode())
        return self.app.dispatch(BoltRequest(body=body, headers={k: [v] for k, v in hdrs.items()}))

    def send_form(self, fields: dict) -> BoltResponse:
        return self.send(urlencode(fields), "application/x-www-form-urlencoded")

    def send_payload(self, payload: dict) -> BoltResponse:
        return self.send_form({"payload": json.dumps(payload)})

    # ---- payloads --------------------------------------------------------------------------
    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U0ALICE01",
        channel: str = "C0GENERAL",
        response_name: str | None = None,
    ) -> BoltResponse:
        n = next(_ids)
        name = response_name or f"cmd{n}"
        resp = self.send_form(
            {
                "token": "legacy-verification-token",
                "team_id": self.team_id,
                "team_domain": "example",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0LOYALTY1",
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(name),
                "trigger_id": f"{n}.{n}.trigger{n:04d}",
            }
        )
        reply = command_reply(resp)
        if reply is not None:
            self.fake.command_reply(name, reply)
        return resp

    def _user(self, user: str) -> dict:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id}

    def view_submission(
        self,
        callback_id: str,
        values: dict,
        *,
        user: str = "U0ALICE01",
        private_metadata: str = "",
        view_id: str | None = None,
    ) -> BoltResponse:
        n = next(_ids)
        # Slack gives every opened modal its own id; a resubmitted form repeats it.
        view_id = view_id or f"V{n:08d}"
        return self.send_payload(
            {
                "type": "view_submission",
                "team": {"id": self.team_id, "domain": "example"},
                "user": self._user(user),
                "api_app_id": "A0LOYALTY1",
                "token": "legacy-verification-token",
                "trigger_id": f"{n}.{n}.trigger{n:04d}",
                "view": {
                    "id": view_id,
                    "team_id": self.team_id,
                    "type": "modal",
                    "callback_id": callback_id,
                    "private_metadata": private_metadata,
                    "state": {"values": values},
                    "hash": f"{n}.hash",
                    "title": {"type": "plain_text", "text": "Modal"},
                    "app_id": "A0LOYALTY1",
                    "bot_id": "B0BOT0001",
                },
                "response_urls": [],
                "is_enterprise_install": False,
            }
        )

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = "U0ALICE01",
        container: dict | None = None,
        channel: str | None = None,
        message: dict | None = None,
        extra_action: dict | None = None,
        view: dict | None = None,
    ) -> BoltResponse:
        n = next(_ids)
        action = {
            "type": "button",
            "action_id": action_id,
            "block_id": "b1",
            "text": {"type": "plain_text", "text": "Button"},
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        action.update(extra_action or {})
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "example"},
            "user": self._user(user),
            "api_app_id": "A0LOYALTY1",
            "token": "legacy-verification-token",
            "container": container or {"type": "view", "view_id": "V0HOME001"},
            "trigger_id": f"{n}.{n}.trigger{n:04d}",
            "response_url": self.fake.response_url(f"action{n}"),
            "actions": [action],
            "is_enterprise_install": False,
        }
        if channel:
            payload["channel"] = {"id": channel, "name": "channel"}
        if message:
            payload["message"] = message
        if view:
            payload["view"] = view
        return self.send_payload(payload)

    def message_shortcut(
        self, callback_id: str, message: dict, *, channel: str, user: str = "U0ALICE01"
    ) -> BoltResponse:
        n = next(_ids)
        return self.send_payload(
            {
                "type": "message_action",
                "token": "legacy-verification-token",
                "action_ts": f"{time.time():.6f}",
                "team": {"id": self.team_id, "domain": "example"},
                "user": self._user(user),
                "channel": {"id": channel, "name": "channel"},
                "callback_id": callback_id,
                "trigger_id": f"{n}.{n}.trigger{n:04d}",
                "message_ts": message.get("ts"),
                "message": message,
                "response_url": self.fake.response_url(f"shortcut{n}"),
            }
        )

    def block_suggestion(
        self, action_id: str, value: str, *, user: str = "U0ALICE01"
    ) -> BoltResponse:
        return self.send_payload(
            {
                "type": "block_suggestion",
                "user": self._user(user),
                "team": {"id": self.team_id, "domain": "example"},
                "api_app_id": "A0LOYALTY1",
                "token": "legacy-verification-token",
                "action_id": action_id,
                "block_id": "department",
                "value": value,
                "container": {"type": "view", "view_id": "V0000001"},
            }
        )

    def event(
        self,
        event: dict,
        *,
        event_id: str | None = None,
        headers: dict | None = None,
        authorized_user: str = "U0BOT0001",
    ) -> BoltResponse:
        if event["type"] not in subscribed_events():
            raise AssertionError(
                f"Slack would not deliver a {event['type']!r} event: the app manifest "
                "(manifest.yml, `loyalty manifest`) does not subscribe to it"
            )
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": self.team_id,
                "api_app_id": "A0LOYALTY1",
                "event": {"event_ts": f"{time.time():.6f}", **event},
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": self.team_id,
                        "user_id": authorized_user,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
            }
        )
        return self.send(body, "application/json", headers)

    def home_opened(self, user: str = "U0ALICE01") -> BoltResponse:
        return self.event(
            {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"}
        )

    # ---- waiting on the app's side effects -----------------------------------------------------
    def replies(self, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Wait for `count` response_url posts; returns their JSON bodies."""
        return [c.args for c in self.fake.wait_for("response_url", count, timeout)]

    def last_reply_text(self, timeout: float = 10.0) -> str:
        reply = self.fake.wait_for("response_url", 1, timeout)[-1].args
        return json.dumps(reply.get("blocks") or reply.get("text"), ensure_ascii=False)


def command_reply(resp: BoltResponse) -> dict | None:
    """The message a slash command's acknowledgement carries (Slack shows it as the reply), or
    None for an empty acknowledgement."""
    if resp.status != 200 or not resp.body:
        return None
    try:
        body = json.loads(resp.body)
    except ValueError:
        return {"text": resp.body}  # a plain-text acknowledgement is shown as it is
    return body if isinstance(body, dict) and ("text" in body or "blocks" in body) else None


def state(**fields) -> dict:
    """Modal state values: plain strings for text inputs, ('option', v) for selects, etc."""
    out = {}
    for block_id, value in fields.items():
        if isinstance(value, tuple):
            kind, v = value
            if kind == "option":
                el = {
                    "type": "static_select",
                    "selected_option": None
                    if v is None
                    else {"value": v, "text": {"type": "plain_text", "text": str(v)}},
                }
            elif kind == "user":
                el = {"type": "users_select", "selected_user": v}
            elif kind == "users":
                el = {"type": "multi_users_select", "selected_users": v}
            elif kind == "date":
                el = {"type": "datepicker", "selected_date": v}
            elif kind == "time":
                el = {"type": "timepicker", "selected_time": v}
            elif kind == "conversation":
                el = {"type": "conversations_select", "selected_conversation": v}
            elif kind == "checkboxes":
                el = {"type": "checkboxes", "selected_options": [{"value": x} for x in v]}
            else:
                raise ValueError(kind)
        else:
            el = {"type": "plain_text_input", "value": value}
        out[block_id] = {"value": el}
    return out
