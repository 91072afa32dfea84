"""Praise worksheet rows stored as kudos drafts, once per row, and deciding them.

Matching staff to Slack users happens in jobs/ (it needs the Slack API); this module gets
plain data: the row, the matched user id (or None) and stores it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import audit
from storage.errors import DomainError, NotFound, PermissionDenied
from storage.kpi_values import SYNC_ACTOR
from storage.kudos import KudosItem, create_recognition
from storage.models import DepartmentMember, PraiseDraft, PraiseDraftStatus, utcnow
from storage.teams import admin_ids


class AlreadyDecided(DomainError):
    """Someone decided the draft first; `decided_by` is who (None if unknown)."""

    def __init__(self, draft: PraiseDraft):
        super().__init__(f"This praise was already {draft.status}.")
        self.status = draft.status
        self.decided_by = draft.decided_by


@dataclass(frozen=True)
class PraiseIn:
    row_key: str
    praise_date: date | None
    customer: str
    comment: str
    staff: str
    staff_user_id: str | None  # None: nobody in Slack matched the staff column


def known_row_keys(session: Session, *, team_id: str, row_keys: Iterable[str]) -> set[str]:
    keys = list(set(row_keys))
    found: set[str] = set()
    for i in range(0, len(keys), 500):  # keep IN lists short for both databases
        found.update(
            session.exec(
                select(PraiseDraft.row_key).where(
                    PraiseDraft.team_id == team_id, col(PraiseDraft.row_key).in_(keys[i : i + 500])
                )
            ).all()
        )
    return found


def department_of(session: Session, *, team_id: str, user_id: str) -> int | None:
    """The staff member's department (the first one they joined) — whose head confirms."""
    return session.exec(
        select(DepartmentMember.department_id)
        .where(DepartmentMember.team_id == team_id, DepartmentMember.user_id == user_id)
        .order_by(col(DepartmentMember.id))
        .limit(1)
    ).first()


def store_drafts(session: Session, *, team_id: str, rows: Iterable[PraiseIn]) -> list[PraiseDraft]:
    """Store rows not stored before; a row already seen (same content) is skipped."""
    rows = list({r.row_key: r for r in rows}.values())
    seen = known_row_keys(session, team_id=team_id, row_keys=[r.row_key for r in rows])
    created = []
    for r in rows:
        if r.row_key in seen:
            continue
        draft = PraiseDraft(
            team_id=team_id,
            row_key=r.row_key,
            praise_date=r.praise_date,
            customer=r.customer[:200],
            comment=r.comment,
            staff=r.staff[:254],
            staff_user_id=r.staff_user_id,
            department_id=(
                department_of(session, team_id=team_id, user_id=r.staff_user_id)
                if r.staff_user_id
                else None
            ),
            status=PraiseDraftStatus.PENDING if r.staff_user_id else PraiseDraftStatus.UNMATCHED,
        )
        audit.saved(
            session,
            draft,
            team_id=team_id,
            actor_id=SYNC_ACTOR,
            action="praise_draft.create",
            entity="praise_draft",
        )
        created.append(draft)
    return created


# --- deciding drafts ----------------------------------------------------------------------


def drafts_to_notify(session: Session, *, team_id: str) -> list[PraiseDraft]:
    """Pending, matched drafts whose heads have not been told yet."""
    return list(
        session.exec(
            select(PraiseDraft)
            .where(
                PraiseDraft.team_id == team_id,
                PraiseDraft.status == PraiseDraftStatus.PENDING,
                col(PraiseDraft.staff_user_id).is_not(None),
                col(PraiseDraft.notified_at).is_(None),
            )
            .order_by(PraiseDraft.id)
        ).all()
    )


def draft_deciders(session: Session, *, draft: PraiseDraft) -> list[str]:
    """Who is asked to confirm: the heads of the staff member's department(s), never the
    staff member themself; workspace admins known to the app when no other head exists."""
    dept_ids = (
        [draft.department_id]
        if draft.department_id
        else list(
            session.exec(
                select(DepartmentMember.department_id).where(
                    DepartmentMember.team_id == draft.team_id,
                    DepartmentMember.user_id == draft.staff_user_id,
                )
            ).all()
        )
    )
    heads = []
    if dept_ids:
        heads = list(
            session.exec(
                select(DepartmentMember.user_id)
                .where(
                    DepartmentMember.team_id == draft.team_id,
                    col(DepartmentMember.department_id).in_(dept_ids),
                    DepartmentMember.is_head.is_(True),
                )
                .order_by(DepartmentMember.id)
            ).all()
        )
    heads = [h for h in dict.fromkeys(heads) if h != draft.staff_user_id]
    if heads:
        return heads
    return [a for a in admin_ids(session, team_id=draft.team_id) if a != draft.staff_user_id]


