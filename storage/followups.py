"""Follow-ups `F-3`: a detractor someone must contact, owned by the department it was routed to.

Life: open → taken (someone owns it: took it, or a head assigned it) → closed with an outcome.
Every state change is one conditional UPDATE from the state it was read in, so of two heads
pressing Take at once exactly one becomes the owner and the other is told who was first.
Taking or closing is the first contact. Closing as contacted/resolved logs the department's
follow-up behavior (if it named one) for the closer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, func, select

from storage import audit
from storage.behaviors import get_behavior, log_behavior
from storage.departments import (
    department_by_id,
    find_department,
    head_ids,
    heads_of,
    is_head,
)
from storage.errors import DomainError, NotFound, PermissionDenied
from storage.models import (
    NOTE_MAX,
    Behavior,
    Department,
    Feedback,
    FeedbackFollowupBehavior,
    Followup,
    FollowUpStatus,
    utcnow,
)
from storage.refs import get_by_ref
from storage.teams import admin_ids

PENDING = (FollowUpStatus.OPEN, FollowUpStatus.TAKEN)
OUTCOMES = ("contacted", "resolved", "unreachable", "not-needed")
CONTACT_OUTCOMES = ("contacted", "resolved")  # these log the department's follow-up behavior


def ref_of(row: Followup) -> str:
    return f"F-{row.number}"


def get_followup(session: Session, *, team_id: str, ref: str) -> Followup:
    return get_by_ref(
        session, model=Followup, team_id=team_id, ref=ref, kind="followup", noun="follow-up"
    )


def department_name(session: Session, row: Followup) -> str:
    if row.department_id is None:
        return "no department"
    return department_by_id(session, team_id=row.team_id, department_id=row.department_id).name


def deciders(session: Session, *, row: Followup, configured_admins=()) -> list[str]:
    """Who is told about a new or overdue follow-up nobody owns: the department's heads, or
    the workspace admins when it has none (or no department)."""
    heads = head_ids(session, department_id=row.department_id) if row.department_id else []
    return heads or admin_ids(session, team_id=row.team_id, configured=configured_admins)


def may_manage(
    session: Session, *, row: Followup, team_id: str, user_id: str, is_admin: bool
) -> bool:
    """Heads of the follow-up's department and admins (of its workspace) take, assign and
    close."""
    if row.team_id != team_id:
        return False
    if is_admin:
        return True
    return row.department_id is not None and is_head(
        session, team_id=row.team_id, user_id=user_id, department_id=row.department_id
    )


def _require_manager(session: Session, *, row: Followup, user_id: str, is_admin, action: str):
    if not may_manage(session, row=row, team_id=row.team_id, user_id=user_id, is_admin=is_admin):
        raise PermissionDenied(
            f"a head of {department_name(session, row)} or a workspace admin",
            f"{action} {ref_of(row)}",
        )


@dataclass
class Change:
    followup: Followup
    won: bool  # False: it had changed since it was read (nothing written); `followup` is fresh


def _change(session: Session, *, row: Followup, actor_id: str, values: dict, action: str) -> Change:
    """Compare-and-set from the state `row` was read in."""
    owner_cond = (
        col(Followup.owner_id).is_(None)
        if row.owner_id is None
        else Followup.owner_id == row.owner_id
    )
    won = audit.audited_update(
        session,
        row,
        where=[Followup.status == row.status, owner_cond],
        values=values,
        team_id=row.team_id,
        actor_id=actor_id,
        action=action,
        entity="followup",
    )
    return Change(row, won)


def _first_contact(row: Followup, now: datetime) -> datetime:
    return row.first_contact_at or now


def take(session: Session, *, team_id: str, actor_id: str, is_admin, ref: str) -> Change:
    row = get_followup(session, team_id=team_id, ref=ref)
    _require_manager(session, row=row, user_id=actor_id, is_admin=is_admin, action="take")
    if row.status != FollowUpStatus.OPEN:
        return Change(row, False)
    now = utcnow()
    return _change(
        session,
        row=row,
        actor_id=actor_id,
        action="followup.take",
        values={
            "status": FollowUpStatus.TAKEN,
            "owner_id": actor_id,
            "first_contact_at": _first_contact(row, now),
        },
    )


def assign(
    session: Session, *, team_id: str, actor_id: str, is_admin, ref: str, owner_id: str
) -> Change:
    row = get_followup(session, team_id=team_id, ref=ref)
    _require_manager(session, row=row, user_id=actor_id, is_admin=is_admin, action="assign")
    if row.status == FollowUpStatus.CLOSED:
        return Change(row, False)
    if row.owner_id == owner_id:
        raise DomainError(f"{ref_of(row)} is already owned by that person.", field="owner")
    return _change(
        session,
        row=row,
        actor_id=actor_id,
        action="followup.assign",
        values={"status": FollowUpStatus.TAKEN, "owner_id": owner_id},
    )


@dataclass
class Closing(Change):
    behavior: Behavior | None = None  # logged for the closer


def _log_followup_behavior(session: Session, row: Followup, *, actor_id: str) -> Behavior | None:
    """Log the department's follow-up behavior, if it has an active one, for a customer
    contacted; returns the behavior logged."""
    link = session.exec(
        select(FeedbackFollowupBehavior).where(
            FeedbackFollowupBehavior.team_id == row.team_id,
            FeedbackFollowupBehavior.department_id == row.department_id,
        )
    ).first()
    behavior = session.get(Behavior, link.behavior_id) if link else None
    if behavior is None or not behavior.active:
        return None
    # Closing was allowed already; the behavior is logged in the closer's name.
    log_behavior(
        session,
        team_id=row.team_id,
        user_id=actor_id,
        is_admin=True,
        ref=f"B-{behavior.number}",
        count=1,
        note=f"from {ref_of(row)}",
    )
    return behavior


def close(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin,
    ref: str,
    outcome: str,
    note: str = "",
) -> Closing:
    """Close with an outcome; its owner may too. Field errors: outcome, note."""
    outcome = (outcome or "").strip().lower()
    if outcome not in OUTCOMES:
        raise DomainError(
            f"`{outcome[:40]}` is not an outcome; use one of {', '.join(OUTCOMES)}.",
            field="outcome",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            f"The note is {len(note):,} characters; the limit is {NOTE_MAX:,}.", field="note"
        )
    row = get_followup(session, team_id=team_id, ref=ref)
    if row.owner_id != actor_id:
        if not may_manage(session, row=row, team_id=team_id, user_id=actor_id, is_admin=is_admin):
            raise PermissionDenied(
                f"its owner, a head of {department_name(session, row)} or a workspace admin",
                f"close {ref_of(row)}",
            )
    if row.status == FollowUpStatus.CLOSED:
        return Closing(row, False)
    now = utcnow()
    change = _change(
        session,
        row=row,
        actor_id=actor_id,
        action="followup.close",
        values={
            "status": FollowUpStatus.CLOSED,
            "outcome": outcome,
            "note": note or None,
            "closed_by": actor_id,
            "closed_at": now,
            "owner_id": row.owner_id or actor_id,
            "first_contact_at": _first_contact(row, now),
        },
    )
    closing = Closing(change.followup, change.won)
    if change.won and outcome in CONTACT_OUTCOMES and row.department_id is not None:
        closing.behavior = _log_followup_behavior(session, row, actor_id=actor_id)
    return closing


# ---- the department's follow-up behavior ------------------------------------------------------


def set_followup_behavior(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin,
    behavior_ref: str,
    department_name_text: str | None = None,
) -> tuple[Behavior, Department]:
    """Name the behavior a department's closed follow-ups log (admins; heads for their own)."""
    behavior = get_behavior(session, team_id=team_id, ref=behavior_ref)
    if department_name_text and department_name_text.strip():
        dept = find_department(session, team_id=team_id, name=department_name_text)
        if dept is None:
            raise NotFound(
                f"There is no department named `{department_name_text.strip()[:80]}`.",
                field="department",
            )
    else:
        dept = department_by_id(session, team_id=team_id, department_id=behavior.department_id)
    if not is_admin and not is_head(
        session, team_id=team_id, user_id=actor_id, department_id=dept.id
    ):
        raise PermissionDenied(
            f"a head of {dept.name} or a workspace admin", "name its follow-up behavior"
        )
    row = session.exec(
        select(FeedbackFollowupBehavior).where(
            FeedbackFollowupBehavior.team_id == team_id,
            FeedbackFollowupBehavior.department_id == dept.id,
        )
    ).first()
    before = row.model_dump() if row else None
    if row is None:
        row = FeedbackFollowupBehavior(
            team_id=team_id, department_id=dept.id, behavior_id=behavior.id, created_by=actor_id
        )
    row.behavior_id = behavior.id
    audit.saved(
        session,
        row,
        team_id=team_id,
        actor_id=actor_id,
        action="followup.behavior",
        entity="followup_behavior",
        before=before,
    )
    return behavior, dept


