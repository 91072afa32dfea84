"""Objectives and key results: creation with SMART checks, listing, closing."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Integer, Select, bindparam, delete, exists, or_, update
from sqlmodel import Session, col, func, select

from storage import audit
from storage.departments import (
    department_by_id,
    require_head,
    require_head_or_company_admin,
)
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied, item_field
from storage.forecast import Forecast, checkin_sums, forecast_from_sums, sums_params
from storage.models import (
    TITLE_MAX,
    UNIT_MAX,
    CheckIn,
    Commitment,
    Department,
    DepartmentMember,
    KeyResult,
    KrComment,
    KrNudge,
    Objective,
    ObjectiveLink,
    ObjectiveStatus,
    Team,
    utcnow,
)
from storage.paging import pages_for
from storage.progress import progress
from storage.quarters import parse_quarter, quarter_bounds
from storage.refs import format_ref, get_by_ref, next_number, parse_ref
from storage.rollup import Node, QuarterTree, trees_for
from storage.rows import DepartmentRow, KeyResultRow, ObjectiveRow
from storage.staleness import DEFAULT_STALE_DAYS

MAX_KEY_RESULTS = 5


@dataclass
class KeyResultInput:
    title: str
    baseline: float | None
    target: float | None
    unit: str = ""
    owner_id: str | None = None
    kpi_name: str | None = None
    kpi_department_id: int | None = None


@dataclass
class ObjectiveView:
    # Plain rows on a list page and the detail view (ObjectiveRow…, only read); entities elsewhere.
    objective: Objective | ObjectiveRow
    department: Department | DepartmentRow | None  # None: a company objective
    key_results: list[KeyResult] | list[KeyResultRow] = field(default_factory=list)
    tree: QuarterTree | None = None  # its quarter's alignment graph, for rolled-up progress
    # The team's stale-days setting when it was read with the objective (lists, the detail
    # view): their insights then need no statement of their own to learn it.
    stale_days: int | None = None
    # The forecasts of its key results set by check-ins, by key result id, when they were read
    # with the key results (lists, the detail view); None: not read.
    checkin_forecasts: dict[int, Forecast] | None = None

    @property
    def own_progress(self) -> float:
        if not self.key_results:
            return 0.0
        return sum(kr_progress(kr) for kr in self.key_results) / len(self.key_results)

    @property
    def progress(self) -> float:
        """Rolled-up progress: own key results and contributing objectives."""
        if self.tree is None or self.objective.id not in self.tree.nodes:
            return self.own_progress
        return self.tree.progress(self.objective.id)

    def linked(self, direction: str) -> list[tuple[Node, float]]:
        """('parents' | 'children') as (node, weight)."""
        if self.tree is None or self.objective.id not in self.tree.nodes:
            return []
        node = self.tree.nodes[self.objective.id]
        return [(self.tree.nodes[i], w) for i, w in getattr(node, direction)]


def kr_progress(kr: KeyResult) -> float:
    return progress(kr.baseline, kr.target, kr.current_value)


def _check_text(errors: dict, key: str, value: str, label: str, limit: int, required=True) -> str:
    clean = (value or "").strip()
    if required and not clean:
        errors[key] = f"{label} is required."
    elif len(clean) > limit:
        errors[key] = (
            f"{label} is {len(clean):,} characters; the limit is {limit} — shorten it "
            f"(nothing was saved)."
        )
    return clean


def _check_due_date(errors: dict, quarter: str, due_date: date | None) -> date:
    q_start, q_end = quarter_bounds(quarter)
    if due_date is None:
        return q_end
    if not (q_start <= due_date <= q_end):
        errors["due_date"] = (
            f"The due date must fall inside {quarter} "
            f"({q_start.isoformat()} to {q_end.isoformat()})."
        )
    return due_date


def _check_objective_text(errors: dict, title: str, description: str, owner_id: str | None):
    title = _check_text(errors, "title", title, "The title", TITLE_MAX)
    description = (description or "").strip()
    if len(description) > 3000:
        errors["description"] = "The description is limited to 3,000 characters."
    if not owner_id:
        errors["owner"] = "Pick an owner."
    return title, description


def _check_key_result(
    errors: dict, i: int, *, title, unit, baseline, target, kind: str = "kr"
) -> None:
    _check_text(errors, item_field(kind, i, "title"), title, "The key result title", TITLE_MAX)
    if len((unit or "").strip()) > UNIT_MAX:
        errors[item_field(kind, i, "unit")] = (
            f"Units are at most {UNIT_MAX} characters, like `%` or `pts`."
        )
    if baseline is None:
        errors[item_field(kind, i, "baseline")] = "A baseline number is required."
    if target is None:
        errors[item_field(kind, i, "target")] = "A target number is required."
    elif baseline is not None and target == baseline:
        errors[item_field(kind, i, "target")] = (
            f"The target must differ from the baseline ({baseline:g}) to be measurable."
        )


def _objective_for_head(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str, verb: str
) -> Objective:
    """The active objective `ref`, if the actor heads its department or is an admin."""
    obj = get_objective(session, team_id=team_id, ref=ref)
    if obj.department_id is None:
        if not is_admin:
            raise PermissionDenied("a workspace admin", f"{verb} company objectives")
    else:
        dept = department_by_id(session, team_id=team_id, department_id=obj.department_id)
        require_head(
            session,
            team_id=team_id,
            user_id=actor_id,
            is_admin=is_admin,
            department=dept,
            action=f"{verb} {dept.name}'s objectives",
        )
    if obj.status != ObjectiveStatus.ACTIVE:
        raise DomainError(f"O-{obj.number} is already {obj.status.replace('_', ' ')}.")
    return obj


def add_key_result(
    session: Session,
    *,
    team_id: str,
    objective_id: int,
    spec: KeyResultInput,
    default_owner_id: str | None,
) -> KeyResult:
    """A new key result of the objective from a checked form row, numbered now; owned by the
    objective's owner unless the row names someone."""
    row = KeyResult(
        team_id=team_id,
        number=next_number(session, team_id=team_id, kind="key_result"),
        objective_id=objective_id,
        title=spec.title.strip(),
        unit=(spec.unit or "").strip(),
        baseline=spec.baseline,
        target=spec.target,
        owner_id=spec.owner_id or default_owner_id,
        kpi_name=spec.kpi_name or None,
        kpi_department_id=spec.kpi_department_id,
    )
    session.add(row)
    return row


