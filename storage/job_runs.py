"""Reading the run records scheduled jobs leave (one row per job, scope and period): what ran,
what is still running, what a dead process left `started`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.models import JobRun, JobRunStatus


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
