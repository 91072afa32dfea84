"""What undoing a check-in, a behavior log or kudos has in common: only its author may, within a
day, and once (a second try is told it was already undone, found through the audit log)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from storage.errors import DomainError, PermissionDenied
from storage.models import AuditLog, utcnow

UNDO_WINDOW = timedelta(hours=24)


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
