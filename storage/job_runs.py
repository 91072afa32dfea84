"""The run records scheduled jobs leave (one row per job, scope and period): claiming a run,
recording how it ended, and reading what ran, what is still running, what a dead process left
`started`. Each write commits on its own connection, outside any unit of work, so a claim is
visible to other processes before the message it guards is sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.models import JobRun, JobRunStatus, utcnow


def run_status(engine: Engine, *, team_id: str, job: str, scope: str, period: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(JobRun.status).where(
                JobRun.team_id == team_id,
                JobRun.job == job,
                JobRun.scope == scope,
                JobRun.period == period,
            )
        ).scalar_one_or_none()


def run_statuses(engine: Engine, *, team_id: str, job: str, period: str) -> dict[str, str]:
    """scope → status for every run of one job and period (one query)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun.scope, JobRun.status).where(
                JobRun.team_id == team_id, JobRun.job == job, JobRun.period == period
            )
        ).all()
    return {scope: status for scope, status in rows}


def started_before(engine: Engine, *, cutoff: datetime) -> list[JobRun]:
    """`started` rows older than `cutoff`, detached from any session."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun).where(JobRun.status == JobRunStatus.STARTED, JobRun.started_at < cutoff)
        ).all()
    return [JobRun(**row._mapping) for row in rows]


def _run_is(*, team_id: str, job: str, scope: str, period: str):
    return and_(
        JobRun.team_id == team_id,
        JobRun.job == job,
        JobRun.scope == scope,
        JobRun.period == period,
    )


def claim_run(
    engine: Engine, *, team_id: str, job: str, scope: str, period: str, now: datetime
) -> bool:
    """Mark one run `started`, committed at once; False when someone else has (or had) it.

    A new key is inserted (the unique key decides between racing processes); an existing
    `failed` row is taken over again, and of two processes retrying it exactly one wins
    (compare-and-set on the status). `started`, `done` and `snoozed` rows are left alone.
    """
    with engine.connect() as conn:
        try:
            conn.execute(
                JobRun.__table__.insert().values(
                    team_id=team_id,
                    job=job,
                    scope=scope,
                    period=period,
                    status=JobRunStatus.STARTED,
                    started_at=now,
                )
            )
            conn.commit()
            return True
        except IntegrityError:
            conn.rollback()
        result = conn.execute(
            update(JobRun.__table__)
            .where(
                _run_is(team_id=team_id, job=job, scope=scope, period=period),
                JobRun.status == JobRunStatus.FAILED,
            )
            .values(status=JobRunStatus.STARTED, started_at=now, finished_at=None)
        )
        conn.commit()
        return result.rowcount == 1


def set_run_status(
    engine: Engine,
    *,
    team_id: str,
    job: str,
    scope: str,
    period: str,
    status: str,
    detail: str | None,
) -> None:
    """Record how one run ended (finished now), in its own short transaction."""
    with engine.begin() as conn:
        conn.execute(
            update(JobRun.__table__)
            .where(_run_is(team_id=team_id, job=job, scope=scope, period=period))
            .values(status=status, finished_at=utcnow(), detail=detail)
        )
