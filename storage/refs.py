"""Short references shown to users (O-12, KR-34, B-5, C-7, F-3), numbered per team."""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.errors import DomainError
from storage.models import RefCounter

PREFIX = {"objective": "O", "key_result": "KR", "behavior": "B", "commitment": "C", "followup": "F"}
_REF = re.compile(r"^(O|KR|B|C|F)-?(\d{1,9})$", re.IGNORECASE)


def format_ref(kind: str, number: int) -> str:
    return f"{PREFIX[kind]}-{number}"


def parse_ref(text: str, kind: str) -> int:
    """The number in `KR-34` (case-insensitive, dash optional); DomainError otherwise."""
    m = _REF.match((text or "").strip())
    want = PREFIX[kind]
    if not m or m.group(1).upper() != want:
        raise DomainError(f"`{text}` is not a {kind.replace('_', ' ')} reference like `{want}-12`.")
    return int(m.group(2))


def next_number(session: Session, *, team_id: str, kind: str) -> int:
    """Allocate the next number; the UPDATE row-locks the counter so concurrent writers queue."""
    result = session.execute(
        update(RefCounter)
        .where(RefCounter.team_id == team_id, RefCounter.kind == kind)
        .values(last=RefCounter.last + 1)
    )
    if result.rowcount == 0:
        session.add(RefCounter(team_id=team_id, kind=kind, last=1))
        session.flush()
        return 1
    return session.exec(
        select(RefCounter.last).where(RefCounter.team_id == team_id, RefCounter.kind == kind)
    ).one()


def reserve_numbers(session: Session, *, team_id: str, kind: str, count: int) -> list[int]:
    """Allocate `count` consecutive numbers in one statement (bulk imports)."""
    if count <= 0:
        return []
    last = session.execute(
        update(RefCounter)
        .where(RefCounter.team_id == team_id, RefCounter.kind == kind)
        .values(last=RefCounter.last + count)
        .returning(RefCounter.last)
    ).scalar_one_or_none()
    if last is None:
        try:
            # Two first allocations at once: the loser's savepoint rolls back and it counts on.
            with session.begin_nested():
                session.add(RefCounter(team_id=team_id, kind=kind, last=count))
            return list(range(1, count + 1))
        except IntegrityError:
            return reserve_numbers(session, team_id=team_id, kind=kind, count=count)
    return list(range(last - count + 1, last + 1))