def _check_quarter(
    errors: dict[str, str], quarter: str, due_date: date | None
) -> tuple[str, date | None]:
    try:
        quarter = parse_quarter(quarter)
        due_date = _check_due_date(errors, quarter, due_date)
    except DomainError as exc:
        errors["quarter"] = exc.message
    return quarter, due_date


def _check_new_key_results(
    errors: dict[str, str], key_results: list[KeyResultInput]
) -> list[KeyResultInput]:
    """The key results filled in (blank rows of the form dropped), each checked into `errors`."""
    krs = [k for k in key_results if (k.title or "").strip() or k.target is not None]
    if not krs:
        errors[item_field("kr", 0, "title")] = "Add at least one key result with a numeric target."
    if len(krs) > MAX_KEY_RESULTS:
        errors["key_results"] = f"At most {MAX_KEY_RESULTS} key results per objective."
    for i, kr in enumerate(krs):
        _check_key_result(
            errors, i, title=kr.title, unit=kr.unit, baseline=kr.baseline, target=kr.target
        )
    return krs


def _add_with_key_results(
    session: Session, obj: Objective, krs: list[KeyResultInput], *, actor_id: str
) -> list[KeyResult]:
    """Store a new objective and its key results, with one audit row for all of it."""
    team_id, owner_id = obj.team_id, obj.owner_id
    session.add(obj)
    session.flush()
    rows = [
        add_key_result(
            session, team_id=team_id, objective_id=obj.id, spec=kr, default_owner_id=owner_id
        )
        for kr in krs
    ]
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="objective.create",
        entity="objective",
        entity_id=obj.id,
        after={**obj.model_dump(), "key_results": [r.model_dump() for r in rows]},
    )
    return rows


def create_objective(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    department_id: int | None,
    title: str,
    description: str = "",
    quarter: str,
    owner_id: str,
    due_date: date | None,
    key_results: list[KeyResultInput],
) -> tuple[Objective, list[KeyResult]]:
    """Create an objective with its key results after the SMART check; FieldErrors otherwise.

    Field error keys: title, description, quarter, due_date, kr.{i}.title, kr.{i}.baseline,
    kr.{i}.target, kr.{i}.unit, key_results. `department_id` None: a company objective (admins).
    """
    dept = require_head_or_company_admin(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department_id=department_id,
        action="create objectives",
        company_action="create company-wide objectives",
    )
    errors: dict[str, str] = {}
    title, description = _check_objective_text(errors, title, description, owner_id)
    quarter, due_date = _check_quarter(errors, quarter, due_date)
    krs = _check_new_key_results(errors, key_results)
    if errors:
        raise FieldErrors(errors)
    obj = Objective(
        team_id=team_id,
        number=next_number(session, team_id=team_id, kind="objective"),
        department_id=dept.id if dept else None,
        title=title,
        description=description,
        quarter=quarter,
        owner_id=owner_id,
        due_date=due_date,
        created_by=actor_id,
    )
    return obj, _add_with_key_results(session, obj, krs, actor_id=actor_id)


