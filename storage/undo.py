"""What undoing a check-in, a behavior log or kudos has in common: only its author may, within a
day, and once (a second try is told it was already undone, found through the audit log)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

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
