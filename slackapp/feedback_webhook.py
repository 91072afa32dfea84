"""`POST /hooks/feedback`: survey tools (Delighted, Typeform, Zapier…) push customer answers.

Body: JSON `{"id", "customer", "score", "comment", "department"?, "staff"?, "received_at"?}`,
`Authorization: Bearer <token>` — LOYALTY_FEEDBACK_TOKEN in a single workspace, each
workspace's own token (shown in `/okr setup`) with OAuth; the token decides the workspace.

Answers: 200 `{"ok": true, "stored": …, "followup": "F-3"|null}` (the same id again stores
nothing and answers 200 too), 401 without or with a wrong token, 400 naming the bad field,
413 over 64 KB. The response never waits for Slack: the heads' DMs are sent after it, on the
app's listener pool (the same one that runs listeners' work after ack, drained on shutdown).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from slackapp.feedback_notify import announce_followups
from storage.errors import DomainError, FieldErrors
from storage.feedback import (
    FeedbackIn,
    check_item,
    parse_score,
    store_feedback,
    team_for_webhook_token,
)
from storage.models import utcnow

if TYPE_CHECKING:
    from slackapp.app import SlackApp

log = logging.getLogger(__name__)

FEEDBACK_HOOK_PATH = "/hooks/feedback"
MAX_FEEDBACK_BODY = 64 * 1024
WEBHOOK_ACTOR = "webhook"
FUTURE_SLACK = timedelta(days=1)  # clocks differ; a date further ahead is a mistake


class BadField(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class _Refused(Exception):
    """A request answered with an error status, nothing stored."""

    def __init__(self, status: str, error: str, *, field: str | None = None, headers=None):
        super().__init__(error)
        self.status = status
        self.body = (
            {"ok": False, "error": error}
            if field is None
            else {"ok": False, "field": field, "error": error}
        )
        self.headers = headers


def _answer(start_response, status: str, body: dict, extra: list | None = None):
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(status, headers + (extra or []))
    return [data]


def _text(payload: dict, name: str, *, required: bool) -> str | None:
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise BadField(name, f"`{name}` is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadField(name, f"`{name}` must be a string")
    text = str(value).strip()
    if required and not text:
        raise BadField(name, f"`{name}` is empty")
    return text


def _received_at(raw: object, now: datetime) -> datetime:
    if raw is None or raw == "":
        return now
    if not isinstance(raw, str):
        raise BadField("received_at", "`received_at` must be an ISO 8601 date-time string")
    try:
        at = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadField(
            "received_at", f"`received_at` {raw[:40]!r} is not an ISO 8601 date-time"
        ) from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if at > now + FUTURE_SLACK:
        raise BadField("received_at", "`received_at` is in the future")
    return at


def parse_payload(raw: bytes, now: datetime) -> FeedbackIn:
    """The webhook body as a checked FeedbackIn; BadField names what is wrong."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadField("body", "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadField("body", "the body must be a JSON object")
    source_id = _text(payload, "id", required=True)
    customer = _text(payload, "customer", required=True)
    if "score" not in payload or payload["score"] is None:
        raise BadField("score", "`score` is missing")
    try:
        score = parse_score(payload["score"])
    except DomainError as exc:
        raise BadField("score", f"`score`: {exc.message}") from None
    comment = payload.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise BadField("comment", "`comment` must be a string")
    item = FeedbackIn(
        source="webhook",
        source_id=source_id,
        received_at=_received_at(payload.get("received_at"), now),
        customer=customer,
        score=score,
        comment=(comment or "").strip(),
        department=_text(payload, "department", required=False),
        staff=_text(payload, "staff", required=False),
    )
    try:
        check_item(item)
    except FieldErrors as exc:
        field, message = next(iter(exc.errors.items()))
        raise BadField(field, f"`{field}`: {message}") from None
    for text in (item.customer, item.comment, item.department or "", item.staff or ""):
        if "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise BadField("body", "the body holds a NUL character or a lone surrogate")
    return item


