"""Audit log: who did what, when, with the before/after state."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel

from storage.models import AuditLog


def snapshot(row: SQLModel | dict | None) -> dict[str, Any] | None:
    if row is None:
        return None
    data = row if isinstance(row, dict) else row.model_dump()
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in data.items()}


def record(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    before: SQLModel | dict | None = None,
    after: SQLModel | dict | None = None,
) -> AuditLog:
    row = AuditLog(
        team_id=team_id,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=json.dumps(snapshot(before), ensure_ascii=False, default=str) if before else None,
        after=json.dumps(snapshot(after), ensure_ascii=False, default=str) if after else None,
    )
    session.add(row)
    return row
