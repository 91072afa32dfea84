"""Short references shown to users (O-12, KR-34, B-5, C-7, F-3), numbered per team."""

from __future__ import annotations

import functools
import re
from typing import TypeVar

from sqlalchemy import bindparam
from sqlmodel import Session, SQLModel, select

from storage.db import upsert_insert
from storage.errors import DomainError, NotFound
from storage.models import RefCounter

PREFIX = {"objective": "O", "key_result": "KR", "behavior": "B", "commitment": "C", "followup": "F"}
Numbered = TypeVar("Numbered", bound=SQLModel)
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


@functools.cache
def _by_number(model: type[Numbered]):
    """A workspace's row of `model` by number, built once per model (every check-in, show and
    edit names its row by reference)."""
    return select(model).where(
        model.team_id == bindparam("team_id"), model.number == bindparam("number")
    )


def get_by_ref(
    session: Session,
    *,
    model: type[Numbered],
    team_id: str,
    ref: str,
    kind: str,
    noun: str,
    field: str | None = None,
) -> Numbered:
    """The workspace's row of `model` that `ref` (e.g. `KR-34`) names; NotFound (on `field`)
    saying so in the user's words (`noun`) otherwise."""
    number = parse_ref(ref, kind)
    row = session.scalars(_by_number(model), {"team_id": team_id, "number": number}).first()
    if row is None:
        raise NotFound(
            f"There is no {noun} `{format_ref(kind, number)}` in this workspace.", field=field
        )
    return row


def next_number(session: Session, *, team_id: str, kind: str) -> int:
    """Allocate the next number in one statement: the team's first one creates the counter,
    later ones increment it (the row lock makes concurrent writers queue). Two first numbers
    at once cannot both try to create it."""
    insert = upsert_insert(session, RefCounter).values(team_id=team_id, kind=kind, last=1)
    return session.execute(
        insert.on_conflict_do_update(
            index_elements=[RefCounter.team_id, RefCounter.kind],
            set_={"last": RefCounter.last + 1},
        ).returning(RefCounter.last)
    ).scalar_one()


def reserve_numbers(session: Session, *, team_id: str, kind: str, count: int) -> list[int]:
    """Allocate `count` consecutive numbers in one statement (bulk imports), as next_number does
    for one."""
    if count <= 0:
        return []
    insert = upsert_insert(session, RefCounter).values(team_id=team_id, kind=kind, last=count)
    last = session.execute(
        insert.on_conflict_do_update(
            index_elements=[RefCounter.team_id, RefCounter.kind],
            set_={"last": RefCounter.last + count},
        ).returning(RefCounter.last)
    ).scalar_one()
    return list(range(last - count + 1, last + 1))