def get_objective(session: Session, *, team_id: str, ref: str) -> Objective:
    return get_by_ref(
        session, model=Objective, team_id=team_id, ref=ref, kind="objective", noun="objective"
    )


def _is_linked(objective_id) -> ColumnElement[bool]:
    """Whether the objective is aligned (a link's child or parent): when no objective a page
    shows is, its rolled-up progress is its own and the quarter's links need no read."""
    return or_(
        exists().where(ObjectiveLink.child_id == objective_id),
        exists().where(ObjectiveLink.parent_id == objective_id),
    ).label("linked")


# A row and what it belongs to, named by its reference, in one statement each; the objective
# comes with its team's stale-days setting (no team row yet: the default) and whether it is
# aligned.
_OBJECTIVE_AND_DEPARTMENT = (
    select(Objective, Department, Team.stale_days, _is_linked(Objective.id))
    .outerjoin(Department, Department.id == Objective.department_id)
    .outerjoin(Team, Team.team_id == Objective.team_id)
    .where(Objective.team_id == bindparam("team_id"), Objective.number == bindparam("number"))
)


def objective_view(session: Session, *, team_id: str, ref: str) -> ObjectiveView:
    """One objective with its department, key results, rolled-up progress and its team's
    stale-days setting (the detail view), as plain rows like a list page's: it is only
    rendered."""
    row = _row(
        session.connection(), _OBJECTIVE_AND_DEPARTMENT, team_id, ref, "objective", "objective"
    )
    obj, dept = _objective_and_department(row)
    return load_views(
        session,
        [obj],
        departments={dept.id: dept} if dept else {},
        stale_days=row.stale_days or DEFAULT_STALE_DAYS,
        plain=True,
        unlinked=not row.linked,
        with_forecasts=True,
    )[0]


def get_key_result(session: Session, *, team_id: str, ref: str) -> KeyResult:
    return get_by_ref(
        session, model=KeyResult, team_id=team_id, ref=ref, kind="key_result", noun="key result"
    )


class ObjectiveState(NamedTuple):
    number: int
    status: str


def _row(reader, statement: Select, team_id: str, ref: str, kind: str, noun: str):
    """The one row of `statement` for the reference (`reader`: a session, or its connection
    for plain rows); NotFound naming it when there is none."""
    number = parse_ref(ref, kind)
    row = reader.execute(statement, {"team_id": team_id, "number": number}).first()
    if row is None:
        raise NotFound(f"There is no {noun} `{format_ref(kind, number)}` in this workspace.")
    return row


# A list page's (and the detail view's) objectives, departments and key results are plain rows
# (storage.rows): they are only rendered.
_OBJECTIVE_WIDTH, _DEPARTMENT_WIDTH = len(ObjectiveRow._fields), len(DepartmentRow._fields)


def _objective_and_department(row) -> tuple[ObjectiveRow, DepartmentRow | None]:
    """The objective and its department (None: a company objective) at the head of a row."""
    obj = ObjectiveRow._make(row[:_OBJECTIVE_WIDTH])
    if row[_OBJECTIVE_WIDTH] is None:
        return obj, None
    return obj, DepartmentRow._make(row[_OBJECTIVE_WIDTH : _OBJECTIVE_WIDTH + _DEPARTMENT_WIDTH])


# A check-in's read: its key result as a plain row (the check-in writes through statements,
# not the ORM) with its objective's number and status, not a whole Objective entity.
_KEY_RESULT_AND_OBJECTIVE_STATE = (
    select(*KeyResult.__table__.columns, Objective.number, Objective.status)
    .join(Objective, Objective.id == KeyResult.objective_id)
    .where(KeyResult.team_id == bindparam("team_id"), KeyResult.number == bindparam("number"))
)
_KEY_RESULT_WIDTH = len(KeyResultRow._fields)


def get_key_result_and_objective_state(
    session: Session, *, team_id: str, ref: str
) -> tuple[KeyResultRow, ObjectiveState]:
    """A key result (a plain row) and its objective's number and status (a check-in's hot
    path)."""
    row = _row(
        session.connection(),
        _KEY_RESULT_AND_OBJECTIVE_STATE,
        team_id,
        ref,
        "key_result",
        "key result",
    )
    return KeyResultRow._make(row[:_KEY_RESULT_WIDTH]), ObjectiveState(*row[_KEY_RESULT_WIDTH:])


