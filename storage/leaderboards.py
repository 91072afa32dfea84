"""Recognition leaderboards: weekly tallies per recipient, the quarter's board, opting out.

They feed the App Home leaderboard and the quarterly review pack.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from storage import audit
from storage.models import (
    Department,
    DepartmentMember,
    Recognition,
    RecognitionRecipient,
    RecognitionWeek,
    SlackUser,
)
from storage.teams import get_or_create_team


class DepartmentName(NamedTuple):
    """The department fields a leaderboard shows (a workspace has hundreds of departments:
    plain rows, not ORM entities)."""

    id: int
    name: str
    name_key: str


@dataclass
class Leaderboard:
    top: list[tuple[str, int]]
    per_department: list[tuple[DepartmentName, int, int, float]]
    share_recognized: float
    # department id -> members recognized at least once (the per-department share's numerator)
    recognized_per_department: dict[int, int] = field(default_factory=dict)
    members_total: int = 0
    members_recognized: int = 0


def week_of(moment: datetime) -> date:
    """The UTC Monday of the week `moment` falls in (the key of the weekly tallies)."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _upsert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def bump_weekly_tallies(
    session: Session, *, team_id: str, week: date, recipients: dict[str, int]
) -> None:
    """One statement, run for each recipient in one call; concurrent kudos add up (INSERT …
    ON CONFLICT DO UPDATE). Its rows go as parameters, not in its text, so the statement is
    compiled once per process rather than once per kudos."""
    if not recipients:
        return
    table = RecognitionWeek.__table__
    stmt = _upsert(session)(table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "week", "user_id", "department_id"],
            set_={"received": table.c.received + stmt.excluded.received},
        ),
        [
            {"team_id": team_id, "week": week, "user_id": uid, "department_id": dept, "received": 1}
            for uid, dept in recipients.items()
        ],
    )


def rebuild_weekly_tallies(session: Session, *, team_id: str) -> int:
    """Recompute a team's weekly tallies from its recognitions (after a bulk import or
    repair); returns the number of tally rows."""
    session.execute(delete(RecognitionWeek).where(RecognitionWeek.team_id == team_id))
    counts: Counter = Counter()
    for created_at, uid, dept in session.exec(
        select(
            Recognition.created_at, RecognitionRecipient.user_id, RecognitionRecipient.department_id
        )
        .join(RecognitionRecipient, RecognitionRecipient.recognition_id == Recognition.id)
        .where(Recognition.team_id == team_id)
    ):
        counts[(week_of(created_at), uid, dept or 0)] += 1
    rows = [
        {"team_id": team_id, "week": w, "user_id": u, "department_id": d, "received": n}
        for (w, u, d), n in counts.items()
    ]
    for i in range(0, len(rows), 5000):
        session.execute(RecognitionWeek.__table__.insert(), rows[i : i + 5000])
    return len(rows)


def _received_raw(session: Session, *, team_id: str, start: datetime, end: datetime, into: Counter):
    if start >= end:
        return
    for uid, dept, n in session.exec(
        select(RecognitionRecipient.user_id, RecognitionRecipient.department_id, func.count())
        .join(Recognition, Recognition.id == RecognitionRecipient.recognition_id)
        .where(
            Recognition.team_id == team_id,
            Recognition.created_at >= start,
            Recognition.created_at < end,
        )
        .group_by(RecognitionRecipient.user_id, RecognitionRecipient.department_id)
    ):
        into[(uid, dept or 0)] += int(n)


