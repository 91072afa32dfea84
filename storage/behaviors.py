"""Behaviors: the employee actions that drive loyalty, and logs of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage import audit
from storage.departments import (
    get_department,
    list_departments,
    memberships,
    require_head,
)
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import NOTE_MAX, TITLE_MAX, Behavior, BehaviorLog, Department, Team, utcnow
from storage.objectives import get_objective
from storage.refs import format_ref, get_by_ref, next_number
from storage.teams import get_or_create_team, team_timezone, zone_info
from storage.undo import UndoKind, delete_undone, own_row_to_undo

MAX_WEEKLY_TARGET = 10_000
MAX_LOG_COUNT = 1_000


@dataclass
class BehaviorProgress:
    behavior: Behavior
    logged: int
    target: int

    @property
    def ref(self) -> str:
        return format_ref("behavior", self.behavior.number)

    @property
    def share(self) -> float:
        """Logged against target, 0..1 (a behavior without a target counts as met once logged)."""
        if self.target <= 0:
            return 1.0 if self.logged else 0.0
        return min(1.0, self.logged / self.target)


# --- weeks --------------------------------------------------------------------------------


def week_bounds(now: datetime | None = None, tz: str | None = None) -> tuple[datetime, datetime]:
    """Monday 00:00 to next Monday 00:00 in `tz` (UTC if unknown), as aware datetimes."""
    local = (now or utcnow()).astimezone(zone_info(tz))
    start = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    # Aware arithmetic keeps the wall clock, so a DST change inside the week is handled.
    return start, start + timedelta(days=7)


def team_week(session: Session, *, team_id: str, now: datetime | None = None):
    team = session.get(Team, team_id)
    return week_bounds(now, team_timezone(team))


# --- behaviors ----------------------------------------------------------------------------


def _check_description(description: str) -> str:
    clean = " ".join((description or "").split())
    if not clean:
        raise FieldErrors({"description": "Describe the behavior."})
    if len(clean) > TITLE_MAX:
        raise FieldErrors(
            {
                "description": f"A behavior is described in at most {TITLE_MAX} characters "
                f"(this one has {len(clean)})."
            }
        )
    return clean


def _linked_objective_id(
    session: Session, team_id: str, department: Department, objective_ref: str | None
) -> int | None:
    """The objective a new behavior links to: one of its department's, or none."""
    if not objective_ref:
        return None
    try:
        objective = get_objective(session, team_id=team_id, ref=objective_ref)
    except DomainError as exc:
        raise FieldErrors({"objective": exc.message}) from exc
    if objective.department_id != department.id:
        raise FieldErrors(
            {
                "objective": f"O-{objective.number} belongs to another department; link "
                f"an objective of {department.name}."
            }
        )
    return objective.id


def create_behavior(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    department: Department,
    description: str,
    weekly_target: int = 0,
    objective_ref: str | None = None,
) -> Behavior:
    if department.team_id != team_id:
        raise NotFound("That department does not exist.")
    require_head(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department=department,
        action=f"define behaviors for {department.name}",
    )
    clean = _check_description(description)
    if not 0 <= int(weekly_target) <= MAX_WEEKLY_TARGET:
        raise FieldErrors(
            {"weekly_target": f"A weekly target is a whole number from 0 to {MAX_WEEKLY_TARGET:,}."}
        )
    objective_id = _linked_objective_id(session, team_id, department, objective_ref)
    get_or_create_team(session, team_id=team_id)
    behavior = Behavior(
        team_id=team_id,
        number=next_number(session, team_id=team_id, kind="behavior"),
        department_id=department.id,
        description=clean,
        objective_id=objective_id,
        weekly_target=int(weekly_target),
        created_by=actor_id,
    )
    audit.saved(
        session,
        behavior,
        team_id=team_id,
        actor_id=actor_id,
        action="behavior.create",
        entity="behavior",
    )
    return behavior


def get_behavior(session: Session, *, team_id: str, ref: str) -> Behavior:
    return get_by_ref(
        session,
        model=Behavior,
        team_id=team_id,
        ref=ref,
        kind="behavior",
        noun="behavior",
        field="behavior",
    )


def _name_key(text: str) -> str:
    return " ".join(re.sub(r"[-_]", " ", text or "").split()).casefold()


def find_behavior_by_tag(session: Session, *, team_id: str, tag: str) -> Behavior:
    """`B-5`, or a behavior's description (case-insensitive; a unique prefix is enough)."""
    tag = (tag or "").strip().lstrip("#").strip()
    if re.match(r"^B-?\d+$", tag, re.IGNORECASE):
        return get_behavior(session, team_id=team_id, ref=tag)
    key = _name_key(tag)
    if not key:
        raise NotFound("An empty tag names no behavior.", field="behavior")
    active = session.exec(
        select(Behavior).where(Behavior.team_id == team_id, Behavior.active.is_(True))
    ).all()
    exact = [b for b in active if _name_key(b.description) == key]
    if len(exact) == 1:
        return exact[0]
    prefixed = exact or [b for b in active if _name_key(b.description).startswith(key)]
    if len(prefixed) == 1:
        return prefixed[0]
    if prefixed:
        refs = ", ".join(format_ref("behavior", b.number) for b in prefixed[:5])
        raise DomainError(
            f"`#{tag}` matches several behaviors ({refs}); name one by its number.",
            field="behavior",
        )
    raise NotFound(f"There is no behavior `#{tag}`.", field="behavior")