def mark_draft_notified(session: Session, *, team_id: str, draft_id: int) -> bool:
    """Claim the right to notify; False if another run already did (each draft DMs once)."""
    result = session.execute(
        update(PraiseDraft)
        .where(
            PraiseDraft.id == draft_id,
            PraiseDraft.team_id == team_id,
            col(PraiseDraft.notified_at).is_(None),
        )
        .values(notified_at=utcnow())
    )
    return result.rowcount == 1


def release_draft_claim(session: Session, *, team_id: str, draft_id: int) -> None:
    """Give back a claim whose DMs all failed, so the next run tries again; a draft whose
    DMs were recorded keeps its claim."""
    session.execute(
        update(PraiseDraft)
        .where(
            PraiseDraft.id == draft_id,
            PraiseDraft.team_id == team_id,
            col(PraiseDraft.notified_messages).is_(None),
        )
        .values(notified_at=None)
    )


def record_draft_messages(
    session: Session, *, team_id: str, draft_id: int, messages: list[tuple[str, str]]
) -> None:
    """Remember where the prompts went (channel, ts), so deciding the draft can update them."""
    session.execute(
        update(PraiseDraft)
        .where(PraiseDraft.id == draft_id, PraiseDraft.team_id == team_id)
        .values(notified_messages=json.dumps([list(m) for m in messages]))
    )


def draft_praise_text(draft: PraiseDraft) -> str:
    who = draft.customer.strip() or "A customer"
    return f"{who} said: {draft.comment.strip()}"


def _post_as_kudos(
    session: Session, draft: PraiseDraft, actor_id: str, name_people: Callable[[list[str]], str]
) -> KudosItem:
    """The recognition a confirmed draft becomes, given by the head who confirmed it."""
    item = create_recognition(
        session,
        team_id=draft.team_id,
        giver_id=actor_id,
        recipient_ids=[draft.staff_user_id] if draft.staff_user_id else [],
        text=draft_praise_text(draft),
        source="sheet",
        name_people=name_people,
    )
    session.execute(
        update(PraiseDraft)
        .where(PraiseDraft.id == draft.id)
        .values(recognition_id=item.recognition.id)
    )
    return item


def decide_draft(
    session: Session,
    *,
    team_id: str,
    draft_id: int,
    actor_id: str,
    is_admin: bool,
    confirm: bool,
    name_people: Callable[[list[str]], str] = ", ".join,
) -> tuple[PraiseDraft, KudosItem | None]:
    """Confirm (posts a recognition) or dismiss a draft, exactly once.

    The conditional UPDATE … WHERE status='pending' is the arbiter: of two heads clicking at the
    same moment, one updates a row and the other sees rowcount 0 (PostgreSQL re-checks the
    condition after the first commits; SQLite serializes writers)."""
    draft = session.get(PraiseDraft, draft_id)
    if draft is None or draft.team_id != team_id:
        raise NotFound("That praise draft does not exist.")
    if not is_admin and actor_id not in draft_deciders(session, draft=draft):
        raise PermissionDenied("the staff member's department head or an admin", "decide it")
    now = utcnow()
    result = session.execute(
        update(PraiseDraft)
        .where(
            PraiseDraft.id == draft_id,
            PraiseDraft.team_id == team_id,
            PraiseDraft.status == PraiseDraftStatus.PENDING,
        )
        .values(
            status=PraiseDraftStatus.CONFIRMED if confirm else PraiseDraftStatus.DISMISSED,
            decided_by=actor_id,
            decided_at=now,
        )
    )
    if result.rowcount != 1:
        session.rollback()
        session.refresh(draft)
        raise AlreadyDecided(draft)
    item = _post_as_kudos(session, draft, actor_id, name_people) if confirm else None
    session.refresh(draft)
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="praise_draft.confirm" if confirm else "praise_draft.dismiss",
        entity="praise_draft",
        entity_id=draft.id,
        after=draft,
    )
    return draft, item
