"""Praise worksheet rows stored as kudos drafts, once per row (spec §4).

Matching staff to Slack users happens in jobs/ (it needs the Slack API); this module gets
plain data: the row, the matched user id (or None) and stores it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from storage import audit
from storage.models import DepartmentMember, PraiseDraft

SYNC_ACTOR = "kpi-sync"


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
            status="pending" if r.staff_user_id else "unmatched",
        )
        session.add(draft)
        session.flush()
        audit.record(
            session,
            team_id=team_id,
            actor_id=SYNC_ACTOR,
            action="praise_draft.create",
            entity="praise_draft",
            entity_id=draft.id,
            after=draft,
        )
        created.append(draft)
    return created


def pending_drafts(session: Session, *, team_id: str) -> list[PraiseDraft]:
    return list(
        session.exec(
            select(PraiseDraft)
            .where(PraiseDraft.team_id == team_id, PraiseDraft.status == "pending")
            .order_by(col(PraiseDraft.id))
        ).all()
    )
