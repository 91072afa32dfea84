"""Commitments `C-7`: one department asks another for something by a date.

Lifecycle: open (asked) → accepted (whoever accepted owns it) or declined (with a reason) →
done. Every change (accept, decline, reassign, done) is one conditional UPDATE from the status
(and owner) it was read in, so two heads clicking at once, one clicking twice, or a decline
landing between another request's read and write leave exactly one change; the loser changes
nothing. Overdue: open or accepted the day after its due date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from storage import audit
from storage.departments import (
    department_by_id,
    find_department,
    is_head,
    memberships,
    require_member,
)
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import NOTE_MAX, Commitment, CommitmentStatus, Department, utcnow
from storage.objectives import get_key_result
from storage.refs import get_by_ref, next_number

PENDING = (CommitmentStatus.OPEN, CommitmentStatus.ACCEPTED)  # still owed
WHAT_MAX = 1000


class AlreadyChanged(DomainError):
    """Someone changed the commitment first (its status, or its owner): nothing was written.
    `commitment` is its current state."""

    def __init__(self, row: Commitment, *, read_status: str | None = None):
        if read_status is None or row.status != read_status:
            message = f"C-{row.number} is already {row.status}."
        else:
            message = f"C-{row.number} changed meanwhile (a new owner); nothing was changed."
        super().__init__(message)
        self.commitment = row


def _change_as_read(
    session: Session,
    row: Commitment,
    status: str,
    owner_id: str | None,
    *,
    values: dict,
    actor_id: str,
    action: str,
) -> Commitment:
    """Apply `values` only if the commitment still has the status and owner it was read with
    (audited); AlreadyChanged when another change landed first."""
    owner_then = (
        Commitment.owner_id.is_(None) if owner_id is None else Commitment.owner_id == owner_id
    )
    if not audit.audited_update(
        session,
        row,
        where=[Commitment.status == status, owner_then],
        values=values,
        team_id=row.team_id,
        actor_id=actor_id,
        action=action,
        entity="commitment",
    ):
        raise AlreadyChanged(row, read_status=status)
    return row


def parse_due_date(text: str, *, today: date) -> date:
    """YYYY-MM-DD, today or later."""
    raw = (text or "").strip()
    try:
        due = date.fromisoformat(raw)
        if len(raw) != 10:
            raise ValueError(raw)
    except ValueError:
        raise DomainError(
            f"`{raw}` is not a date; write it as YYYY-MM-DD, e.g. `{today.isoformat()}`.",
            field="due_date",
        ) from None
    if due < today:
        raise DomainError(f"The due date {due.isoformat()} is in the past.", field="due_date")
    return due


def split_department(session: Session, *, team_id: str, text: str) -> tuple[Department, str]:
    """The department whose name starts `text` (longest match, any case) and the rest."""
    words = (text or "").split()
    for n in range(len(words), 0, -1):
        dept = find_department(session, team_id=team_id, name=" ".join(words[:n]))
        if dept is not None:
            if n == len(words):
                raise DomainError(f"Say what you need from {dept.name}.", field="what")
            return dept, " ".join(words[n:])
    first = words[0] if words else ""
    raise NotFound(f"There is no department named `{first}`.", field="department")


def get_commitment(session: Session, *, team_id: str, ref: str) -> Commitment:
    return get_by_ref(
        session, model=Commitment, team_id=team_id, ref=ref, kind="commitment", noun="commitment"
    )


def _checked_request(department: Department, what: str, due_date: date, today: date) -> str:
    """The request's text, stripped, once it and its due date are acceptable."""
    what = (what or "").strip()
    if not what:
        raise DomainError(f"Say what you need from {department.name}.", field="what")
    if len(what) > WHAT_MAX:
        raise DomainError(
            f"The request is {len(what):,} characters; the limit is {WHAT_MAX:,}.", field="what"
        )
    if due_date < today:
        raise DomainError(f"The due date {due_date.isoformat()} is in the past.", field="due_date")
    return what