def received_counts(session: Session, *, team_id: str, start: datetime, end: datetime) -> Counter:
    """(user id, department id or 0) -> kudos received in [start, end).

    Whole UTC weeks come from the weekly tallies; only the partial weeks at either end are
    counted from the recognitions themselves, so a quarter costs about the same whatever the
    volume of kudos."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    counts: Counter = Counter()
    first_monday = week_of(start)
    if datetime.combine(first_monday, time(), UTC) < start:
        first_monday += timedelta(days=7)
    last_monday = week_of(end)
    full_from = datetime.combine(first_monday, time(), UTC)
    full_to = datetime.combine(last_monday, time(), UTC)
    if full_from >= full_to:
        _received_raw(session, team_id=team_id, start=start, end=end, into=counts)
        return counts
    for uid, dept, n in session.exec(
        select(
            RecognitionWeek.user_id,
            RecognitionWeek.department_id,
            func.sum(RecognitionWeek.received),
        )
        .where(
            RecognitionWeek.team_id == team_id,
            RecognitionWeek.week >= first_monday,
            RecognitionWeek.week < last_monday,
        )
        .group_by(RecognitionWeek.user_id, RecognitionWeek.department_id)
    ):
        counts[(uid, dept)] += int(n)
    _received_raw(session, team_id=team_id, start=start, end=full_from, into=counts)
    _received_raw(session, team_id=team_id, start=full_to, end=end, into=counts)
    return counts


def leaderboard(
    session: Session, *, team_id: str, start: datetime, end: datetime, limit: int = 10
) -> Leaderboard:
    """Most recognized people in [start, end) (opted-out people left out), and for fairness
    kudos per department per head and the share of department members recognized at least
    once. Aggregates count everyone: they name no one."""
    counts = received_counts(session, team_id=team_id, start=start, end=end)
    per_user: Counter = Counter()
    kudos_by_dept: Counter = Counter()
    for (uid, dept), n in counts.items():
        per_user[uid] += n
        if dept:
            kudos_by_dept[dept] += n
    hidden = set(
        session.exec(
            select(SlackUser.user_id).where(
                SlackUser.team_id == team_id, SlackUser.hide_from_leaderboards.is_(True)
            )
        ).all()
    )
    ranked = sorted(
        ((uid, n) for uid, n in per_user.items() if uid not in hidden and n > 0),
        key=lambda row: (-row[1], row[0]),
    )
    members = session.exec(
        select(DepartmentMember.department_id, DepartmentMember.user_id).where(
            DepartmentMember.team_id == team_id
        )
    ).all()
    headcount: Counter = Counter()
    recognized_by_dept: Counter = Counter()
    everyone, recognized = set(), set()
    for dept_id, uid in members:
        headcount[dept_id] += 1
        everyone.add(uid)
        if per_user.get(uid):
            recognized_by_dept[dept_id] += 1
            recognized.add(uid)
    depts = [
        DepartmentName(*row)
        for row in session.exec(
            select(Department.id, Department.name, Department.name_key)
            .where(Department.team_id == team_id)
            .order_by(Department.name_key)
        )
    ]
    per_department = []
    for d in depts:
        heads = headcount.get(d.id, 0)
        kudos = kudos_by_dept.get(d.id, 0)
        per_department.append((d, kudos, heads, kudos / heads if heads else 0.0))
    per_department.sort(key=lambda row: (-row[3], row[0].name_key))
    return Leaderboard(
        top=ranked[:limit],
        per_department=per_department,
        share_recognized=len(recognized) / len(everyone) if everyone else 0.0,
        recognized_per_department=dict(recognized_by_dept),
        members_total=len(everyone),
        members_recognized=len(recognized),
    )


def set_hide_from_leaderboards(
    session: Session, *, team_id: str, user_id: str, hide: bool
) -> SlackUser:
    get_or_create_team(session, team_id=team_id)
    row = session.get(SlackUser, (team_id, user_id)) or SlackUser(team_id=team_id, user_id=user_id)
    before = {"hide_from_leaderboards": row.hide_from_leaderboards}
    row.hide_from_leaderboards = bool(hide)
    session.add(row)
    audit.record(
        session,
        team_id=team_id,
        actor_id=user_id,
        action="user.leaderboard_privacy",
        entity="slack_user",
        before=before,
        after={"hide_from_leaderboards": row.hide_from_leaderboards},
    )
    return row


def is_hidden(session: Session, *, team_id: str, user_id: str) -> bool:
    row = session.get(SlackUser, (team_id, user_id))
    return bool(row and row.hide_from_leaderboards)