def log_behavior(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    is_admin: bool,
    ref: str,
    count: int = 1,
    note: str = "",
) -> tuple[BehaviorLog, Behavior]:
    behavior = get_behavior(session, team_id=team_id, ref=ref)
    if not behavior.active:
        raise DomainError(f"B-{behavior.number} is retired; it can no longer be logged.")
    if not 1 <= int(count) <= MAX_LOG_COUNT:
        raise DomainError(
            f"The count must be a whole number from 1 to {MAX_LOG_COUNT:,}.", field="count"
        )
    if len(note or "") > NOTE_MAX:
        raise DomainError(f"Notes are limited to {NOTE_MAX:,} characters.", field="note")
    mine = {m.department_id for m in memberships(session, team_id=team_id, user_id=user_id)}
    if behavior.department_id not in mine and not is_admin:
        dept = session.get(Department, behavior.department_id)
        raise PermissionDenied(f"members of {dept.name}", f"log B-{behavior.number}")
    row = BehaviorLog(
        team_id=team_id, behavior_id=behavior.id, user_id=user_id, count=int(count), note=note or ""
    )
    audit.saved(
        session,
        row,
        team_id=team_id,
        actor_id=user_id,
        action="behavior.log",
        entity="behavior_log",
    )
    return row, behavior


LOG_UNDO_ACTION = "behavior.log.undo"
LOG_UNDO = UndoKind(
    author_column=BehaviorLog.user_id,
    parent_model=Behavior,
    parent_column=BehaviorLog.behavior_id,
    find_parent=get_behavior,
    parent_prefix="B",
    action=LOG_UNDO_ACTION,
    noun="behavior log",
    prep="of",
)


def undo_behavior_log(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    log_id: int | None = None,
    ref: str | None = None,
    now: datetime | None = None,
) -> tuple[BehaviorLog, Behavior]:
    """Delete one of the caller's behavior logs from the last 24 hours — `log_id`, or their
    latest (of behavior `ref` if given). Weekly counts and correlations are read from the logs,
    so they follow."""
    row, behavior = own_row_to_undo(
        session, LOG_UNDO, team_id=team_id, user_id=user_id, row_id=log_id, ref=ref, now=now
    )
    delete_undone(
        session,
        row,
        team_id=team_id,
        actor_id=user_id,
        action=LOG_UNDO_ACTION,
        entity="behavior_log",
        before=row.model_dump(),
    )
    return row, behavior


# --- progress -----------------------------------------------------------------------------


def weekly_behavior_counts(
    session: Session,
    *,
    team_id: str,
    department_ids: list[int] | None,
    start: datetime,
    end: datetime,
) -> dict[int, list[BehaviorProgress]]:
    """Department id -> its active behaviors with the count logged in [start, end).

    Two queries whatever the number of departments. `department_ids=None` means all.
    Departments without active behaviors are absent.
    """
    if department_ids is not None and not department_ids:
        return {}
    query = select(Behavior).where(Behavior.team_id == team_id, Behavior.active.is_(True))
    if department_ids is not None:
        query = query.where(col(Behavior.department_id).in_(department_ids))
    behaviors = session.exec(query.order_by(Behavior.department_id, Behavior.number)).all()
    if not behaviors:
        return {}
    totals = dict(
        session.exec(
            select(BehaviorLog.behavior_id, func.sum(BehaviorLog.count))
            .where(
                BehaviorLog.team_id == team_id,
                col(BehaviorLog.behavior_id).in_([b.id for b in behaviors]),
                BehaviorLog.created_at >= start,
                BehaviorLog.created_at < end,
            )
            .group_by(BehaviorLog.behavior_id)
        ).all()
    )
    out: dict[int, list[BehaviorProgress]] = {}
    for b in behaviors:
        out.setdefault(b.department_id, []).append(
            BehaviorProgress(behavior=b, logged=int(totals.get(b.id) or 0), target=b.weekly_target)
        )
    return out


def list_behaviors(
    session: Session, *, team_id: str, department_name: str | None = None, now=None
) -> list[tuple[Department, list[BehaviorProgress]]]:
    """Departments (one, or all with behaviors) and this week's progress of each behavior."""
    start, end = team_week(session, team_id=team_id, now=now)
    if department_name:
        dept = get_department(session, team_id=team_id, name=department_name)
        counts = weekly_behavior_counts(
            session, team_id=team_id, department_ids=[dept.id], start=start, end=end
        )
        return [(dept, counts.get(dept.id, []))]
    counts = weekly_behavior_counts(
        session, team_id=team_id, department_ids=None, start=start, end=end
    )
    return [
        (d, counts[d.id])
        for d, _, _ in list_departments(session, team_id=team_id)
        if d.id in counts
    ]


def behaviors_for_user(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    now=None,
    department_ids: list[int] | None = None,
) -> list[tuple[Department, list[BehaviorProgress]]]:
    """This week's behaviors of the user's own departments (App Home). `department_ids`: those
    departments, when the caller has read the memberships already."""
    dept_ids = department_ids
    if dept_ids is None:
        dept_ids = [m.department_id for m in memberships(session, team_id=team_id, user_id=user_id)]
    if not dept_ids:
        return []
    start, end = team_week(session, team_id=team_id, now=now)
    counts = weekly_behavior_counts(
        session, team_id=team_id, department_ids=dept_ids, start=start, end=end
    )
    depts = session.exec(
        select(Department).where(col(Department.id).in_(list(counts))).order_by(Department.name_key)
    ).all()
    return [(d, counts[d.id]) for d in depts]


def behavior_options(session: Session, *, team_id: str, department_ids: list[int] | None = None):
    """Active behaviors for a select menu, numbered order."""
    query = select(Behavior).where(Behavior.team_id == team_id, Behavior.active.is_(True))
    if department_ids:
        query = query.where(col(Behavior.department_id).in_(department_ids))
    return list(session.exec(query.order_by(Behavior.number)).all())
