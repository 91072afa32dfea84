"""Alignment links: an objective contributes to parents of the same team and quarter.

Who may: the heads of the contributing (child) objective's department, and admins; a company
objective's links only admins. Refused (nothing written): a link to itself, across quarters or
teams, one that would close a cycle, a weight that is not a number in (0, MAX_WEIGHT].
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import audit
from storage.departments import department_by_id, require_head
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import Objective, ObjectiveLink, ObjectiveStatus, RefCounter
from storage.numbers import parse_number
from storage.rollup import QuarterTree, quarter_tree

MAX_WEIGHT = 100.0


def parse_weight(text: str) -> float:
    """A link weight: a number greater than 0 and at most MAX_WEIGHT."""
    value = parse_number(text)
    if value <= 0:
        raise DomainError(
            f"The weight `{text}` must be greater than 0 (the default is 1).", field="weight"
        )
    if value > MAX_WEIGHT:
        raise DomainError(
            f"The weight `{text}` is too large; use at most {MAX_WEIGHT:g}.", field="weight"
        )
    return value


def require_objective_head(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, obj: Objective, action: str
) -> None:
    """Heads of the objective's department, or admins; a company objective: admins only."""
    if is_admin:
        return
    if obj.department_id is None:
        raise PermissionDenied("a workspace admin", action)
    dept = department_by_id(session, team_id=team_id, department_id=obj.department_id)
    require_head(
        session, team_id=team_id, user_id=actor_id, is_admin=False, department=dept, action=action
    )


def objectives_by_ids(session: Session, *, team_id: str, ids: list[int]) -> list[Objective]:
    """This team's objectives with these ids; NotFound if any id is not one of them."""
    if not ids:
        return []
    rows = session.exec(
        select(Objective).where(Objective.team_id == team_id, col(Objective.id).in_(ids))
    ).all()
    if len({r.id for r in rows}) != len(set(ids)):
        raise NotFound("One of the chosen objectives is not in this workspace.", field="parent")
    return list(rows)


def lock_alignment(session: Session, *, team_id: str) -> None:
    """Serialize link changes within a team: a no-op UPDATE row-locks the team's objective
    counter, so two concurrent links cannot together close a cycle the checks each missed."""
    session.execute(
        update(RefCounter)
        .where(RefCounter.team_id == team_id, RefCounter.kind == "objective")
        .values(last=RefCounter.last)
    )


def _ref(obj_number: int) -> str:
    return f"O-{obj_number}"


# A cycle through a long chain names its first and last few objectives, not thousands.
CYCLE_SHOWN_EACH_END = 3


def _shortened(refs: list[str]) -> list[str]:
    if len(refs) <= 2 * CYCLE_SHOWN_EACH_END + 1:
        return refs
    hidden = len(refs) - 2 * CYCLE_SHOWN_EACH_END
    return [*refs[:CYCLE_SHOWN_EACH_END], f"… {hidden:,} more …", *refs[-CYCLE_SHOWN_EACH_END:]]


def check_link(tree: QuarterTree, child: Objective, parent: Objective) -> None:
    """Refuse a self link, a cross-quarter or cross-team link, or one that closes a cycle."""
    if child.team_id != parent.team_id:
        raise NotFound(f"{_ref(parent.number)} is not in this workspace.", field="parent")
    if child.id == parent.id:
        raise DomainError(f"{_ref(child.number)} cannot contribute to itself.", field="parent")
    if child.quarter != parent.quarter:
        raise DomainError(
            f"{_ref(child.number)} is in {child.quarter} and {_ref(parent.number)} in "
            f"{parent.quarter}: an objective only contributes to objectives of its own quarter.",
            field="parent",
        )
    # child -> parent closes a cycle when child is already an ancestor of parent.
    path = tree.path_up(parent.id, child.id)
    if path is not None:
        chain = " → ".join(_shortened([_ref(tree.nodes[i].number) for i in [child.id, *path]]))
        raise DomainError(
            f"{_ref(child.number)} cannot contribute to {_ref(parent.number)}: that would "
            f"make a cycle ({chain}).",
            field="parent",
        )


def _existing(session: Session, child_id: int, parent_id: int) -> ObjectiveLink | None:
    return session.exec(
        select(ObjectiveLink).where(
            ObjectiveLink.child_id == child_id, ObjectiveLink.parent_id == parent_id
        )
    ).first()