# ---- lists --------------------------------------------------------------------------------


LIST_LIMIT = 40


def list_followups(
    session: Session,
    *,
    team_id: str,
    view: str,
    user_id: str | None = None,
    department_id: int | None = None,
    now: datetime | None = None,
    limit: int = LIST_LIMIT,
) -> tuple[list[Followup], int]:
    """(rows, total): `mine` (owned by user), `open` (not closed), `overdue`, `department`
    (not closed, one department), `all` (every one, newest first)."""
    now = now or utcnow()
    where = [Followup.team_id == team_id]
    order = [col(Followup.due_at), col(Followup.number)]
    if view == "mine":
        where += [Followup.owner_id == user_id, col(Followup.status).in_(PENDING)]
    elif view == "open":
        where.append(col(Followup.status).in_(PENDING))
    elif view == "overdue":
        where += [col(Followup.status).in_(PENDING), col(Followup.due_at) < now]
    elif view == "department":
        where += [Followup.department_id == department_id, col(Followup.status).in_(PENDING)]
    elif view == "all":
        order = [col(Followup.number).desc()]
    else:
        raise ValueError(view)
    total = session.exec(select(func.count()).select_from(Followup).where(*where)).one()
    rows = list(session.exec(select(Followup).where(*where).order_by(*order).limit(limit)).all())
    return rows, total