# load_views's statements, built once (every list, objective view and Home runs them).
_DEPARTMENTS_BY_ID = select(Department).where(
    col(Department.id).in_(bindparam("ids", expanding=True))
)
_KEY_RESULTS_OF = (
    select(KeyResult)
    .where(col(KeyResult.objective_id).in_(bindparam("ids", expanding=True)))
    .order_by(KeyResult.number)
)
# The same with each key result's check-in sums for its forecast (storage.forecast), when the
# objectives share a quarter: the forecasts cost no statement of their own.
_SUMS = checkin_sums(by="objectives").subquery("sums")
_KEY_RESULTS_WITH_SUMS = _KEY_RESULTS_OF.add_columns(*list(_SUMS.c)[1:]).outerjoin(
    _SUMS, _SUMS.c.kr_id == KeyResult.id
)


def load_views(
    session: Session,
    objectives: list[Objective],
    trees: dict[str, QuarterTree] | None = None,
    *,
    departments: dict[int, Department] | None = None,
    stale_days: int | None = None,
    plain: bool = False,
    unlinked: bool = False,
    with_forecasts: bool = False,
) -> list[ObjectiveView]:
    """Objectives with department, key results and rolled-up progress: a fixed number of
    queries whatever the count (two, plus two per distinct quarter; storage.rollup; one fewer
    when the objectives' `departments` were read with them, and none for the trees when they
    are known to be `unlinked`: no link has any of them as child or parent). `stale_days`, when
    the team's setting was read with the objectives, goes on each view. `plain`: the key
    results as KeyResultRows (a view only read, as a list page); with `with_forecasts` too,
    their check-in forecasts are read with them (`checkin_forecasts`) when the objectives share
    a quarter."""
    if not objectives:
        return []
    ids = [o.id for o in objectives]
    depts = departments
    if depts is None:
        dept_ids = [o.department_id for o in objectives if o.department_id is not None]
        depts = {d.id: d for d in session.scalars(_DEPARTMENTS_BY_ID, {"ids": dept_ids})}
    quarters = {o.quarter for o in objectives}
    by_obj: dict[int, list[KeyResult]] = {}
    found: dict[int, Forecast] | None = None
    if plain and with_forecasts and len(quarters) == 1:
        by_obj, found = _key_results_and_forecasts(session, ids, quarters.pop())
    else:
        if plain:
            krs = session.connection().execute(_KEY_RESULTS_OF, {"ids": ids})
            krs = map(KeyResultRow._make, krs)
        else:
            krs = session.scalars(_KEY_RESULTS_OF, {"ids": ids})
        for kr in krs:
            by_obj.setdefault(kr.objective_id, []).append(kr)
    missing = [o for o in objectives if o.quarter not in (trees or {})]
    trees = {**(trees or {}), **trees_for(session, missing, by_obj, unlinked=unlinked)}
    return [
        ObjectiveView(
            o, depts.get(o.department_id), by_obj.get(o.id, []), trees[o.quarter], stale_days, found
        )
        for o in objectives
    ]


def _key_results_and_forecasts(
    session: Session, ids: list[int], quarter: str
) -> tuple[dict[int, list[KeyResultRow]], dict[int, Forecast]]:
    """The key results of the objectives `ids` (of `quarter`) as plain rows, by objective, and
    the forecasts of those set by check-ins: one statement."""
    by_obj: dict[int, list[KeyResultRow]] = {}
    found: dict[int, Forecast] = {}
    params = {"ids": ids, **sums_params(quarter)}
    for row in session.connection().execute(_KEY_RESULTS_WITH_SUMS, params):
        kr, sums = KeyResultRow._make(row[:_KEY_RESULT_WIDTH]), row[_KEY_RESULT_WIDTH:]
        by_obj.setdefault(kr.objective_id, []).append(kr)
        if not kr.kpi_name:
            forecast = forecast_from_sums(kr, quarter, sums)
            if forecast is not None:
                found[kr.id] = forecast
    return by_obj, found


@dataclass(frozen=True)
class _Listing:
    """The statements of one kind of objective list (see `_listing`)."""

    every: Select  # (objective, department, team's stale days, linked) rows in list order
    page: Select  # the same with the list's total on each row, :limit rows from :offset
    count: Select