def align(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    child: Objective,
    parent: Objective,
    weight: float = 1.0,
) -> tuple[ObjectiveLink, bool]:
    """Link child → parent (or change the weight of the existing link); (link, created)."""
    require_objective_head(
        session,
        team_id=team_id,
        actor_id=actor_id,
        is_admin=is_admin,
        obj=child,
        action=f"align {_ref(child.number)}",
    )
    if not (0 < weight <= MAX_WEIGHT):
        raise DomainError(
            f"The weight must be greater than 0 and at most {MAX_WEIGHT:g}.", field="weight"
        )
    lock_alignment(session, team_id=team_id)
    tree = quarter_tree(session, team_id=team_id, quarter=child.quarter)
    check_link(tree, child, parent)
    link = _existing(session, child.id, parent.id)
    if link is not None:
        before = link.model_dump()
        link.weight = weight
        audit.saved(
            session,
            link,
            team_id=team_id,
            actor_id=actor_id,
            action="objective.align",
            entity="objective_link",
            before=before,
        )
        return link, False
    link = _add_link(
        session, team_id=team_id, actor_id=actor_id, child=child, parent=parent, weight=weight
    )
    return link, True


def unalign(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    child: Objective,
    parent: Objective,
) -> None:
    require_objective_head(
        session,
        team_id=team_id,
        actor_id=actor_id,
        is_admin=is_admin,
        obj=child,
        action=f"unalign {_ref(child.number)}",
    )
    link = _existing(session, child.id, parent.id) if child.team_id == parent.team_id else None
    if link is None:
        raise NotFound(f"{_ref(child.number)} does not contribute to {_ref(parent.number)}.")
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="objective.unalign",
        entity="objective_link",
        entity_id=link.id,
        before=link,
    )
    session.delete(link)
    session.flush()


def set_parents(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    child: Objective,
    parent_ids: list[int],
) -> None:
    """Make child contribute to exactly these parents (the modals' "Contributes to").

    The caller has checked the actor may edit `child`. Kept links keep their weight; new ones
    get weight 1. FieldErrors keyed `contributes_to`; nothing written on error.
    """
    try:
        parents = objectives_by_ids(session, team_id=team_id, ids=parent_ids)
        lock_alignment(session, team_id=team_id)
        tree = quarter_tree(session, team_id=team_id, quarter=child.quarter)
        current = {
            link.parent_id: link
            for link in session.exec(
                select(ObjectiveLink).where(ObjectiveLink.child_id == child.id)
            ).all()
        }
        for link in current.values():  # checks run as if the removed links were gone
            node = tree.nodes.get(child.id)
            if node and link.parent_id not in parent_ids:
                node.parents = [(p, w) for p, w in node.parents if p != link.parent_id]
        for parent in parents:
            if parent.id not in current:
                check_link(tree, child, parent)
    except DomainError as exc:
        raise FieldErrors({"contributes_to": exc.message}) from None
    wanted = {p.id for p in parents}
    for pid, link in current.items():
        if pid not in wanted:
            audit.record(
                session,
                team_id=team_id,
                actor_id=actor_id,
                action="objective.unalign",
                entity="objective_link",
                entity_id=link.id,
                before=link,
            )
            session.delete(link)
    for parent in parents:
        if parent.id in current:
            continue
        _add_link(
            session, team_id=team_id, actor_id=actor_id, child=child, parent=parent, weight=1.0
        )
    session.flush()


def _add_link(
    session: Session, *, team_id: str, actor_id: str, child, parent, weight: float
) -> ObjectiveLink:
    """Store one link, audit-logged (the caller has validated it)."""
    link = ObjectiveLink(
        team_id=team_id,
        quarter=child.quarter,
        child_id=child.id,
        parent_id=parent.id,
        weight=weight,
        created_by=actor_id,
    )
    audit.saved(
        session,
        link,
        team_id=team_id,
        actor_id=actor_id,
        action="objective.align",
        entity="objective_link",
    )
    return link


def parent_ids_of(session: Session, *, child_id: int) -> list[int]:
    return list(
        session.exec(select(ObjectiveLink.parent_id).where(ObjectiveLink.child_id == child_id))
    )


def quarter_choices(session: Session, *, team_id: str, quarter: str) -> list[Objective]:
    """The quarter's active objectives, company ones first (the "Contributes to" options)."""
    rows = session.exec(
        select(Objective)
        .where(
            Objective.team_id == team_id,
            Objective.quarter == quarter,
            Objective.status == ObjectiveStatus.ACTIVE,
        )
        .order_by(col(Objective.department_id).is_not(None), Objective.number)
    ).all()
    return list(rows)
