"""A slash command's answer, in its acknowledgement when it is ready in time.

Slack shows the body of a command's acknowledgement as the command's reply, so an answer that
is ready within ANSWER_BUDGET goes there: one HTTP request to Slack fewer than acknowledging
empty and posting the answer to the response URL. A command whose answer is not ready by then
is acknowledged empty by `AckDeadlines`, a watcher thread, and the answer then goes through the
response URL. Slack's 3-second limit therefore holds however slow the database or Slack's Web
API is, and however long the request waited for a free listener thread: the deadline is set
when the request arrives (`install`), before it waits.

Listeners take `answer` (Bolt passes it like `ack`) and call it as they would call `respond`;
`with answer:` around the listener's body acknowledges empty whatever it did not answer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

from slack_bolt import App

from slackapp.middleware import RequestMiddleware

log = logging.getLogger(__name__)

ANSWER_BUDGET = 2.0  # seconds from the request's arrival; Slack gives up at 3
DEADLINE_TICK = 0.1  # the watcher wakes at most this often while commands are in flight
FAILED = ":warning: Something went wrong on our side (it is in the app's log). Please try again."


class CommandAnswer:
    """Answers one slash command: the first answer said before the deadline goes in the
    acknowledgement; any later one, or one after an empty acknowledgement, goes through the
    response URL. Takes the arguments Bolt's `respond` takes."""

    __slots__ = ("_ack", "_respond", "_lock", "_said")

    def __init__(self, ack, respond):
        self._ack = ack
        self._respond = respond
        # The listener's thread and the deadline watcher may both try to acknowledge.
        self._lock = threading.Lock()
        self._said = False  # whether the person has been told anything yet

    def __call__(self, text: str = "", blocks=None, response_type: str | None = None, **more):
        with self._lock:
            self._said = True
            if self._ack.response is None:
                # replace_original and the like mean nothing for a command's first reply.
                self._ack(text=text, blocks=blocks, response_type=response_type)
                return None
        return self._respond(text=text, blocks=blocks, response_type=response_type, **more)

    def acknowledge(self) -> bool:
        """Acknowledges empty unless already acknowledged; True when this call did it."""
        with self._lock:
            if self._ack.response is not None:
                return False
            self._ack()
            return True

    def __enter__(self) -> CommandAnswer:
        return self

    def __exit__(self, kind, error, tb) -> bool:
        """Whatever the listener did, Slack gets its acknowledgement now. An unexpected error
        is logged here and not passed on: Bolt, seeing it, would clear an acknowledgement it
        has not sent yet, and Slack would wait in vain."""
        if error is None or not isinstance(error, Exception):
            self.acknowledge()
            return False
        log.error("A slash command failed (error: %s)", error, exc_info=(kind, error, tb))
        if not self._said:  # say so, rather than leave the person waiting for an answer
            try:
                self(text=FAILED, response_type="ephemeral")
            except Exception:  # Slack unreachable too: the log has it
                log.warning("could not tell the person the command failed", exc_info=True)
        self.acknowledge()
        return True


class AckDeadlines:
    """Acknowledges, empty, every watched command still unanswered ANSWER_BUDGET seconds after
    it arrived. One thread, started with the first watched command and ended when none is left
    in flight; deadlines are checked in arrival order, at most every DEADLINE_TICK seconds (so
    one wake-up serves every command that arrived meanwhile, however many)."""

    def __init__(self, budget: float = ANSWER_BUDGET, tick: float = DEADLINE_TICK):
        self.budget = budget
        self.tick = tick
        self._pending: deque[tuple[float, CommandAnswer, str]] = deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def watch(self, answer: CommandAnswer, what: str = "") -> None:
        with self._lock:
            # Every deadline is `budget` after its arrival: appending keeps them in order.
            self._pending.append((time.monotonic() + self.budget, answer, what))
            if self._thread is None or self._pid != os.getpid():  # none yet, or forked
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="ack-deadlines", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = []
                while self._pending and self._pending[0][0] <= now:
                    due.append(self._pending.popleft())
                if not due and not self._pending:
                    self._thread = None
                    return
                wait = self._pending[0][0] - now if self._pending else 0.0
            for _, answer, what in due:
                if answer.acknowledge():
                    log.info(
                        "%s acknowledged empty after %.1fs; its answer follows", what, self.budget
                    )
            if wait > 0:
                time.sleep(max(wait, self.tick))


def install(app: App, deadlines: AckDeadlines) -> None:
    """Gives every slash command's listener an `answer` argument, watched from now on."""

    def command_answer(req, next):  # noqa: A002 - Bolt's parameter name
        body = req.body
        if isinstance(body, dict) and body.get("command"):
            answer = CommandAnswer(req.context.ack, req.context.respond)
            req.context["answer"] = answer
            deadlines.watch(answer, body["command"])
        return next()

    app.use(RequestMiddleware(command_answer))