def owned_by(session: Session, *, team_id: str, user_id: str, limit: int = 10) -> list[Followup]:
    """Follow-ups a person owns and has not closed, soonest due first (App Home)."""
    return list_followups(session, team_id=team_id, view="mine", user_id=user_id, limit=limit)[0]


# ---- notifications (claimed once each) ------------------------------------------------------


def needing_heads_notice(
    session: Session, *, team_id: str, ids: list[int] | None = None, limit: int = 200
) -> list[Followup]:
    """New follow-ups whose deciders have not been told yet."""
    q = select(Followup).where(
        Followup.team_id == team_id,
        col(Followup.heads_notified_at).is_(None),
        col(Followup.status).in_(PENDING),
    )
    if ids is not None:
        q = q.where(col(Followup.id).in_(ids or [-1]))
    return list(session.exec(q.order_by(col(Followup.id)).limit(limit)).all())


@dataclass
class Announcement:
    """What the new-detractor DM of one claimed follow-up says, and to whom."""

    followup: Followup
    feedback: Feedback | None
    department: str
    deciders: list[str]


def claim_announcements(
    session: Session, *, team_id: str, followup_ids: list[int], configured_admins=()
) -> list[Announcement]:
    """Claim the right to DM the deciders of these follow-ups (each new follow-up is announced
    once; one already closed is not announced at all) and read what to send, in a constant
    number of statements however many there are. One that nobody can be told about (no head,
    no admin known) is left unclaimed for a later try."""
    if not followup_ids:
        return []
    claimed = (
        session.execute(
            update(Followup)
            .where(
                Followup.team_id == team_id,
                col(Followup.id).in_(followup_ids),
                col(Followup.heads_notified_at).is_(None),
                col(Followup.status).in_(PENDING),
            )
            .values(heads_notified_at=utcnow())
            .returning(Followup.id)
        )
        .scalars()
        .all()
    )
    if not claimed:
        return []
    rows = session.exec(
        select(Followup, Feedback, Department.name)
        .outerjoin(Feedback, col(Feedback.id) == col(Followup.feedback_id))
        .outerjoin(Department, col(Department.id) == col(Followup.department_id))
        .where(col(Followup.id).in_(claimed))
        .order_by(col(Followup.number))
    ).all()
    heads = heads_of(
        session, department_ids=list({fu.department_id for fu, _, _ in rows if fu.department_id})
    )
    admins: list[str] | None = None
    out, nobody = [], []
    for fu, fb, dept_name in rows:
        people = heads.get(fu.department_id, [])
        if not people:
            if admins is None:
                admins = admin_ids(session, team_id=team_id, configured=configured_admins)
            people = admins
        if not people:
            nobody.append(fu.id)
            continue
        out.append(Announcement(fu, fb, dept_name or "no department", list(people)))
    if nobody:
        release_announcements(session, team_id=team_id, followup_ids=nobody)
    return out


def release_announcements(session: Session, *, team_id: str, followup_ids: list[int]) -> None:
    """Give claims back when no DM went out: the next try announces them."""
    session.execute(
        update(Followup)
        .where(Followup.team_id == team_id, col(Followup.id).in_(followup_ids))
        .values(heads_notified_at=None)
    )


def record_announcements(
    session: Session, *, team_id: str, delivered: dict[int, list[list[str]]]
) -> None:
    """Where each follow-up's new-detractor DMs went ([[channel, ts], …]), in one executemany."""
    if not delivered:
        return
    table = Followup.__table__
    session.execute(
        table.update()
        .where(table.c.team_id == team_id, table.c.id == bindparam("fid"))
        .values(heads_messages=bindparam("messages")),
        [{"fid": fid, "messages": json.dumps(msgs)} for fid, msgs in delivered.items()],
    )


def heads_messages(row: Followup) -> list[tuple[str, str]]:
    try:
        return [(c, t) for c, t in json.loads(row.heads_messages or "[]")]
    except (ValueError, TypeError):
        return []


def overdue_unnotified(session: Session, *, team_id: str, now: datetime) -> list[Followup]:
    return list(
        session.exec(
            select(Followup)
            .where(
                Followup.team_id == team_id,
                col(Followup.status).in_(PENDING),
                col(Followup.due_at) < now,
                col(Followup.overdue_notified_at).is_(None),
            )
            .order_by(col(Followup.due_at))
        ).all()
    )


def mark_overdue_notified(session: Session, *, team_id: str, followup_id: int) -> bool:
    return (
        session.execute(
            update(Followup)
            .where(
                Followup.id == followup_id,
                Followup.team_id == team_id,
                col(Followup.overdue_notified_at).is_(None),
            )
            .values(overdue_notified_at=utcnow())
        ).rowcount
        == 1
    )
