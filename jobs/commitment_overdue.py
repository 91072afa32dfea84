"""Overdue commitments (spec §8): the day after its due date, one DM to the owner of each
commitment still owed (to the owing department's heads while nobody has accepted it). Days are
the workspace's (`/okr setup` timezone, else LOYALTY_TIMEZONE), and the DM waits for the
morning: it goes out from OVERDUE_NOTICE_HOUR on the day after the due date, not at midnight.

Each DM has its own run record, keyed by the commitment, so a retried tick, a restart or a
second scheduler never sends it twice, and a later day never sends it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from slackapp.blocks.commitments import commitment_line
from slackapp.blocks.common import as_dicts, section
from storage.commitments import overdue
from storage.db import session_scope
from storage.departments import head_ids
from storage.models import Department, Team, utcnow
from storage.teams import team_now

JOB = "commitment_overdue"
OVERDUE_NOTICE_HOUR = 9


def plan_overdue(
    engine: Engine, *, team_id: str, now: datetime, default_timezone: str = "UTC"
) -> list[Outgoing]:
    with session_scope(engine) as session:
        local = team_now(session.get(Team, team_id), default_timezone, now=now)
        today = local.date()
        # Before the notice hour, only what was already overdue yesterday morning is told.
        told_from = today if local.hour >= OVERDUE_NOTICE_HOUR else today - timedelta(days=1)
        rows = overdue(session, team_id=team_id, today=told_from)
        if not rows:
            return []
        names = dict(
            session.exec(
                select(Department.id, Department.name).where(Department.team_id == team_id)
            ).all()
        )
        heads = {
            dept_id: head_ids(session, department_id=dept_id)
            for dept_id in {r.department_id for r in rows if r.owner_id is None}
        }
    out = []
    for c in rows:
        line = commitment_line(c, names, today)
        text = (
            f":rotating_light: *C-{c.number}* was due {c.due_date.isoformat()} and is overdue. "
            f"Close it with `/okr done C-{c.number} [note]` or agree a new date with "
            f"<@{c.asker_id}>.\n{line}"
        )
        for user in [c.owner_id] if c.owner_id else heads.get(c.department_id, []):
            out.append(
                Outgoing(
                    channel=user,
                    text=f"C-{c.number} is overdue",
                    blocks=as_dicts([section(text)]),
                    key=RunKey(team_id, JOB, f"C-{c.number}:{user}", "overdue"),
                    label=f"overdue C-{c.number}",
                )
            )
    return out


def send_overdue_notices(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime | None = None,
    default_timezone: str = "UTC",
    poster: Poster | None = None,
) -> PostReport:
    messages = plan_overdue(
        engine, team_id=team_id, now=now or utcnow(), default_timezone=default_timezone
    )
    if not messages:
        return PostReport()
    return (poster or Poster(client, engine=engine)).post_all(messages)
