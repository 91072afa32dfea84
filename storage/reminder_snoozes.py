"""Snoozing a week of check-in reminders: a `snoozed` run record for that person's next week.

The reminder job (jobs/checkin_reminders.py) skips any week whose run record exists and has not
failed, so a snoozed week gets no reminder, through the same exactly-once mechanism.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from storage import audit
from storage.db import session_scope
from storage.models import JobRun, JobRunStatus, utcnow
from storage.weeks import next_iso_week

REMINDER_JOB = "reminder"  # the run records' job name, scope = the person's user id


def snooze(engine: Engine, *, team_id: str, user_id: str, period: str) -> tuple[str, bool]:
    """Skip `user_id`'s reminder in the week after `period`; returns (that week, snoozed now).

    The user comes from the verified Slack payload; the period from the button only says which
    reminder was clicked, and can at most snooze that person's own following week.
    """
    week = next_iso_week(period)
    with session_scope(engine) as session:
        row = session.exec(
            select(JobRun).where(
                JobRun.team_id == team_id,
                JobRun.job == REMINDER_JOB,
                JobRun.scope == user_id,
                JobRun.period == week,
            )
        ).first()
        if row is not None and row.status != JobRunStatus.FAILED:
            return week, row.status == JobRunStatus.SNOOZED
        row = row or JobRun(team_id=team_id, job=REMINDER_JOB, scope=user_id, period=week)
        row.status = JobRunStatus.SNOOZED
        row.finished_at = utcnow()
        session.add(row)
        session.flush()
        audit.record(
            session,
            team_id=team_id,
            actor_id=user_id,
            action="reminder.snooze",
            entity="jobrun",
            entity_id=row.id,
            after={"week": week},
        )
    return week, True
