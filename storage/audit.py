"""Audit log: who did what, when, with the before/after state."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_, update
from sqlmodel import Session, SQLModel, select

from storage.models import AuditLog, utcnow

# Fields holding a person's own words, or naming them, each with the fields that say whose they
# are (in the same row or payload; in a payload without any of those, the one who made the
# change). Forgetting a person blanks these, in the tables and in audit payloads alike; what
# others rely on (requests, titles, kudos) stays, with the person's id pseudonymised.
PERSONAL_TEXT_KEYS: dict[str, tuple[str, ...]] = {
    "note": ("author_id", "user_id", "closed_by"),  # check-ins, behavior logs, follow-ups
    "blocker": ("author_id",),  # what a check-in's author is blocked on
    "text": ("author_id",),  # a comment on a key result (and text an actor wrote)
    "decline_reason": ("decided_by",),  # commitments
    "done_note": ("done_by",),
    "staff": ("staff_user_id",),  # a praise row's staff name
}


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
    """Audit one change, written with the caller's other changes when the session flushes
    (a bulk change's rows go in one batched statement)."""
    row = AuditLog(
        team_id=team_id,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=as_json(before),
        after=as_json(after),
    )
    session.add(row)
    return row


_INSERT = insert(AuditLog.__table__)


def record_now(session: Session, **what) -> None:
    """`record` (the same arguments), written at once by a statement built once: for a hot
    path that writes without the ORM's unit of work (a check-in)."""
    payloads = {"before": as_json(what.get("before")), "after": as_json(what.get("after"))}
    row = {"entity_id": None, **what, **payloads, "created_at": utcnow()}
    session.connection().execute(_INSERT, row)


def json_around(payload: dict, key: str) -> tuple[str, str]:
    """The JSON an audit row holds for `payload`, cut where the integer under `key` goes: for
    a value only the database knows yet (an id it hands out in the same statement), so that
    head + str(value) + tail is what `record` would have written."""
    text = as_json({**payload, key: 0}) or ""
    head, mark, tail = text.rpartition(f'"{key}": 0')
    return head + mark[:-1], tail


def as_json(payload: SQLModel | dict | None) -> str | None:
    """A payload as an audit row holds it."""
    return json.dumps(snapshot(payload), ensure_ascii=False, default=str) if payload else None


def saved(
    session: Session, row: SQLModel, *, before: SQLModel | dict | None = None, **what
) -> SQLModel:
    """Write `row` (flushed, so a new one has its id) and audit it: how a storage function
    records what it created or changed. `what`: team_id, actor_id, action, entity."""
    session.add(row)
    session.flush()
    changed(session, row, before=before, **what)
    return row


def audited_update(session: Session, row: SQLModel, *, where: list, values: dict, **what) -> bool:
    """Apply `values` to `row` only while `where` still holds (the state the row was read in),
    reload it either way, and audit the change when it landed. False: another change landed
    first and nothing was written — of two people pressing at once, exactly one wins.
    `what`: team_id, actor_id, action, entity."""
    model = type(row)
    before = row.model_dump()
    result = session.execute(update(model).where(model.id == row.id, *where).values(**values))
    session.refresh(row)
    if result.rowcount != 1:
        return False
    changed(session, row, before=before, **what)
    return True


def changed(session: Session, row: SQLModel, *, before: SQLModel | dict | None, **what) -> None:
    """Audit a change to `row` already added to the session (no flush: a caller changing many
    rows flushes once). `what`: team_id, actor_id, action, entity."""
    record(session, entity_id=row.id, before=before, after=row, **what)


def removed(session: Session, row: SQLModel, **what) -> None:
    """Audit and delete `row` (flushed). `what`: team_id, actor_id, action, entity."""
    record(session, entity_id=getattr(row, "id", None), before=row, after=None, **what)
    session.delete(row)
    session.flush()


def blank_personal_text(payload: Any, *, person_id: str, actor_id: str) -> bool:
    """Blank, in place, every PERSONAL_TEXT_KEYS field of `payload` (nested dicts and lists
    too) that is `person_id`'s; True when something changed."""
    changed = False
    if isinstance(payload, list):
        for item in payload:
            changed |= blank_personal_text(item, person_id=person_id, actor_id=actor_id)
        return changed
    if not isinstance(payload, dict):
        return False
    for value in payload.values():
        if isinstance(value, dict | list):
            changed |= blank_personal_text(value, person_id=person_id, actor_id=actor_id)
    for key, owner_keys in PERSONAL_TEXT_KEYS.items():
        if not payload.get(key):
            continue
        owners = [payload[k] for k in owner_keys if k in payload]
        if person_id in (owners or [actor_id]):
            payload[key] = ""
            changed = True
    return changed


def forget_personal_text(session: Session, *, team_id: str, user_id: str) -> int:
    """Blank `user_id`'s words in the team's audit payloads (run before their id is
    pseudonymised: rows are found by it); returns the audit rows changed."""
    rows = session.exec(
        select(AuditLog.id, AuditLog.actor_id, AuditLog.before, AuditLog.after).where(
            AuditLog.team_id == team_id,
            or_(
                AuditLog.actor_id == user_id,
                AuditLog.before.contains(user_id, autoescape=True),
                AuditLog.after.contains(user_id, autoescape=True),
            ),
        )
    ).all()
    changed_rows = 0
    for row_id, actor_id, before, after in rows:
        values = {}
        for name, text in (("before", before), ("after", after)):
            if not text:
                continue
            payload = json.loads(text)
            if blank_personal_text(payload, person_id=user_id, actor_id=actor_id):
                values[name] = json.dumps(payload, ensure_ascii=False, default=str)
        if values:
            session.execute(update(AuditLog).where(AuditLog.id == row_id).values(values))
            changed_rows += 1
    return changed_rows
