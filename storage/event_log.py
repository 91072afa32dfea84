"""The ids of Slack events already taken in (`processedevent`), so a redelivered event is
recognised: recording one, and forgetting those old enough that Slack no longer retries them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from storage.models import ProcessedEvent, utcnow


def first_delivery(engine: Engine, *, event_id: str, team_id: str) -> bool:
    """True exactly once per event_id (atomic across processes sharing the database).

    The row commits at once, before the event is handled, so two workers racing on the same
    event cannot both win."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(ProcessedEvent.__table__)
        .values(event_id=event_id[:64], team_id=(team_id or "")[:32], received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(ProcessedEvent.__table__.c.event_id)
    )
    # RETURNING yields the row only when this statement inserted it (rowcount is unreliable
    # across drivers for ON CONFLICT DO NOTHING).
    with engine.begin() as conn:
        return conn.execute(stmt).first() is not None


def forget_events_before(engine: Engine, *, cutoff: datetime) -> int:
    """Delete the ids received before `cutoff`; returns how many went."""
    with engine.begin() as conn:
        table = ProcessedEvent.__table__
        result = conn.execute(delete(table).where(table.c.received_at < cutoff))
        return result.rowcount or 0
