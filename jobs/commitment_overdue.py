"""Overdue commitments: the day after its due date, one DM to the owner of each
commitment still owed (to the owing department's heads while nobody has accepted it). Days are
the workspace's (`/okr setup` timezone, else LOYALTY_TIMEZONE), and the DM waits for the
morning: it goes out from OVERDUE_NOTICE_HOUR on the day after the due date, not at midnight.

Two days before the due date (from the same hour) the owner, or the heads while nobody has
accepted it, also gets one reminder that it is due soon.

Each DM has its own run record, keyed by the commitment, so a retried tick, a restart or a
second scheduler never sends it twice, and a later day never sends it again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from slackapp.blocks.commitments import commitment_line
from slackapp.blocks.common import as_dicts, section
from storage.commitments import overdue, pending
from storage.db import session_scope
from storage.departments import head_ids
from storage.digest_queries import department_names
from storage.models import Commitment, Team, utcnow
from storage.teams import team_now, team_zone

JOB = "commitment_overdue"
DUE_SOON_JOB = "commitment_due_soon"
OVERDUE_NOTICE_HOUR = 9
DUE_SOON_DAYS = 2


def heads_of_unowned(session: Session, rows: list[Commitment]) -> dict[int, list[str]]:
    """Department id -> its heads, for the departments owing a commitment nobody has accepted
    yet: the heads are told in the owner's place."""
    return {
        dept_id: head_ids(session, department_id=dept_id)
        for dept_id in {r.department_id for r in rows if r.owner_id is None}
    }


def dms_to_owners(
    rows: list[Commitment],
    heads: dict[int, list[str]],
    *,
    team_id: str,
    job: str,
    run_kind: str,
    label: str,
    compose: Callable[[Commitment], tuple[str, str]],
) -> list[Outgoing]:
    """One DM per commitment to its owner (or each head while nobody owns it), keyed by
    commitment and person so that it is sent once; `compose` gives its fallback text and body."""
    out = []
    for c in rows:
        fallback, text = compose(c)
        for user in [c.owner_id] if c.owner_id else heads.get(c.department_id, []):
            out.append(
                Outgoing(
                    channel=user,
                    text=fallback,
                    blocks=as_dicts([section(text)]),
                    key=RunKey(team_id, job, f"C-{c.number}:{user}", run_kind),
                    label=f"{label} C-{c.number}",
                )
            )
    return out


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
        names = department_names(session, team_id=team_id)
        heads = heads_of_unowned(session, rows)

    def overdue_dm(c: Commitment) -> tuple[str, str]:
        return f"C-{c.number} is overdue", (
            f":rotating_light: *C-{c.number}* was due {c.due_date.isoformat()} and is overdue. "
            f"Close it with `/okr done C-{c.number} [note]` or agree a new date with "
            f"<@{c.asker_id}>.\n{commitment_line(c, names, today)}"
        )

    return dms_to_owners(
        rows,
        heads,
        team_id=team_id,
        job=JOB,
        run_kind="overdue",
        label="overdue",
        compose=overdue_dm,
    )


def plan_due_soon(
    engine: Engine, *, team_id: str, now: datetime, default_timezone: str = "UTC"
) -> list[Outgoing]:
    """One DM per commitment still owed, from 09:00 two days before its due date (a scheduler
    that was down then catches up until the due date). A commitment asked after that moment
    is not reminded: its owner agreed to the date knowing it was close."""
    with session_scope(engine) as session:
        team = session.get(Team, team_id)
        zone = team_zone(team, default_timezone)
        local = team_now(team, default_timezone, now=now)

        def remind_from(due) -> datetime:
            day = due - timedelta(days=DUE_SOON_DAYS)
            return datetime.combine(day, datetime.min.time(), tzinfo=zone).replace(
                hour=OVERDUE_NOTICE_HOUR
            )

        rows = [
            c
            for c in pending(session, team_id=team_id)
            if local.date() <= c.due_date
            and remind_from(c.due_date) <= local
            and c.created_at <= remind_from(c.due_date)
        ]
        if not rows:
            return []
        names = department_names(session, team_id=team_id)
        heads = heads_of_unowned(session, rows)

    def due_soon_dm(c: Commitment) -> tuple[str, str]:
        days = (c.due_date - local.date()).days
        when = {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")
        return f"C-{c.number} is due {when}", (
            f":hourglass_flowing_sand: *C-{c.number}* is due {when} "
            f"({c.due_date.isoformat()}). Close it with `/okr done C-{c.number} [note]` when it is "
            f"done, or agree a new date with <@{c.asker_id}>.\n"
            f"{commitment_line(c, names, local.date())}"
        )

    return dms_to_owners(
        rows,
        heads,
        team_id=team_id,
        job=DUE_SOON_JOB,
        run_kind="due_soon",
        label="due soon",
        compose=due_soon_dm,
    )


def send_overdue_notices(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime | None = None,
    default_timezone: str = "UTC",
    poster: Poster | None = None,
) -> PostReport:
    now = now or utcnow()
    messages = plan_overdue(engine, team_id=team_id, now=now, default_timezone=default_timezone)
    messages += plan_due_soon(engine, team_id=team_id, now=now, default_timezone=default_timezone)
    if not messages:
        return PostReport()
    return (poster or Poster(client, engine=engine)).post_all(messages)