@functools.cache
def _listing(scope: str, include_closed: bool, by_quarter: bool) -> _Listing:
    """The statements of one kind of list, built once: with their subqueries, building them
    cost more CPU than running them. Parameters: :team_id, and :user_id for "me",
    :department_id for "department", :quarter when `by_quarter`."""
    team_id = bindparam("team_id")
    q = select(Objective).where(Objective.team_id == team_id)
    if not include_closed:
        q = q.where(Objective.status == ObjectiveStatus.ACTIVE)
    if by_quarter:
        q = q.where(Objective.quarter == bindparam("quarter"))
    if scope == "department":
        q = q.where(Objective.department_id == bindparam("department_id"))
    elif scope == "me":
        user_id = bindparam("user_id")
        owned_kr = select(KeyResult.objective_id).where(
            KeyResult.team_id == team_id, KeyResult.owner_id == user_id
        )
        my_depts = select(DepartmentMember.department_id).where(
            DepartmentMember.team_id == team_id, DepartmentMember.user_id == user_id
        )
        q = q.where(
            (Objective.owner_id == user_id)
            | col(Objective.id).in_(owned_kr)
            | col(Objective.department_id).in_(my_depts)
        )
    # Each objective with its department, its team's stale-days setting (the list's insights
    # need it) and whether it is aligned, in the same statement.
    every = (
        q.add_columns(Department, Team.stale_days, _is_linked(Objective.id))
        .outerjoin(Department, Department.id == Objective.department_id)
        .outerjoin(Team, Team.team_id == Objective.team_id)
        .order_by(
            # Company objectives (no department) first, on both databases.
            col(Objective.department_id).asc().nulls_first(),
            Objective.number,
        )
    )
    count = select(func.count()).select_from(q.subquery())
    # The total as a subquery of the page's statement: run once, apart from the page's sort
    # (a window count would make the database sort every matching objective, not just find
    # the page's), and no statement of its own.
    page = every.add_columns(count.scalar_subquery().label("total"))
    return _Listing(
        every=every,
        page=page.offset(bindparam("offset", type_=Integer)).limit(
            bindparam("limit", type_=Integer)
        ),
        count=count,
    )


def _list_query(
    *,
    team_id: str,
    user_id: str,
    scope: str = "me",
    department_id: int | None = None,
    include_closed: bool = False,
    quarter: str | None = None,
) -> tuple[_Listing, dict]:
    """The statements of the list the filters describe, and their parameters."""
    params: dict = {"team_id": team_id}
    if quarter:
        params["quarter"] = quarter
    if scope == "department":
        params["department_id"] = department_id
    elif scope == "me":
        params["user_id"] = user_id
    return _listing(scope, include_closed, bool(quarter)), params


def list_objectives(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    limit: int | None = None,
    offset: int = 0,
    **filters,
) -> list[ObjectiveView]:
    """Objectives in list order. filters: scope ('me' — owned by me, with a KR I own, or in my
    departments —, 'all' or 'department'), department_id, include_closed, quarter."""
    listing, params = _list_query(team_id=team_id, user_id=user_id, **filters)
    return _listed(session, listing, params, limit=limit, offset=offset)[0]


def _listed(
    session: Session, listing: _Listing, params: dict, *, limit: int | None, offset: int
) -> tuple[list[ObjectiveView], int | None]:
    """The views of one list page, read as plain rows (ObjectiveRow, DepartmentRow,
    KeyResultRow): a list is only rendered. With a `limit`, also the list's total (None when
    the page is past the end)."""
    conn = session.connection()
    if limit is None:
        rows = conn.execute(listing.every, params).all()
    else:
        rows = conn.execute(listing.page, {**params, "limit": limit, "offset": offset}).all()
    if not rows:
        return [], None
    objectives, departments = [], {}
    for row in rows:
        obj, dept = _objective_and_department(row)
        objectives.append(obj)
        if dept is not None:
            departments.setdefault(dept.id, dept)
    first = rows[0]  # the team's setting and the list's total: the same on every row
    views = load_views(
        session,
        objectives,
        departments=departments,
        stale_days=first.stale_days or DEFAULT_STALE_DAYS,
        plain=True,
        unlinked=not any(row.linked for row in rows),
        with_forecasts=True,
    )
    return views, (first.total if limit is not None else len(rows))