def _bearer(environ) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class FeedbackHook:
    """The WSGI handler of `/hooks/feedback` for one app (one per worker)."""

    def __init__(self, app: SlackApp):
        self.app = app
        self.settings = app.deps.settings
        self.engine = app.deps.engine
        self._single_team: str | None = None
        self._lock = threading.Lock()
        self._to_announce: dict[str, list[int]] = {}  # team -> follow-ups whose DMs wait
        self._draining = False

    def single_workspace_team(self) -> str:
        """The bot token's workspace, asked of Slack once per worker."""
        if self._single_team is None:
            with self._lock:
                if self._single_team is None:
                    self._single_team = self.app.bolt.client.auth_test()["team_id"]
        return self._single_team

    def team_for(self, token: str) -> str | None:
        configured = self.settings.loyalty_feedback_token
        if configured and not self.settings.oauth_enabled:
            if hmac.compare_digest(token.encode(), configured.encode()):
                return self.single_workspace_team()
        with self.app.deps.session() as session:
            return team_for_webhook_token(session, token=token)

    def __call__(self, environ, start_response):
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise _Refused("405 Method Not Allowed", "use POST", headers=[("Allow", "POST")])
            team_id = self._team_of(environ)
            raw = self._read(environ)
            if raw is None:
                raise _Refused(
                    "413 Payload Too Large", f"the body is over {MAX_FEEDBACK_BODY // 1024} KB"
                )
            try:
                item = parse_payload(raw, utcnow())
            except BadField as exc:
                raise _Refused("400 Bad Request", exc.message, field=exc.field) from None
            try:
                result, number = self._store(team_id, item)
            except Exception:  # noqa: BLE001 - rolled back: nothing stored, the sender retries
                log.exception("feedback webhook: storing failed")
                raise _Refused("503 Service Unavailable", "not stored; try again") from None
        except _Refused as refused:
            return _answer(start_response, refused.status, refused.body, refused.headers)
        body = {
            "ok": True,
            "stored": bool(result.created),
            "followup": f"F-{number}" if number else None,
        }
        if result.unknown_departments:
            body["warning"] = "unknown department; routed by keywords instead"
        if result.followups:
            self._announce_later(team_id, result.followups)
        return _answer(start_response, "200 OK", body)

    def _team_of(self, environ) -> str:
        """The workspace the bearer token belongs to; _Refused when none."""
        token = _bearer(environ)
        team_id = None
        if token is not None:
            try:
                team_id = self.team_for(token)
            except Exception:  # noqa: BLE001 - Slack or the database away: say so, store nothing
                log.exception("feedback webhook: could not check the token")
                raise _Refused("503 Service Unavailable", "try again shortly") from None
        if team_id is None:
            raise _Refused(
                "401 Unauthorized",
                "missing or wrong `Authorization: Bearer <token>`",
                headers=[("WWW-Authenticate", 'Bearer realm="feedback"')],
            )
        return team_id

    @staticmethod
    def _read(environ) -> bytes | None:
        stream = environ["wsgi.input"]
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return None
            if length < 0 or length > MAX_FEEDBACK_BODY:
                return None
            return stream.read(length) if length else b""
        raw = stream.read(MAX_FEEDBACK_BODY + 1)  # chunked: read up to the limit
        return None if len(raw) > MAX_FEEDBACK_BODY else raw

    def _store(self, team_id: str, item: FeedbackIn):
        for attempt in range(2):
            try:
                with self.app.deps.session() as session:
                    result = store_feedback(
                        session, team_id=team_id, actor_id=WEBHOOK_ACTOR, items=[item]
                    )
                    number = result.followup_numbers[0] if result.followup_numbers else None
                return result, number
            except IntegrityError:
                # The same id sent twice at the same moment: the other request stored it.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _announce_later(self, team_id: str, followup_ids: list[int]) -> None:
        """Queue the heads' DMs. One task at a time drains the queue, so under a burst of
        answers the DMs of many follow-ups are claimed and recorded together."""
        with self._lock:
            self._to_announce.setdefault(team_id, []).extend(followup_ids)
            if self._draining:
                return
            self._draining = True
        try:
            self.app.bolt.listener_runner.listener_executor.submit(self._drain)
        except RuntimeError:  # the pool is shutting down: the scheduler's tick sends it
            with self._lock:
                self._draining = False
            log.warning("feedback webhook: shutting down, DMs left to the scheduler")

    def _drain(self) -> None:
        while True:
            with self._lock:
                queued, self._to_announce = self._to_announce, {}
                if not queued:
                    self._draining = False
                    return
            for team_id, followup_ids in queued.items():
                self._announce(team_id, followup_ids)

    def _announce(self, team_id: str, followup_ids: list[int]) -> None:
        client = self.app.bot_client(team_id)
        if client is None:
            return
        try:
            announce_followups(
                self.engine,
                client,
                team_id=team_id,
                followup_ids=followup_ids,
                configured_admins=self.settings.admin_ids,
            )
        except Exception:  # noqa: BLE001 - the tick's safety net sends it later
            log.exception("feedback webhook: DMs to heads failed; retried by the scheduler")
