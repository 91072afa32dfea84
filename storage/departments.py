"""Departments, their heads and members, and who may do what: members, heads of a department,
workspace admins."""

from __future__ import annotations

from sqlalchemy import bindparam, case, literal_column
from sqlmodel import Session, col, func, select

from storage import audit
from storage.errors import DomainError, NotFound, PermissionDenied
from storage.models import NAME_MAX, Department, DepartmentMember
from storage.rows import DepartmentRow
from storage.teams import get_or_create_team


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def create_department(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    name: str,
    channel_id: str | None = None,
    head_ids: list[str] | None = None,
) -> Department:
    if not is_admin:
        raise PermissionDenied("a workspace admin", "create departments")
    clean = " ".join((name or "").split())
    if not clean:
        raise DomainError("A department needs a name.")
    if len(clean) > NAME_MAX:
        raise DomainError(f"Department names are limited to {NAME_MAX} characters.")
    existing = find_department(session, team_id=team_id, name=clean)
    if existing is not None:
        raise DomainError(f"A department named `{existing.name}` already exists.")
    get_or_create_team(session, team_id=team_id)
    dept = Department(team_id=team_id, name=clean, name_key=name_key(clean), channel_id=channel_id)
    dept.created_by = actor_id
    session.add(dept)
    session.flush()
    for uid in dict.fromkeys(head_ids or []):
        session.add(
            DepartmentMember(team_id=team_id, department_id=dept.id, user_id=uid, is_head=True)
        )
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="department.create",
        entity="department",
        entity_id=dept.id,
        after={**dept.model_dump(), "heads": head_ids or []},
    )
    return dept


# A listing by department looks its department up on every request: built once.
_DEPARTMENT_NAMED = select(Department).where(
    Department.team_id == bindparam("team_id"), Department.name_key == bindparam("key")
)


def find_department(session: Session, *, team_id: str, name: str) -> Department | None:
    return session.scalars(_DEPARTMENT_NAMED, {"team_id": team_id, "key": name_key(name)}).first()


def get_department(session: Session, *, team_id: str, name: str) -> Department:
    dept = find_department(session, team_id=team_id, name=name)
    if dept is None:
        raise NotFound(f"There is no department named `{name}`.", field="department")
    return dept


def department_by_id(session: Session, *, team_id: str, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None or dept.team_id != team_id:
        raise NotFound("That department does not exist.")
    return dept


# The department list in one statement, built once: each department with its member count and
# its heads' ids (joined by commas: Slack user ids hold none).
_TEAM_DEPARTMENTS = (
    select(
        *Department.__table__.columns,
        func.count(DepartmentMember.user_id),
        func.aggregate_strings(
            case((DepartmentMember.is_head, DepartmentMember.user_id)), literal_column("','")
        ),
    )
    .outerjoin(DepartmentMember, DepartmentMember.department_id == Department.id)
    .where(Department.team_id == bindparam("team_id"))
    .group_by(Department.id)
    .order_by(Department.name_key)
)


def list_departments(
    session: Session, *, team_id: str
) -> list[tuple[DepartmentRow, int, list[str]]]:
    """Each department (a plain row: the list is only rendered) with its member count and
    head ids (sorted), by name."""
    rows = session.connection().execute(_TEAM_DEPARTMENTS, {"team_id": team_id})
    return [
        (DepartmentRow._make(row[:-2]), row[-2], sorted(row[-1].split(",")) if row[-1] else [])
        for row in rows
    ]


def add_members(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    department_name: str,
    user_ids: list[str],
    as_heads: bool = False,
) -> tuple[Department, list[str]]:
    """Add people to a department; returns the ids newly added."""
    dept = get_department(session, team_id=team_id, name=department_name)
    require_head(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department=dept,
        action=f"add members to {dept.name}",
    )
    if as_heads and not is_admin:
        raise PermissionDenied("a workspace admin", "appoint department heads")
    if not user_ids:
        raise DomainError("Mention at least one person, e.g. `@maria`.")
    existing = {
        m.user_id: m
        for m in session.exec(
            select(DepartmentMember).where(DepartmentMember.department_id == dept.id)
        ).all()
    }
    added = []
    for uid in dict.fromkeys(user_ids):
        if uid in existing:
            if as_heads and not existing[uid].is_head:
                existing[uid].is_head = True
                session.add(existing[uid])
                added.append(uid)
            continue
        session.add(
            DepartmentMember(team_id=team_id, department_id=dept.id, user_id=uid, is_head=as_heads)
        )
        added.append(uid)
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="department.add_members",
        entity="department",
        entity_id=dept.id,
        after={"added": added, "heads": as_heads},
    )
    return dept, added


def memberships(session: Session, *, team_id: str, user_id: str) -> list[DepartmentMember]:
    return list(
        session.exec(
            select(DepartmentMember).where(
                DepartmentMember.team_id == team_id, DepartmentMember.user_id == user_id
            )
        ).all()
    )


def is_head(session: Session, *, team_id: str, user_id: str, department_id: int) -> bool:
    return bool(
        session.exec(
            select(func.count())
            .select_from(DepartmentMember)
            .where(
                DepartmentMember.team_id == team_id,
                DepartmentMember.department_id == department_id,
                DepartmentMember.user_id == user_id,
                DepartmentMember.is_head.is_(True),
            )
        ).one()
    )


def head_ids(session: Session, *, department_id: int) -> list[str]:
    return list(
        session.exec(
            select(DepartmentMember.user_id).where(
                DepartmentMember.department_id == department_id,
                DepartmentMember.is_head.is_(True),
            )
        ).all()
    )


def heads_of(session: Session, *, department_ids: list[int]) -> dict[int, list[str]]:
    """Each department's heads, for many departments in one query."""
    if not department_ids:
        return {}
    out: dict[int, list[str]] = {}
    for dept_id, user_id in session.exec(
        select(DepartmentMember.department_id, DepartmentMember.user_id)
        .where(
            col(DepartmentMember.department_id).in_(department_ids),
            DepartmentMember.is_head.is_(True),
        )
        .order_by(col(DepartmentMember.user_id))
    ).all():
        out.setdefault(dept_id, []).append(user_id)
    return out


def require_head(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    is_admin: bool,
    department: Department,
    action: str,
) -> None:
    if is_admin or is_head(session, team_id=team_id, user_id=user_id, department_id=department.id):
        return
    raise PermissionDenied(f"a head of {department.name} or a workspace admin", action)


def require_head_or_company_admin(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    is_admin: bool,
    department_id: int | None,
    action: str,
    company_action: str,
) -> Department | None:
    """The department, once the user heads it (or is an admin) and may `action` for it; None
    for the company (`department_id` None), where only admins may `company_action`."""
    if department_id is None:
        if not is_admin:
            raise PermissionDenied("a workspace admin", company_action)
        return None
    dept = department_by_id(session, team_id=team_id, department_id=department_id)
    require_head(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        department=dept,
        action=f"{action} for {dept.name}",
    )
    return dept


def require_member(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, action: str
) -> list[DepartmentMember]:
    mine = memberships(session, team_id=team_id, user_id=user_id)
    if not mine and not is_admin:
        raise PermissionDenied(
            "a member of a department (ask a department head to add you)", action
        )
    return mine


def departments_in(session: Session, *, team_id: str, ids: list[int] | None) -> list[Department]:
    """The team's departments by name (only `ids` when given)."""
    query = select(Department).where(Department.team_id == team_id)
    if ids is not None:
        if not ids:
            return []
        query = query.where(col(Department.id).in_(ids))
    return list(session.exec(query.order_by(Department.name_key)).all())