def objectives_page(
    session: Session, *, team_id: str, user_id: str, page: int, page_size: int, **filters
) -> tuple[list[ObjectiveView], int, int]:
    """One page of `list_objectives` with the total count: (views, total, page), the page
    moved into range (a list gone shorter since its buttons were drawn shows its last page).
    The page's statement counts the list too; only a page past the end needs a count of its
    own, to find the last page."""
    listing, params = _list_query(team_id=team_id, user_id=user_id, **filters)
    page = max(1, page)
    views, total = _listed(session, listing, params, limit=page_size, offset=(page - 1) * page_size)
    if total is not None or page == 1:
        return views, total or 0, page
    total = session.execute(listing.count, params).scalar_one()
    if total == 0:
        return [], 0, 1
    page = pages_for(total, page_size)
    views, total = _listed(session, listing, params, limit=page_size, offset=(page - 1) * page_size)
    return views, total or 0, page


def key_results_owned_by(
    session: Session, *, team_id: str, user_id: str
) -> list[tuple[KeyResult, Objective]]:
    rows = session.exec(
        select(KeyResult, Objective)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(
            KeyResult.team_id == team_id,
            KeyResult.owner_id == user_id,
            Objective.status == ObjectiveStatus.ACTIVE,
        )
        .order_by(KeyResult.number)
    ).all()
    return [(kr, obj) for kr, obj in rows]


def close_objective(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    ref: str,
    score: float | None = None,
) -> Objective:
    obj = _objective_for_head(
        session, team_id=team_id, actor_id=actor_id, is_admin=is_admin, ref=ref, verb="close"
    )
    if score is not None and not (0.0 <= score <= 1.0):
        raise DomainError(f"The score must be between 0.0 and 1.0 (got {score:g}).")
    if score is None:
        view = load_views(session, [obj])[0]
        score = round(view.progress, 2)
    before = obj.model_dump()
    obj.status = ObjectiveStatus.CLOSED
    obj.final_score = score
    obj.closed_at = utcnow()
    session.add(obj)
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="objective.close",
        entity="objective",
        entity_id=obj.id,
        before=before,
        after=obj,
    )
    return obj


def key_result_department(
    session: Session, *, team_id: str, kr: KeyResult | KeyResultRow
) -> Department | None:
    """The key result's department; None for a company objective's key result."""
    obj = session.get(Objective, kr.objective_id)
    if obj.department_id is None:
        return None
    return department_by_id(session, team_id=team_id, department_id=obj.department_id)


def key_result_for_head(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, ref: str, action: str
) -> tuple[KeyResult, Department]:
    """The key result `ref` and its department, if the user heads it or is an admin."""
    kr = get_key_result(session, team_id=team_id, ref=ref)
    dept = key_result_department(session, team_id=team_id, kr=kr)
    if dept is None:
        if not is_admin:
            raise PermissionDenied("a workspace admin", action)
        return kr, dept
    require_head(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        department=dept,
        action=action,
    )
    return kr, dept


def can_check_in(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, kr: KeyResult | KeyResultRow
) -> None:
    if kr.owner_id == user_id or is_admin:
        return
    dept = key_result_department(session, team_id=team_id, kr=kr)
    if dept is None:
        raise PermissionDenied(
            f"the owner of KR-{kr.number} or an admin",
            f"check in on KR-{kr.number}",
            owner_id=kr.owner_id,
        )
    try:
        require_head(
            session,
            team_id=team_id,
            user_id=user_id,
            is_admin=False,
            department=dept,
            action="check in",
        )
    except PermissionDenied:
        raise PermissionDenied(
            f"the owner of KR-{kr.number}, a head of {dept.name} or an admin",
            f"check in on KR-{kr.number}",
            owner_id=kr.owner_id,
        ) from None


def due_for_checkin(kr: KeyResult, now: datetime | None = None, days: int = 7) -> bool:
    now = now or utcnow()
    return kr.last_checkin_at is None or (now - kr.last_checkin_at).days >= days


@dataclass
class KeyResultEdit:
    """One existing key result in the edit form. `remove`: take it off the objective;
    `confirm_remove`: the person also agreed that its check-ins go with it."""

    number: int
    title: str
    target: float | None
    unit: str = ""
    owner_id: str | None = None
    remove: bool = False
    confirm_remove: bool = False


def checkin_counts(session: Session, *, key_result_ids: list[int]) -> dict[int, int]:
    """key result id → number of check-ins (absent when none); one statement."""
    if not key_result_ids:
        return {}
    return dict(
        session.exec(
            select(CheckIn.key_result_id, func.count())
            .where(col(CheckIn.key_result_id).in_(key_result_ids))
            .group_by(CheckIn.key_result_id)
        ).all()
    )