def ask(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    department: Department,
    what: str,
    due_date: date,
    key_result_ref: str | None = None,
    today: date,
) -> Commitment:
    """Ask `department` for `what` by `due_date`; the asker is a member of another department."""
    mine = require_member(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        action="ask another department for a commitment",
    )
    if department.team_id != team_id:
        raise NotFound("There is no such department in this workspace.", field="department")
    if any(m.department_id == department.id for m in mine):
        raise DomainError(
            f"You are in {department.name}: ask another department, or agree it within yours.",
            field="department",
        )
    what = _checked_request(department, what, due_date, today)
    kr_id = None
    if key_result_ref:
        kr_id = get_key_result(session, team_id=team_id, ref=key_result_ref).id
    row = Commitment(
        team_id=team_id,
        number=next_number(session, team_id=team_id, kind="commitment"),
        department_id=department.id,
        asker_id=actor_id,
        asker_department_id=mine[0].department_id if mine else None,
        what=what,
        due_date=due_date,
        key_result_id=kr_id,
    )
    audit.saved(
        session,
        row,
        team_id=team_id,
        actor_id=actor_id,
        action="commitment.ask",
        entity="commitment",
    )
    return row


def require_owing_head(
    session: Session, *, row: Commitment, team_id: str, user_id: str, is_admin: bool, action: str
) -> Department:
    if row.team_id != team_id:  # another workspace's commitment is not this caller's to touch
        raise PermissionDenied("a head of the owing department", action)
    dept = department_by_id(session, team_id=row.team_id, department_id=row.department_id)
    if not is_admin and not is_head(
        session, team_id=row.team_id, user_id=user_id, department_id=dept.id
    ):
        raise PermissionDenied(f"a head of {dept.name} or a workspace admin", action)
    return dept


@dataclass
class Decision:
    commitment: Commitment
    won: bool  # False: someone had already decided (nothing changed, nobody to notify)


def _decide(session: Session, *, row: Commitment, actor_id: str, values: dict, action: str):
    won = audit.audited_update(
        session,
        row,
        where=[Commitment.status == CommitmentStatus.OPEN],
        values={"decided_by": actor_id, "decided_at": utcnow(), **values},
        team_id=row.team_id,
        actor_id=actor_id,
        action=action,
        entity="commitment",
    )
    return Decision(row, won)


def accept(session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str) -> Decision:
    row = get_commitment(session, team_id=team_id, ref=ref)
    require_owing_head(
        session,
        row=row,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        action=f"accept C-{row.number}",
    )
    return _decide(
        session,
        row=row,
        actor_id=actor_id,
        values={"status": CommitmentStatus.ACCEPTED, "owner_id": actor_id},
        action="commitment.accept",
    )


def decline(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str, reason: str
) -> Decision:
    """Field error key: reason."""
    row = get_commitment(session, team_id=team_id, ref=ref)
    require_owing_head(
        session,
        row=row,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        action=f"decline C-{row.number}",
    )
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": "Say why, so the asker can plan around it."})
    if len(reason) > NOTE_MAX:
        raise FieldErrors({"reason": f"At most {NOTE_MAX:,} characters."})
    return _decide(
        session,
        row=row,
        actor_id=actor_id,
        values={"status": CommitmentStatus.DECLINED, "decline_reason": reason},
        action="commitment.decline",
    )


def reassign(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str, owner_id: str
) -> Commitment:
    """A head of the owing department (or an admin) names its owner; an open one is accepted."""
    row = get_commitment(session, team_id=team_id, ref=ref)
    dept = require_owing_head(
        session,
        row=row,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        action=f"reassign C-{row.number}",
    )
    read_status, read_owner = row.status, row.owner_id
    if read_status not in PENDING:
        raise AlreadyChanged(row)
    if not any(
        m.department_id == dept.id for m in memberships(session, team_id=team_id, user_id=owner_id)
    ):
        raise DomainError(f"The new owner must be a member of {dept.name}.", field="owner")
    values: dict = {"owner_id": owner_id}
    if read_status == CommitmentStatus.OPEN:
        values.update(status=CommitmentStatus.ACCEPTED, decided_by=actor_id, decided_at=utcnow())
    return _change_as_read(
        session,
        row,
        read_status,
        read_owner,
        values=values,
        actor_id=actor_id,
        action="commitment.reassign",
    )


