"""Exactly-once job runs, keyed by (team, job, scope, period) in the `jobrun` table.

Every message a scheduled job sends (one digest post, one head's DM, one reminder, one review
prompt) has its own key, e.g. ``(T1, "digest", "dept:7:channel", "2026-W48")``. The unique
constraint on that key is what makes a retried run, a restarted process or a second scheduler
harmless: whoever inserts the row owns the message, everybody else skips it.

Order of operations: **claim, then post, then record**.

1. ``claim`` inserts the row with status ``started`` and commits, before anything reaches Slack.
2. The message is posted.
3. ``finish`` marks it ``done`` (retrying through a database restart), or, when Slack said for
   certain that nothing was posted (an error answer, a 5xx after retries, a refused channel),
   ``release`` marks it ``failed`` so that the next tick claims it again.

The window "killed between posting and recording" is therefore resolved as **at-most-once**:
a row left in ``started`` by a dead process is never claimed again automatically, because we
cannot know whether Slack received the message, and a duplicate digest, reminder or review
prompt in a channel is the failure people notice and resent; a digest that may be missing is
reported (``stale_claims`` → the scheduler logs it and tells the admins once) and can be sent
again by hand with ``loyalty digest``. The window is the few milliseconds between the claim's
commit and the HTTP request; every failure Slack reports is retried (at-least-once there), so
only a crash inside that window can lose a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from storage.job_runs import (
    claim_run,
    run_status,
    run_statuses,
    set_run_status,
    started_before,
)
from storage.models import JobRun, JobRunStatus, utcnow

log = logging.getLogger(__name__)

STARTED, DONE, FAILED = JobRunStatus.STARTED, JobRunStatus.DONE, JobRunStatus.FAILED
SNOOZED, REFUSED = JobRunStatus.SNOOZED, JobRunStatus.REFUSED
# A `started` row older than this belongs to a process that died mid-message (a live one
# gives up on a rate-limited message after jobs.posting.GIVE_UP_AFTER, 10 minutes).
STALE_AFTER = timedelta(minutes=30)
# Database restarts: how long recording a result keeps retrying before giving up.
RECORD_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class RunKey:
    team_id: str
    job: str
    scope: str
    period: str

    def columns(self) -> dict[str, str]:
        """The key as the run record's keyword arguments."""
        return {
            "team_id": self.team_id,
            "job": self.job,
            "scope": self.scope,
            "period": self.period,
        }

    def __str__(self) -> str:
        return f"{self.job}/{self.scope}/{self.period}@{self.team_id}"


def claim(engine: Engine, key: RunKey, *, now: datetime | None = None) -> bool:
    """Take ownership of one message; False when someone already has (or had) it.

    A `failed` row (Slack refused it for certain) is taken over again; `started`, `done` and
    `snoozed` rows are not.
    """
    return claim_run(engine, **key.columns(), now=now or utcnow())


def _database_unavailable(exc: BaseException) -> bool:
    """A lost connection or a restarting server; a constraint violation will not go away."""
    return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError)


def _with_db_retry(what: str, fn) -> None:
    """Run a short write, riding out a database restart (the pool reconnects on retry)."""

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("database unavailable while %s, retrying: %s", what, type(exc).__name__)

    Retrying(
        retry=retry_if_exception(_database_unavailable),
        wait=wait_exponential(multiplier=0.2, max=3.0),
        stop=stop_after_delay(RECORD_RETRY_SECONDS),
        before_sleep=log_retry,
        reraise=True,
    )(fn)


def _set_status(engine: Engine, key: RunKey, status: str, detail: str | None) -> None:
    def write():
        set_run_status(engine, **key.columns(), status=status, detail=detail)

    _with_db_retry(f"recording {key}", write)


def finish(engine: Engine, key: RunKey, *, detail: str | None = None) -> None:
    """The message went out: never send it again."""
    _set_status(engine, key, DONE, detail)


def release(engine: Engine, key: RunKey, *, error: str) -> None:
    """Slack said for certain nothing was posted: let the next run try again."""
    _set_status(engine, key, FAILED, error[:2000])


def mark(engine: Engine, key: RunKey, *, status: str = DONE, detail: str | None = None) -> bool:
    """Record a key without posting anything (a finished run, a snoozed reminder).

    A key this process claimed (`started`) is moved to `status`; returns False when the key
    already belonged to someone else.
    """
    if claim(engine, key):
        _set_status(engine, key, status, detail)
        return True
    if status_of(engine, key) == STARTED:
        _set_status(engine, key, status, detail)
        return True
    return False


def status_of(engine: Engine, key: RunKey) -> str | None:
    return run_status(engine, **key.columns())


def statuses(engine: Engine, *, team_id: str, job: str, period: str) -> dict[str, str]:
    """scope → status for every key of one job and period (one query)."""
    return run_statuses(engine, team_id=team_id, job=job, period=period)


def stale_claims(engine: Engine, *, now: datetime | None = None) -> list[JobRun]:
    """`started` rows whose process died between claiming and recording (possibly lost)."""
    return started_before(engine, cutoff=(now or utcnow()) - STALE_AFTER)


def run_once(engine: Engine, key: RunKey, fn, *, definite_failure=lambda exc: False):
    """Claim `key`, run `fn()`, record the outcome. Returns (ran, result).

    When `fn` raises and `definite_failure(exc)` says nothing reached Slack, the claim is
    released for a later retry; otherwise it stays `started` (at-most-once, see above).
    """
    if not claim(engine, key):
        return False, None
    try:
        result = fn()
    except Exception as exc:
        if definite_failure(exc):
            release(engine, key, error=f"{exc.__class__.__name__}: {exc}")
        raise
    finish(engine, key)
    return True, result