def _new_key_result_rows(new_key_results: list[KeyResultInput]) -> list[tuple[int, KeyResultInput]]:
    """The filled-in rows of the form (position kept for field errors); empty rows are unused
    slots."""
    return [
        (j, k)
        for j, k in enumerate(new_key_results)
        if (k.title or "").strip() or k.target is not None or k.baseline is not None
    ]


def _remove_key_result(
    session: Session, *, team_id: str, actor_id: str, obj: Objective, kr: KeyResult
) -> None:
    """Delete a key result with its check-ins, comments and nudges; commitments made for it stay
    (they are another department's promise) but lose the link. The audit record keeps the whole
    history."""
    checkins = list(
        session.exec(
            select(CheckIn).where(CheckIn.key_result_id == kr.id).order_by(CheckIn.created_at)
        ).all()
    )
    linked = list(
        session.exec(select(Commitment.number).where(Commitment.key_result_id == kr.id)).all()
    )
    comments = list(session.exec(select(KrComment).where(KrComment.key_result_id == kr.id)).all())
    before = {
        **audit.snapshot(kr),
        "objective": f"O-{obj.number}",
        "check_ins": [audit.snapshot(c) for c in checkins],
        "comments": [audit.snapshot(c) for c in comments],
        "commitments_unlinked": [f"C-{n}" for n in sorted(linked)],
    }
    if linked:
        session.execute(
            update(Commitment).where(Commitment.key_result_id == kr.id).values(key_result_id=None)
        )
    for table in (CheckIn, KrComment, KrNudge):
        session.execute(delete(table).where(table.key_result_id == kr.id))
    session.delete(kr)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="key_result.remove",
        entity="key_result",
        entity_id=before["id"],
        before=before,
    )


def _check_key_result_edits(
    session: Session,
    errors: dict[str, str],
    obj: Objective,
    existing: dict[int, KeyResult],
    key_results: list[KeyResultEdit],
) -> list[tuple[int, KeyResult]]:
    """Check the kept key results' edits into `errors`; return those to remove (with their
    position), each needing a confirmation when it has check-ins."""
    removing: list[tuple[int, KeyResult]] = []
    for i, edit in enumerate(key_results):
        kr = existing.get(edit.number)
        if kr is None:  # only this objective's key results can be edited through it
            raise NotFound(f"KR-{edit.number} is not part of O-{obj.number}.")
        if edit.remove or edit.confirm_remove:
            removing.append((i, kr))
            continue
        _check_key_result(
            errors, i, title=edit.title, unit=edit.unit, baseline=kr.baseline, target=edit.target
        )
    counts = checkin_counts(session, key_result_ids=[kr.id for _, kr in removing])
    for i, kr in removing:
        n = counts.get(kr.id, 0)
        if n and not key_results[i].confirm_remove:
            errors[item_field("kr", i, "remove")] = (
                f"KR-{kr.number} has {n} check-in{'s' if n != 1 else ''}; removing it deletes "
                "them too (the audit log keeps a copy)."
            )
    return removing


def _check_key_result_count(
    errors: dict[str, str], obj: Objective, remaining: int, removing: list[tuple[int, KeyResult]]
) -> None:
    if remaining < 1:
        key = item_field("kr", removing[0][0], "remove") if removing else "key_results"
        errors.setdefault(
            key, f"O-{obj.number} must keep at least one key result; add one or keep one."
        )
    elif remaining > MAX_KEY_RESULTS:
        errors["key_results"] = (
            f"At most {MAX_KEY_RESULTS} key results per objective; this would leave {remaining}."
        )


def _apply_key_result_edits(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    obj: Objective,
    existing: dict[int, KeyResult],
    key_results: list[KeyResultEdit],
    removing: list[tuple[int, KeyResult]],
    added: list[tuple[int, KeyResultInput]],
    owner_id: str | None,
) -> set[int]:
    """Change the kept key results, remove and add the others; `existing` ends as the
    objective's key results by number. Returns the numbers removed."""
    removed_numbers = {kr.number for _, kr in removing}
    for edit in key_results:
        if edit.number in removed_numbers:
            continue
        kr = existing[edit.number]
        kr.title = edit.title.strip()
        kr.unit = (edit.unit or "").strip()
        kr.target = edit.target
        kr.owner_id = edit.owner_id or kr.owner_id
        session.add(kr)
    for _, kr in removing:
        _remove_key_result(session, team_id=team_id, actor_id=actor_id, obj=obj, kr=kr)
        del existing[kr.number]
    for _, new in added:
        row = add_key_result(
            session, team_id=team_id, objective_id=obj.id, spec=new, default_owner_id=owner_id
        )
        existing[row.number] = row
    return removed_numbers


