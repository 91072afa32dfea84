"""Doing something once per key, however often the request that asks for it arrives.

A key is claimed inside the caller's transaction, together with the work it guards: the work
and the claim commit or roll back as one, so a repeated request either finds the claim (and
does nothing) or, when the first attempt failed, gets to do the work itself. Keys share the
table of processed Slack events and are pruned with them.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import ProcessedEvent, utcnow

KEY_MAX = 64  # the width of the key column


def claim_once(session: Session, *, team_id: str, key: str) -> bool:
    """True for the first claim of `key`; False when another transaction already holds or
    committed it (on PostgreSQL a concurrent claim waits for the first one to finish)."""
    if len(key) > KEY_MAX:
        raise ValueError(f"once-key longer than {KEY_MAX} characters: {key!r}")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = ProcessedEvent.__table__
    stmt = (
        insert(table)
        .values(event_id=key, team_id=team_id[:32], received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return session.execute(stmt).first() is not None
