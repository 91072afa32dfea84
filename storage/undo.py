"""What undoing a check-in, a behavior log or kudos has in common: only its author may, within a
day, and once (a second try is told it was already undone, found through the audit log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from storage import audit
from storage.errors import DomainError, NotFound, PermissionDenied
from storage.models import AuditLog, utcnow

UNDO_WINDOW = timedelta(hours=24)

Row = TypeVar("Row", bound=SQLModel)


class AlreadyUndone(DomainError):
    pass


def was_undone(session: Session, *, team_id: str, action: str, entity_id: int) -> bool:
    return (
        session.exec(
            select(AuditLog.id).where(
                AuditLog.team_id == team_id,
                AuditLog.action == action,
                AuditLog.entity_id == entity_id,
            )
        ).first()
        is not None
    )


def check_may_undo(
    *,
    user_id: str,
    author_id: str,
    created_at: datetime,
    what: str,
    now: datetime | None = None,
) -> None:
    """Authors only — admins included in "not the author": an admin who needs a record gone
    removes or corrects it by the usual ways, which say who did what."""
    if author_id != user_id:
        raise PermissionDenied(f"the author of {what}", "undo it")
    now = now or utcnow()
    if now - created_at > UNDO_WINDOW:
        raise DomainError(
            f"{what[0].upper()}{what[1:]} was recorded on {created_at:%Y-%m-%d %H:%M} UTC, more "
            "than 24 hours ago; it can no longer be undone."
        )


def row_to_undo(
    session: Session,
    *,
    model: type[Row],
    team_id: str,
    row_id: int | None,
    action: str,
    noun: str,
    plural: bool = False,
    author_column: Any = None,
    user_id: str | None = None,
    narrow: Any = None,
    where: str = "",
) -> Row:
    """The row `row_id` (from an Undo button), or else the author's latest row, within `narrow`
    if given (`where` says what it narrows to). A missing id is told apart from one undone
    already, so a second press does not read as an error of the app."""
    that, was, does = ("Those", "were", "do") if plural else ("That", "was", "does")
    if row_id is not None:
        row = session.get(model, row_id)
        if row is None or row.team_id != team_id:
            if was_undone(session, team_id=team_id, action=action, entity_id=row_id):
                raise AlreadyUndone(f"{that} {noun} {was} already undone.")
            raise NotFound(f"{that} {noun} {does} not exist (any more).")
        return row
    query = select(model).where(model.team_id == team_id, author_column == user_id)
    if narrow is not None:
        query = query.where(narrow)
    row = session.exec(
        query.order_by(col(model.created_at).desc(), col(model.id).desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"You have no {noun}{where} to undo.")
    return row


@dataclass(frozen=True)
class UndoKind:
    """What undoing one kind of record needs to know: its table and author column, the record
    it belongs to (a key result, a behavior) and how that one is found by reference and named
    in messages ("this check-in on KR-3", "no check-in on KR-3 to undo")."""

    author_column: Any  # CheckIn.author_id: the model is the column's class
    parent_model: type[SQLModel]
    parent_column: Any  # the column of `model` holding the parent's id
    find_parent: Callable[..., Any]  # (session, *, team_id, ref) -> the parent, or raises
    parent_prefix: str  # "KR": the parent is named "KR-3"
    action: str
    noun: str  # "check-in": "That check-in was already undone."
    prep: str  # "on": "You have no check-in on KR-3 to undo."

    @property
    def model(self) -> type[SQLModel]:
        return self.author_column.class_

    def parent_label(self, parent) -> str:
        return f"{self.parent_prefix}-{parent.number}"

    @property
    def this(self) -> str:
        """ "this check-in on", "this log of" (the noun's last word: "behavior log")."""
        return f"this {self.noun.split()[-1]} {self.prep}"


def own_row_to_undo(
    session: Session,
    kind: UndoKind,
    *,
    team_id: str,
    user_id: str,
    row_id: int | None,
    ref: str | None,
    now: datetime | None,
) -> tuple[Any, Any]:
    """The row to undo and its parent: `row_id`, or the user's latest row (of the parent `ref`
    if given), once its author may still undo it."""
    narrow, where = None, ""
    if row_id is None and ref:
        parent = kind.find_parent(session, team_id=team_id, ref=ref)
        narrow = kind.parent_column == parent.id
        where = f" {kind.prep} {kind.parent_label(parent)}"
    row = row_to_undo(
        session,
        model=kind.model,
        team_id=team_id,
        row_id=row_id,
        action=kind.action,
        noun=kind.noun,
        author_column=kind.author_column,
        user_id=user_id,
        narrow=narrow,
        where=where,
    )
    parent = session.get(kind.parent_model, getattr(row, kind.parent_column.key))
    check_may_undo(
        user_id=user_id,
        author_id=getattr(row, kind.author_column.key),
        created_at=row.created_at,
        what=f"{kind.this} {kind.parent_label(parent)}",
        now=now,
    )
    return row, parent


def delete_undone(
    session: Session,
    row: SQLModel,
    *,
    team_id: str,
    actor_id: str,
    action: str,
    entity: str,
    before: dict,
) -> None:
    """Delete the undone row and record who undid it, with the row as it was."""
    row_id = row.id
    session.delete(row)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=row_id,
        before=before,
    )