def _check_added_key_results(
    errors: dict[str, str], new_key_results: list[KeyResultInput]
) -> list[tuple[int, KeyResultInput]]:
    added = _new_key_result_rows(list(new_key_results))
    for j, new in added:
        _check_key_result(
            errors,
            j,
            title=new.title,
            unit=new.unit,
            baseline=new.baseline,
            target=new.target,
            kind="new_kr",
        )
    return added


def _apply_update(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    obj: Objective,
    fields: tuple[str, str, str | None, date | None],
    existing: dict[int, KeyResult],
    key_results: list[KeyResultEdit],
    removing: list[tuple[int, KeyResult]],
    added: list[tuple[int, KeyResultInput]],
) -> None:
    """Write a checked edit: the objective's `fields` (title, description, owner, due date),
    its key results, and one audit row with all of it."""
    before = {**obj.model_dump(), "key_results": [k.model_dump() for k in existing.values()]}
    obj.title, obj.description, obj.owner_id, obj.due_date = fields
    session.add(obj)
    removed_numbers = _apply_key_result_edits(
        session,
        team_id=team_id,
        actor_id=actor_id,
        obj=obj,
        existing=existing,
        key_results=key_results,
        removing=removing,
        added=added,
        owner_id=obj.owner_id,
    )
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="objective.update",
        entity="objective",
        entity_id=obj.id,
        before=before,
        after={
            **obj.model_dump(),
            "key_results": [k.model_dump() for k in existing.values()],
            "removed": sorted(f"KR-{n}" for n in removed_numbers),
        },
    )


def update_objective(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    ref: str,
    title: str,
    description: str = "",
    owner_id: str | None,
    due_date: date | None,
    key_results: list[KeyResultEdit],
    new_key_results: list[KeyResultInput] = (),
) -> Objective:
    """Edit an active objective and its key results (heads of its department, admins): change,
    remove (`KeyResultEdit.remove`) and add (`new_key_results`, empty rows ignored) them.

    Baselines and history of kept key results stay as they are; the same SMART rules as on
    create apply, at most MAX_KEY_RESULTS remain and at least one. Removing a key result that
    has check-ins needs `confirm_remove`. All of it lands in one transaction or none.
    Field error keys: title, description, owner, due_date, key_results,
    kr.{i}.title/unit/target/remove (i = position in `key_results`),
    new_kr.{j}.title/unit/baseline/target (j = position in `new_key_results`).
    """
    obj = _objective_for_head(
        session, team_id=team_id, actor_id=actor_id, is_admin=is_admin, ref=ref, verb="edit"
    )
    existing = {
        kr.number: kr
        for kr in session.exec(select(KeyResult).where(KeyResult.objective_id == obj.id)).all()
    }
    errors: dict[str, str] = {}
    title, description = _check_objective_text(errors, title, description, owner_id)
    due_date = _check_due_date(errors, obj.quarter, due_date)
    removing = _check_key_result_edits(session, errors, obj, existing, key_results)
    added = _check_added_key_results(errors, new_key_results)
    _check_key_result_count(errors, obj, len(existing) - len(removing) + len(added), removing)
    if errors:
        raise FieldErrors(errors)
    _apply_update(
        session,
        team_id=team_id,
        actor_id=actor_id,
        obj=obj,
        fields=(title, description, owner_id, due_date),
        existing=existing,
        key_results=key_results,
        removing=removing,
        added=added,
    )
    return obj


def active_key_results(session: Session, *, team_id: str) -> list[tuple[KeyResult, str]]:
    """Every key result of an active objective with that objective's quarter, by KR number."""
    return list(
        session.exec(
            select(KeyResult, Objective.quarter)
            .join(Objective, col(Objective.id) == KeyResult.objective_id)
            .where(KeyResult.team_id == team_id, Objective.status == ObjectiveStatus.ACTIVE)
            .order_by(KeyResult.number)
        ).all()
    )


def active_objective_titles(
    session: Session, *, team_id: str, department_ids: list[int], limit: int = 100
) -> list[tuple[int, str]]:
    """(number, title) of the departments' active objectives, newest first (what a behavior
    may be linked to)."""
    if not department_ids:
        return []
    rows = session.exec(
        select(Objective.number, Objective.title)
        .where(
            Objective.team_id == team_id,
            Objective.status == ObjectiveStatus.ACTIVE,
            col(Objective.department_id).in_(department_ids),
        )
        .order_by(Objective.number.desc())
        .limit(limit)
    ).all()
    return [(n, t) for n, t in rows]
