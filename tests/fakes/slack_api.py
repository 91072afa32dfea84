"""A fake Slack Web API on localhost that records every call and answers like Slack.

It can be told to answer 429 with Retry-After, 5xx, or an `ok: false` error for a method, to
take its time over a method (like Slack on a slow day), and to enforce Slack's
one-message-per-second-per-channel posting limit.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

TEAM_ID = "T0TEAMA01"
BOT_USER = "U0BOT0001"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    ok: bool = True

    def __getitem__(self, key):
        return self.args[key]

    def get(self, key, default=None):
        return self.args.get(key, default)


@dataclass
class Fault:
    kind: str  # "ratelimit" | "status" | "error"
    times: int
    retry_after: int = 1
    status: int = 500
    error: str = "internal_error"
    match: dict | None = None  # only when every key/value is in the call's args


def _coerce(args: dict[str, Any]) -> dict[str, Any]:
    """Slack accepts JSON-in-form for blocks/view/attachments; decode them like Slack would."""
    out = dict(args)
    for key in ("blocks", "view", "attachments", "files", "users"):
        if isinstance(out.get(key), str) and out[key][:1] in "[{":
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                pass
    return out


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.channel_rate: float | None = None  # min seconds between posts per channel
        self.latency: dict[str, float] = {}  # method -> seconds each answer takes
        self._last_post: dict[str, float] = {}
        self.permalinks: dict[tuple[str, str], str] = {}
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> message, for history
        self.unreadable_channels: set[str] = set()
        self.missing_channels: set[str] = set()
        self.not_in_channels: set[str] = set()
        self.socket_url: str | None = None
        self.team_id = TEAM_ID
        self.uploads: dict[str, bytes] = {}
        # OAuth (oauth.v2.access): codes Slack would hand out, tokens issued, refresh tokens.
        self.oauth_client: tuple[str, str] = ("1111.2222", "fake-client-secret")
        self.oauth_codes: dict[str, dict] = {}
        self.issued_tokens: dict[str, str] = {}  # token -> team_id
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> team_id
        self.revoked_tokens: set[str] = set()
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/response/{name}"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- configuration ---------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        *,
        admin=False,
        owner=False,
        tz="America/New_York",
        email=None,
        name=None,
        bot=False,
        deleted=False,
        team_id=None,
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name or user_id.lower(),
            "real_name": name or user_id,
            "deleted": deleted,
            "is_admin": admin,
            "is_owner": owner,
            "is_primary_owner": False,
            "is_bot": bot,
            "tz": tz,
            "tz_offset": 0,
            "profile": {
                "display_name": name or user_id,
                "real_name": name or user_id,
                "email": email or f"{user_id.lower()}@example.com",
            },
        }

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str,
        team_name: str = "Example",
        installer: str = "U0ADMIN01",
        rotating: bool = False,
        expires_in: int = 43200,
    ) -> None:
        """A code Slack's authorize page would put on the redirect to the app (used once)."""
        self.oauth_codes[code] = {
            "team_id": team_id,
            "team_name": team_name,
            "installer": installer,
            "rotating": rotating,
            "expires_in": expires_in,
        }

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1, match=None) -> None:
        self.faults.setdefault(method, []).append(
            Fault("ratelimit", times, retry_after=retry_after, match=match)
        )

    def http_error(self, method: str, *, status: int = 500, times: int = 1, match=None) -> None:
        self.faults.setdefault(method, []).append(
            Fault("status", times, status=status, match=match)
        )

    def slow(self, method: str, seconds: float) -> None:
        """Every later call to `method` is answered (as usual) after `seconds`."""
        self.latency[method] = seconds

    def api_error(self, method: str, error: str, *, times: int = 1, match=None) -> None:
        self.faults.setdefault(method, []).append(Fault("error", times, error=error, match=match))

    # ---- inspection ------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, where=None
    ) -> list[Call]:
        """Block until `count` successful calls to `method` (matching `where`) were received."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c
                    for c in self.calls
                    if c.method == method and c.status == 200 and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self.calls})
                    raise AssertionError(
                        f"expected {count} call(s) to {method}, got {len(found)}; saw {seen}"
                    )
                self._cond.wait(left)

    def command_reply(self, name: str, body: dict) -> None:
        """A slash command answered in its acknowledgement: Slack shows that body as the
        command's reply, just as it shows a post to the command's response URL, so it is
        recorded as one (marked `_via: ack`)."""
        self._record(Call("response_url", {**body, "_name": name, "_via": "ack"}, {}))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    # ---- request handling ------------------------------------------------------------------
    def _take_fault(self, method: str, args: dict) -> Fault | None:
        for fault in self.faults.get(method, []):
            if fault.times > 0 and all(args.get(k) == v for k, v in (fault.match or {}).items()):
                fault.times -= 1
                return fault
        return None

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _answer(self, method: str, args: dict) -> tuple[int, dict, dict]:
        if delay := self.latency.get(method):
            time.sleep(delay)
        fault = self._take_fault(method, args)
        if fault and fault.kind == "ratelimit":
            return (
                429,
                {"Retry-After": str(fault.retry_after)},
                {"ok": False, "error": "ratelimited"},
            )
        if fault and fault.kind == "status":
            return fault.status, {}, {"ok": False, "error": "internal_error"}
        if fault and fault.kind == "error":
            return 200, {}, {"ok": False, "error": fault.error}
        if (
            method in ("chat.postMessage", "chat.postEphemeral", "chat.update")
            and self.channel_rate
        ):
            channel = args.get("channel", "")
            with self._lock:
                now = time.monotonic()
                last = self._last_post.get(channel)
                if last is not None and now - last < self.channel_rate:
                    wait = max(1, int(self.channel_rate - (now - last) + 0.999))
                    return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
                self._last_post[channel] = now
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": True}
        return 200, {}, handler(args)

    def _channel_check(self, channel: str) -> dict | None:
        if channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_in_channels:
            return {"ok": False, "error": "not_in_channel"}
        return None

    # Canned answers, shaped like Slack's.
    def _m_auth_test(self, args):
        token = args.get("token") or ""
        if token in self.revoked_tokens:
            return {"ok": False, "error": "token_revoked"}
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "loyalty",
            "team_id": self.issued_tokens.get(token, self.team_id),
            "user_id": BOT_USER,
            "bot_id": "B0BOT0001",
        }

    def _m_chat_postMessage(self, args):
        channel = args.get("channel", "")
        if err := self._channel_check(channel):
            return err
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        posted_to = channel if not channel.startswith("U") else "D" + channel[1:]
        # Kept like Slack keeps it: history finds it, and a reply's thread_ts can be traced.
        self.messages[(posted_to, ts)] = {
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": args.get("blocks"),
            **({"thread_ts": args["thread_ts"]} if args.get("thread_ts") else {}),
        }
        return {
            "ok": True,
            "channel": posted_to,
            "ts": ts,
            "message": {"text": args.get("text", ""), "ts": ts},
        }

    def _m_chat_postEphemeral(self, args):
        if err := self._channel_check(args.get("channel", "")):
            return err
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}

    def _m_chat_update(self, args):
        return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}

    def _m_chat_delete(self, args):
        # Like Slack: the bot deletes a message it posted (kept in `messages`), by channel and ts.
        channel, ts = args.get("channel", ""), args.get("ts", "")
        if err := self._channel_check(channel):
            return err
        if self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_getPermalink(self, args):
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        if channel in self.unreadable_channels or channel in self.not_in_channels:
            return {"ok": False, "error": "channel_not_found"}
        link = self.permalinks.get((channel, ts)) or (
            f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        )
        return {"ok": True, "channel": channel, "permalink": link}

    def _m_conversations_history(self, args):
        channel, ts = args.get("channel", ""), args.get("latest", "")
        if channel in self.unreadable_channels or channel in self.not_in_channels:
            return {"ok": False, "error": "not_in_channel"}
        found = self.messages.get((channel, ts))
        return {"ok": True, "messages": [found] if found else [], "has_more": False}

    def _m_conversations_open(self, args):
        users = args.get("users", "")
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}

    def _m_users_info(self, args):
        user = self.users.get(args.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_users_lookupByEmail(self, args):
        email = (args.get("email") or "").lower()
        for user in self.users.values():
            if user["profile"].get("email", "").lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _m_users_list(self, args):
        return {
            "ok": True,
            "members": list(self.users.values()),
            "response_metadata": {"next_cursor": ""},
        }

    def _view(self, args):
        view = args.get("view") or {}
        return {
            "ok": True,
            "view": {**view, "id": f"V{next(self._ts):08d}", "team_id": self.team_id},
        }

    _m_views_open = _view
    _m_views_publish = _view
    _m_views_update = _view
    _m_views_push = _view

    def _m_files_getUploadURLExternal(self, args):
        file_id = f"F{next(self._ts):08d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args):
        # Sharing into a channel the bot is not in fails like Slack does.
        if args.get("channel_id") and (err := self._channel_check(args["channel_id"])):
            return err
        files = args.get("files") or []
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}

    def _issue_token(self, team_id: str, rotating: bool, expires_in: int) -> dict:
        n = next(self._ts)
        prefix = "xoxe.xoxb-1-" if rotating else "xoxb-"
        token = f"{prefix}{team_id}-{n:06d}-FakeBotTokenSecret{n:04d}"
        self.issued_tokens[token] = team_id
        out = {"access_token": token, "token_type": "bot"}
        if rotating:
            refresh = f"xoxe-1-{team_id}-{n:06d}-FakeRefreshSecret"
            self.refresh_tokens[refresh] = team_id
            out.update(refresh_token=refresh, expires_in=expires_in)
        return out

    def _m_oauth_v2_access(self, args):
        if (
            args.get("_client_auth") != ":".join(self.oauth_client)
            and (args.get("client_id"), args.get("client_secret")) != self.oauth_client
        ):
            return {"ok": False, "error": "invalid_client_id"}
        if args.get("grant_type") == "refresh_token":
            old = args.get("refresh_token", "")
            team_id = self.refresh_tokens.pop(old, None)
            if team_id is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            for token, team in list(self.issued_tokens.items()):
                if team == team_id and token.startswith("xoxe.xoxb-"):
                    self.revoked_tokens.add(token)  # the old access token stops working
            return {"ok": True, "team": {"id": team_id}, **self._issue_token(team_id, True, 43200)}
        grant = self.oauth_codes.pop(args.get("code", ""), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": "A0LOYALTY1",
            "authed_user": {"id": grant["installer"]},
            "scope": "commands,chat:write,users:read,im:write",
            "bot_user_id": BOT_USER,
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
            **self._issue_token(grant["team_id"], grant["rotating"], grant["expires_in"]),
        }

    def _m_apps_connections_open(self, args):
        if not self.socket_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_url}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlparse(self.path).path
                headers = {k.lower(): v for k, v in self.headers.items()}
                if path.startswith("/upload/"):
                    fake.uploads[path.rsplit("/", 1)[-1]] = raw
                    fake._record(
                        Call(
                            "file.upload",
                            {"file_id": path.rsplit("/", 1)[-1], "size": len(raw)},
                            headers,
                        )
                    )
                    return self._send(200, {}, b"OK - " + str(len(raw)).encode(), "text/plain")
                ctype = headers.get("content-type", "")
                if "json" in ctype:
                    args = json.loads(raw or b"{}")
                else:
                    args = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                args = _coerce(args)
                auth = headers.get("authorization", "")
                if auth.startswith("Bearer ") and "token" not in args:
                    args["token"] = auth[7:]
                if auth.startswith("Basic "):  # oauth.v2.access client credentials
                    import base64

                    args["_client_auth"] = base64.b64decode(auth[6:]).decode()
                if path.startswith("/response/"):
                    fake._record(
                        Call("response_url", {**args, "_name": path.rsplit("/", 1)[-1]}, headers)
                    )
                    return self._send(200, {}, b"ok", "text/plain")
                method = path.removeprefix("/api/")
                status, extra, body = fake._answer(method, args)
                fake._record(Call(method, args, headers, status=status, ok=bool(body.get("ok"))))
                data = json.dumps(body).encode()
                return self._send(status, extra, data, "application/json")

            do_GET = do_POST  # noqa: N815

            def _send(self, status, extra, data, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler
