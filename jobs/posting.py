"""Posting many messages without tripping Slack's rate limits and without losing any.

- About one message per second per channel (Slack's chat.postMessage limit): each channel has a
  "next allowed" time; a message is only sent when its channel is ready.
- Channels run in parallel on a small pool of workers; a worker never sleeps on one channel's
  pacing while another channel is ready, so 500 channels take about as long as the busiest one.
- 429: the channel waits the `Retry-After` seconds and the same message is sent again; nothing
  is dropped (the bounded retry is a deadline of several minutes, not a count).
- `not_in_channel`, `channel_not_found`, `is_archived`: the rest of that channel's messages are
  skipped (they would fail the same way), the problem is reported once through `on_problem`,
  other channels carry on.
- Any other failure affects that one message only; it is reported back so the caller can
  release its run claim and let the next run retry it.

Each message may carry a run key (`jobs.run_once`): it is claimed just before sending and
recorded just after, so a message is never sent twice even across processes.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.engine import Engine

from jobs import run_once
from jobs.run_once import RunKey

log = logging.getLogger(__name__)

CHANNEL_PROBLEMS = {"not_in_channel", "channel_not_found", "is_archived", "channel_is_archived"}
# A person who cannot receive a DM (deactivated, a bot…): retrying would not help.
UNDELIVERABLE = {"user_not_found", "user_disabled", "cannot_dm_bot", "account_inactive"}
PER_CHANNEL_INTERVAL = 1.05  # a hair over one second: Slack counts whole seconds
MAX_WORKERS = 8
GIVE_UP_AFTER = 600.0  # seconds one message keeps retrying 429s before it is reported failed


@dataclass
class Outgoing:
    channel: str
    text: str
    blocks: list[dict] | None = None
    key: RunKey | None = None
    # Instead of chat.postMessage, e.g. a chart upload; receives the client.
    send: Callable[[WebClient], object] | None = None
    label: str = ""


@dataclass
class PostReport:
    sent: list[Outgoing] = field(default_factory=list)
    skipped: list[Outgoing] = field(default_factory=list)  # already sent by someone else
    failed: list[tuple[Outgoing, str]] = field(default_factory=list)
    channel_problems: dict[str, str] = field(default_factory=dict)  # channel → error
    rate_limited: int = 0
    elapsed: float = 0.0


def _slack_error(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except Exception:  # noqa: BLE001
        return "unknown_error"


def _retry_after(exc: SlackApiError) -> float | None:
    response = exc.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, float(value))
    except (TypeError, ValueError):
        return 1.0


def _without_rate_limit_retries(client: WebClient) -> WebClient:
    """A copy of `client` that hands 429s back to us: sleeping inside the HTTP call would hold a
    worker that other, ready channels could use. 5xx and connection retries are kept."""
    handlers = [h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)]
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=handlers,
    )


class Poster:
    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine | None = None,
        per_channel_interval: float = PER_CHANNEL_INTERVAL,
        max_workers: int = MAX_WORKERS,
        on_problem: Callable[[str, str], None] | None = None,
        give_up_after: float = GIVE_UP_AFTER,
    ):
        self.client = _without_rate_limit_retries(client)
        self.engine = engine
        self.interval = per_channel_interval
        self.max_workers = max_workers
        self.on_problem = on_problem
        self.give_up_after = give_up_after

    def post_all(self, messages: list[Outgoing]) -> PostReport:
        report = PostReport()
        started = time.monotonic()
        queues: dict[str, deque[Outgoing]] = {}
        for msg in messages:
            queues.setdefault(msg.channel, deque()).append(msg)
        ready: list[tuple[float, int, str]] = [(started, i, ch) for i, ch in enumerate(queues)]
        heapq.heapify(ready)
        lock = threading.Condition()
        in_flight = [0]
        seq = [len(ready)]
        first_try: dict[int, float] = {}

        def next_job():
            with lock:
                while True:
                    if not ready:
                        if in_flight[0] == 0:
                            return None
                        lock.wait(0.5)
                        continue
                    at, _, channel = ready[0]
                    wait = at - time.monotonic()
                    if wait > 0:
                        lock.wait(min(wait, 0.5))
                        continue
                    heapq.heappop(ready)
                    in_flight[0] += 1
                    return channel

        def requeue(channel: str, at: float) -> None:
            with lock:
                seq[0] += 1
                heapq.heappush(ready, (at, seq[0], channel))

        def done_with(channel: str) -> None:
            with lock:
                in_flight[0] -= 1
                lock.notify_all()

        def worker():
            while (channel := next_job()) is not None:
                try:
                    self._send_next(channel, queues[channel], report, lock, first_try, requeue)
                finally:
                    done_with(channel)

        threads = [
            threading.Thread(target=worker, name=f"poster-{i}", daemon=True)
            for i in range(max(1, min(self.max_workers, len(queues))))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report.elapsed = time.monotonic() - started
        return report

    def _send_next(self, channel, queue, report, lock, first_try, requeue) -> None:
        msg = queue[0]
        if msg.key is not None and self.engine is not None and id(msg) not in first_try:
            if not self._claimed(channel, queue, report, lock, requeue):
                return
        first_try.setdefault(id(msg), time.monotonic())
        sent_at = time.monotonic()
        try:
            if msg.send is not None:
                msg.send(self.client)
            else:
                self.client.chat_postMessage(
                    channel=msg.channel, text=msg.text, blocks=msg.blocks, unfurl_links=False
                )
        except SlackApiError as exc:
            wait = _retry_after(exc)
            if wait is not None and time.monotonic() - first_try[id(msg)] < self.give_up_after:
                with lock:
                    report.rate_limited += 1
                requeue(channel, time.monotonic() + wait)  # same message, after Retry-After
                return
            error = _slack_error(exc)
            refused = error in CHANNEL_PROBLEMS
            self._failed(msg, error, report, lock, retry=not refused and error not in UNDELIVERABLE)
            queue.popleft()
            if refused:
                self._channel_refused(channel, queue, error, report, lock)
                return
        except Exception as exc:  # noqa: BLE001 - network gone after retries: retry next run
            self._failed(msg, f"{exc.__class__.__name__}: {exc}", report, lock)
            queue.popleft()
        else:
            queue.popleft()
            if msg.key is not None and self.engine is not None:
                run_once.finish(self.engine, msg.key)
            with lock:
                report.sent.append(msg)
        if queue:
            requeue(channel, sent_at + self.interval)

    def _claimed(self, channel, queue, report, lock, requeue) -> bool:
        """Claim the run key of the channel's next message. When someone else has it, or the
        database cannot say, the message leaves the queue (skipped or failed) and False comes
        back."""
        msg = queue[0]
        try:
            owned = run_once.claim(self.engine, msg.key)
        except Exception as exc:  # noqa: BLE001 - database down: the next run retries it
            log.warning("could not claim %s: %s", msg.key, exc.__class__.__name__)
            queue.popleft()
            with lock:
                report.failed.append((msg, f"database: {exc.__class__.__name__}"))
        else:
            if owned:
                return True
            queue.popleft()
            with lock:
                report.skipped.append(msg)
        if queue:
            requeue(channel, time.monotonic())
        return False

    def _channel_refused(self, channel, queue, error: str, report, lock) -> None:
        """The rest would fail the same way. Not retried every minute: the admins are told
        once and resend with `loyalty digest` after inviting the app."""
        while queue:
            self._failed(queue.popleft(), error, report, lock, retry=False)
        with lock:
            first_report = channel not in report.channel_problems
            report.channel_problems[channel] = error
        if first_report and self.on_problem is not None:
            self.on_problem(channel, error)

    def _failed(self, msg: Outgoing, error: str, report: PostReport, lock, retry=True) -> None:
        log.warning("could not post %s to %s: %s", msg.label or "message", msg.channel, error)
        if msg.key is not None and self.engine is not None:
            try:
                if retry:
                    run_once.release(self.engine, msg.key, error=error)
                else:
                    run_once.mark(self.engine, msg.key, status=run_once.REFUSED, detail=error)
            except Exception:  # noqa: BLE001
                log.exception("could not release %s", msg.key)
        with lock:
            report.failed.append((msg, error))