def complete(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str, note: str = ""
) -> Commitment:
    """Close a commitment: its owner or the owing department's heads (admins too)."""
    row = get_commitment(session, team_id=team_id, ref=ref)
    if row.owner_id != actor_id:
        dept = department_by_id(session, team_id=team_id, department_id=row.department_id)
        if not is_admin and not is_head(
            session, team_id=team_id, user_id=actor_id, department_id=dept.id
        ):
            raise PermissionDenied(
                f"the owner of C-{row.number} or a head of {dept.name}",
                f"close C-{row.number}",
            )
    read_status, read_owner = row.status, row.owner_id
    if read_status not in PENDING:
        raise AlreadyChanged(row)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            f"The note is {len(note):,} characters; the limit is {NOTE_MAX:,}.", field="note"
        )
    values = {
        "status": CommitmentStatus.DONE,
        "done_by": actor_id,
        "done_at": utcnow(),
        "done_note": note or None,
        "owner_id": read_owner or actor_id,
    }
    # The owner is part of the condition: the permission above was checked against it.
    return _change_as_read(
        session,
        row,
        read_status,
        read_owner,
        values=values,
        actor_id=actor_id,
        action="commitment.done",
    )


def pending(
    session: Session,
    *,
    team_id: str,
    user_id: str | None = None,
    department_id: int | None = None,
    limit: int | None = None,
) -> list[Commitment]:
    """Open and accepted commitments, oldest due first: asked by or owned by `user_id`, or
    owed by or asked from `department_id`, or all."""
    q = select(Commitment).where(Commitment.team_id == team_id, col(Commitment.status).in_(PENDING))
    if user_id is not None:
        q = q.where((Commitment.asker_id == user_id) | (Commitment.owner_id == user_id))
    if department_id is not None:
        q = q.where(
            (Commitment.department_id == department_id)
            | (Commitment.asker_department_id == department_id)
        )
    q = q.order_by(Commitment.due_date, Commitment.number)
    if limit is not None:
        q = q.limit(limit)
    return list(session.exec(q).all())


def overdue(session: Session, *, team_id: str, today: date) -> list[Commitment]:
    """Still owed the day after the due date."""
    return list(
        session.exec(
            select(Commitment)
            .where(
                Commitment.team_id == team_id,
                col(Commitment.status).in_(PENDING),
                Commitment.due_date < today,
            )
            .order_by(Commitment.due_date, Commitment.number)
        ).all()
    )


@dataclass
class DepartmentCommitments:
    owes: list[Commitment]  # owed by the department ("you owe")
    owed: list[Commitment]  # asked by its members ("owed to you")


@dataclass
class KeptMissed:
    kept: int = 0
    missed: int = 0


def kept_and_missed(
    session: Session, *, team_id: str, start: date, end: date, today: date
) -> dict[int, KeptMissed]:
    """Per owing department, commitments due in [start, end]: kept (done by the due date) and
    missed (done late, or still owed after it)."""
    out: dict[int, KeptMissed] = defaultdict(KeptMissed)
    for row in session.exec(
        select(Commitment).where(
            Commitment.team_id == team_id,
            Commitment.due_date >= start,
            Commitment.due_date <= end,
            col(Commitment.status).in_((*PENDING, CommitmentStatus.DONE)),
        )
    ).all():
        if (
            row.status == CommitmentStatus.DONE
            and row.done_at is not None
            and row.done_at.date() <= row.due_date
        ):
            out[row.department_id].kept += 1
        elif row.status == CommitmentStatus.DONE or row.due_date < today:
            out[row.department_id].missed += 1
    return dict(out)
