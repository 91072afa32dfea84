"""Rolled-up progress: an objective's progress is the weighted mean of its own key
results (weight 1 each) and its children's rolled-up progress (each link's weight).

Links never cross quarters, so one quarter's whole alignment graph answers every question about
any objective in it. `quarter_tree` loads it in two statements whatever its size: the quarter's
objectives with their own key results' progress (summed by the database as key results change,
storage.models.ObjectiveKrTotals), and the quarter's links.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from storage.models import KeyResult, Objective, ObjectiveKrTotals, ObjectiveLink, ObjectiveStatus
from storage.progress import progress, status_for_progress


@dataclass(slots=True)
class Node:
    id: int
    number: int
    title: str
    department_id: int | None
    owner_id: str
    status: str
    own_sum: float = 0.0
    own_count: int = 0
    parents: list[tuple[int, float]] = field(default_factory=list)  # (parent id, weight)
    children: list[tuple[int, float]] = field(default_factory=list)  # (child id, weight)

    @property
    def is_company(self) -> bool:
        return self.department_id is None


def reachable(starts: Iterable[int], step: Callable[[int], Iterable[int]]) -> set[int]:
    """Every objective reached from `starts` by repeated `step` (up or down the links), each
    visited once, `starts` included: the one walk behind ancestors, descendants and the part of
    a tree a page needs."""
    seen: set[int] = set()
    todo = list(starts)
    while todo:
        oid = todo.pop()
        if oid in seen:
            continue
        seen.add(oid)
        todo.extend(step(oid))
    return seen


@dataclass
class QuarterTree:
    team_id: str
    quarter: str
    nodes: dict[int, Node] = field(default_factory=dict)
    # Every objective and link of the quarter is here (not just a part): any objective of the
    # quarter may use this tree.
    complete: bool = False
    _progress: dict[int, float] = field(default_factory=dict)

    def progress(self, objective_id: int) -> float:
        """Rolled-up progress 0..1 (iterative post-order, memoised: a whole quarter's tree costs
        one visit per objective and link; links are acyclic by construction, and a link that
        closed a cycle anyway would count as 0 rather than loop)."""
        memo = self._progress
        found = memo.get(objective_id)
        if found is not None:
            return found
        nodes = self.nodes
        stack = [objective_id]
        visited: set[int] = set()
        while stack:
            oid = stack[-1]
            if oid in memo:
                stack.pop()
                continue
            node = nodes.get(oid)
            if node is None:
                memo[oid] = 0.0
                stack.pop()
                continue
            if oid not in visited:
                visited.add(oid)
                pending = [c for c, _ in node.children if c not in memo and c not in visited]
                if pending:
                    stack.extend(pending)
                    continue
            stack.pop()
            total, weight = node.own_sum, float(node.own_count)
            for child, w in node.children:
                total += w * memo.get(child, 0.0)
                weight += w
            memo[oid] = min(1.0, max(0.0, total / weight)) if weight > 0 else 0.0
        return memo[objective_id]

    def status(self, objective_id: int, now: datetime | date) -> str:
        return status_for_progress(self.progress(objective_id), self.quarter, now)

    def company_ids(self) -> list[int]:
        return sorted(
            (n.id for n in self.nodes.values() if n.is_company), key=lambda i: self.nodes[i].number
        )

    def unaligned_ids(self) -> list[int]:
        """Department objectives with no parent, by department then number."""
        return sorted(
            (n.id for n in self.nodes.values() if not n.is_company and not n.parents),
            key=lambda i: (self.nodes[i].department_id, self.nodes[i].number),
        )

    def ancestors(self, objective_id: int) -> set[int]:
        """Every objective `objective_id` contributes to, at any depth."""
        return reachable(self._parents_of(objective_id), self._parents_of)

    def descendants(self, roots: Iterable[int]) -> set[int]:
        """`roots` and every objective they roll up from, at any depth."""
        return reachable(roots, self._children_of)

    def _parents_of(self, objective_id: int) -> list[int]:
        node = self.nodes.get(objective_id)
        return [p for p, _ in node.parents] if node is not None else []

    def _children_of(self, objective_id: int) -> list[int]:
        node = self.nodes.get(objective_id)
        return [c for c, _ in node.children] if node is not None else []

    def path_up(self, start: int, goal: int) -> list[int] | None:
        """Objective ids from `start` up through parents to `goal`, or None."""
        prev: dict[int, int | None] = {start: None}
        todo = deque([start])  # breadth first: the shortest path, in one visit per objective
        while todo:
            oid = todo.popleft()
            if oid == goal:
                path = [oid]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path))
            for p, _ in self.nodes[oid].parents if oid in self.nodes else []:
                if p not in prev:
                    prev[p] = oid
                    todo.append(p)
        return None


# Above this many objectives a partial tree reads the whole quarter rather than an id list.
ID_LIST_MAX = 500


def _add_nodes(conn, tree: QuarterTree, where) -> None:
    """Objectives matching `where` with their own key results' progress summed (kept by the
    database in objectivekrtotals: one row per objective, not one per key result)."""
    rows = conn.execute(
        select(
            Objective.id,
            Objective.number,
            Objective.title,
            Objective.department_id,
            Objective.owner_id,
            Objective.status,
            ObjectiveKrTotals.share_sum,
            ObjectiveKrTotals.kr_count,
        )
        .select_from(Objective)
        .outerjoin(ObjectiveKrTotals, ObjectiveKrTotals.objective_id == Objective.id)
        .where(*where)
    ).all()
    nodes = tree.nodes
    for oid, number, title, dept_id, owner_id, status, total, count in rows:
        nodes[oid] = Node(oid, number, title, dept_id, owner_id, status, total or 0.0, count or 0)


# Read by every list, objective view and Home: built once, not on each call.
_QUARTER_LINKS = (
    select(ObjectiveLink.child_id, ObjectiveLink.parent_id, ObjectiveLink.weight)
    .where(
        ObjectiveLink.team_id == bindparam("team_id"), ObjectiveLink.quarter == bindparam("quarter")
    )
    .order_by(ObjectiveLink.id)
)


def _quarter_links(conn, tree: QuarterTree) -> list[tuple[int, int, float]]:
    return conn.execute(_QUARTER_LINKS, {"team_id": tree.team_id, "quarter": tree.quarter}).all()


def _attach(tree: QuarterTree, links) -> QuarterTree:
    for child, parent, weight in links:
        if child in tree.nodes and parent in tree.nodes:
            tree.nodes[child].parents.append((parent, weight))
            tree.nodes[parent].children.append((child, weight))
    return tree


def quarter_tree(session: Session, *, team_id: str, quarter: str) -> QuarterTree:
    """The quarter's objectives with their own key-result progress, and its links: two
    statements."""
    tree = QuarterTree(team_id=team_id, quarter=quarter)
    # Core rows, not ORM entities: a quarter holds thousands of objectives and links.
    conn = session.connection()
    tree.complete = True
    _add_nodes(conn, tree, [Objective.team_id == team_id, Objective.quarter == quarter])
    if not tree.nodes:
        return tree
    return _attach(tree, _quarter_links(conn, tree))


def _company_objective_ids(conn, *, team_id: str, quarter: str) -> list[int]:
    return list(
        conn.execute(
            select(Objective.id).where(
                Objective.team_id == team_id,
                Objective.quarter == quarter,
                Objective.department_id.is_(None),
            )
        ).scalars()
    )


def partial_tree(
    session: Session,
    *,
    team_id: str,
    quarter: str,
    objective_ids: Iterable[int],
    company: bool = False,
    known: Mapping[int, tuple[Objective, list[KeyResult]]] | None = None,
    unlinked: bool = False,
) -> QuarterTree:
    """The part of the quarter's graph that the given objectives (and, with `company`, the
    quarter's company objectives) need: themselves, the objectives they contribute to, and
    everything contributing to any of those, at any depth. Their rolled-up progress, status
    and linked objectives are exactly those of the whole quarter tree, whose other objectives
    are not read (an objective list page, App Home). Two statements, three with `company`;
    one when every objective needed is `known` (already loaded with all its key results, as on
    a list page whose objectives are not aligned); none when, besides, the caller knows them
    `unlinked` (no link has any of them as child or parent)."""
    tree = QuarterTree(team_id=team_id, quarter=quarter)
    conn = session.connection()
    links = [] if unlinked else _quarter_links(conn, tree)
    roots = set(objective_ids)
    if company:
        roots.update(_company_objective_ids(conn, team_id=team_id, quarter=quarter))
    children: dict[int, list[int]] = {}
    parents: set[int] = set()  # shown with their own rolled-up progress
    for child, parent, _ in links:
        children.setdefault(parent, []).append(child)
        if child in roots:
            parents.add(parent)
    roots |= parents
    needed = reachable(roots, lambda oid: children.get(oid, ()))
    if not needed:
        return tree
    known = known or {}
    for oid in needed & known.keys():
        obj, krs = known[oid]
        own = sum(progress(kr.baseline, kr.target, kr.current_value) for kr in krs)
        tree.nodes[oid] = Node(
            obj.id,
            obj.number,
            obj.title,
            obj.department_id,
            obj.owner_id,
            obj.status,
            own,
            len(krs),
        )
    rest = needed - known.keys()
    if rest:
        where = [Objective.team_id == team_id, Objective.quarter == quarter]
        if len(rest) <= ID_LIST_MAX:
            where.append(Objective.id.in_(sorted(rest)))
        else:
            tree.complete = True  # the whole quarter is read
        _add_nodes(conn, tree, where)
    return _attach(tree, links)


def trees_for(
    session: Session,
    objectives: Iterable[Objective],
    key_results: Mapping[int, list[KeyResult]] | None = None,
    *,
    unlinked: bool = False,
) -> dict[str, QuarterTree]:
    """Per quarter, the part of its tree the given objectives need (`partial_tree`): at most two
    statements per distinct quarter. With `key_results` (objective id → all its key results,
    already loaded) those objectives are not read again; with `unlinked` (none of them is a
    link's child or parent) neither are the quarters' links."""
    by_quarter: dict[str, list[Objective]] = {}
    for o in objectives:
        by_quarter.setdefault(o.quarter, []).append(o)
    return {
        quarter: partial_tree(
            session,
            team_id=objs[0].team_id,
            quarter=quarter,
            objective_ids=[o.id for o in objs],
            known=None
            if key_results is None
            else {o.id: (o, key_results.get(o.id, [])) for o in objs},
            unlinked=unlinked,
        )
        for quarter, objs in by_quarter.items()
    }


def with_own_values(
    tree: QuarterTree, key_results: Iterable[tuple[int, float, float, float | None]]
) -> QuarterTree:
    """The same graph with own progress from other key-result values, e.g. as they stood a
    week ago: (objective id, baseline, target, value) per key result."""
    copy = QuarterTree(team_id=tree.team_id, quarter=tree.quarter)
    for oid, node in tree.nodes.items():
        # Links are shared with the tree copied: only the own key results' sums start over.
        copy.nodes[oid] = replace(node, own_sum=0.0, own_count=0)
    for oid, baseline, target, value in key_results:
        node = copy.nodes.get(oid)
        if node is not None:
            node.own_sum += progress(baseline, target, value)
            node.own_count += 1
    return copy


@dataclass
class CompanyObjective:
    """A company objective with what contributes to it, per department (App Home, digest)."""

    id: int
    progress: float
    departments: list[tuple[int, float]]  # (department id, mean progress of its contributions)
    laggard: int | None  # the contributing objective furthest behind


def company_overview(tree: QuarterTree, *, active_only: bool = True) -> list[CompanyObjective]:
    out = []
    for oid in tree.company_ids():
        node = tree.nodes[oid]
        if active_only and node.status != ObjectiveStatus.ACTIVE:
            continue
        per_dept: dict[int | None, list[float]] = {}
        for child, _ in node.children:
            per_dept.setdefault(tree.nodes[child].department_id, []).append(tree.progress(child))
        departments = [
            (dept, sum(values) / len(values))
            for dept, values in per_dept.items()
            if dept is not None
        ]
        laggard = min(
            (child for child, _ in node.children),
            key=lambda c: (tree.progress(c), tree.nodes[c].number),
            default=None,
        )
        out.append(CompanyObjective(oid, tree.progress(oid), departments, laggard))
    return out
