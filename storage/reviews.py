"""Quarterly reviews: who reviews what, scoring rules, carry-over, the summary.

No Slack code. A department's review covers its objectives of the quarter that are still
active or were closed in it; the company review (department None, run by admins) covers the
company objectives. Each objective gets a score 0.0–1.0, a short retro and a carry-over choice.
The score is weighed against the measured (rolled-up) progress: one further than
SCORE_GAP_MAX from it needs a one-line reason, so leadership can trust what was scored.
A carried-over objective is copied, with its key results, into the next quarter and the old
one gets status `carried_over`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from storage import audit
from storage.commitments import KeptMissed, kept_and_missed
from storage.departments import require_head_or_company_admin
from storage.errors import DomainError, FieldErrors, NotFound, item_field
from storage.feedback_figures import VoiceFigures, period_figures
from storage.forecast import Forecast, forecasts
from storage.models import (
    NOTE_MAX,
    REASON_MAX,
    Department,
    DepartmentMember,
    KeyResult,
    KpiValue,
    Objective,
    ObjectiveStatus,
    Review,
    ReviewItem,
    ReviewStatus,
    utcnow,
)
from storage.quarters import (
    next_quarter,
    parse_quarter,
    quarter_bounds,
    quarter_of,
    quarter_window,
)
from storage.refs import next_number
from storage.rollup import QuarterTree, quarter_tree

REVIEWABLE = (ObjectiveStatus.ACTIVE, ObjectiveStatus.CLOSED)
SUMMARY_AFTER_DAYS = 14  # the summary goes out at quarter end + 14 days at the latest
# A score further than this from the measured progress needs a reason.
SCORE_GAP_MAX = 0.3
# A department whose mean score exceeds its mean measured progress by more than this is
# flagged in the summary.
ABOVE_DATA_MARGIN = 0.2
COMPANY = "company"  # how the company review is named in references (button values, run keys)


@dataclass
class ReviewItemInput:
    objective_id: int
    score: float
    what_worked: str = ""
    what_did_not: str = ""
    carry_over: bool = False
    reason: str = ""  # why the score departs from the measured progress


@dataclass
class DepartmentReview:
    """A department's review, or the company review when `department` is None."""

    department: Department | None
    review: Review
    head_ids: list[str]  # who runs it; none for the company review (the admins do)
    objectives: list[Objective]
    items: dict[int, ReviewItem] = field(default_factory=dict)  # objective id → item
    progress: dict[int, float] = field(default_factory=dict)  # objective id → rolled-up now

    @property
    def is_company(self) -> bool:
        return self.department is None

    @property
    def department_id(self) -> int | None:
        return None if self.department is None else self.department.id

    @property
    def ref(self) -> str:
        """The department id, or `company`: names the review in button values and run keys."""
        return COMPANY if self.department is None else str(self.department.id)

    @property
    def average(self) -> float | None:
        scores = [i.score for i in self.items.values()]
        return sum(scores) / len(scores) if scores else None

    def measured(self, objective_id: int) -> float:
        """Measured progress of an objective: as it stood when scored, else as it is now."""
        item = self.items.get(objective_id)
        if item is not None and item.measured_progress is not None:
            return item.measured_progress
        return self.progress.get(objective_id, 0.0)

    @property
    def mean_measured(self) -> float | None:
        """Mean measured progress of the scored objectives (what the mean score is set against)."""
        values = [self.measured(oid) for oid in self.items]
        return sum(values) / len(values) if values else None

    @property
    def scored_above_data(self) -> bool:
        score, measured = self.average, self.mean_measured
        return score is not None and measured is not None and score - measured > ABOVE_DATA_MARGIN


@dataclass
class KeyResultEvidence:
    key_result: KeyResult
    forecast: Forecast | None  # where its trend lands at quarter end; None without a trend


@dataclass
class ObjectiveEvidence:
    """What the scorer sees for one objective: the data the score is weighed against."""

    objective: Objective
    progress: float  # rolled-up, 0..1
    key_results: list[KeyResultEvidence]

    @property
    def suggested_score(self) -> float:
        return round(self.progress, 1)


@dataclass
class KpiQuarter:
    name: str
    this_quarter: float | None
    last_quarter: float | None


@dataclass
class ReviewSummary:
    quarter: str
    departments: list[DepartmentReview]  # the company review first, then by department name
    kpis: list[KpiQuarter]  # company-wide
    most_recognized: list[tuple[str, int]]
    # Commitments due in the quarter per owing department: kept and missed.
    commitments: dict[int, KeptMissed] = field(default_factory=dict)
    department_names: dict[int, str] = field(default_factory=dict)
    team_id: str = ""
    department_kpis: dict[int, list[KpiQuarter]] = field(default_factory=dict)
    # Customer follow-ups per department (COMPANY: all) over the quarter: detractors received
    # then and followed up in time, and customers recovered then. Departments with none are
    # absent, so the summary adds no line for them.
    close_the_loop: dict[int, VoiceFigures] = field(default_factory=dict)

    @property
    def all_submitted(self) -> bool:
        return all(d.review.status == ReviewStatus.SUBMITTED for d in self.departments)

    @property
    def company(self) -> DepartmentReview | None:
        return next((d for d in self.departments if d.is_company), None)


def _objectives(session: Session, *, team_id: str, quarter: str) -> dict[int, list[Objective]]:
    out: dict[int, list[Objective]] = defaultdict(list)
    for o in session.exec(
        select(Objective)
        .where(
            Objective.team_id == team_id,
            Objective.quarter == quarter,
            col(Objective.status).in_([*REVIEWABLE, ObjectiveStatus.CARRIED_OVER]),
        )
        .order_by(Objective.number)
    ).all():
        out[o.department_id].append(o)
    return out


def _heads(session: Session, *, team_id: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for m in session.exec(
        select(DepartmentMember)
        .where(DepartmentMember.team_id == team_id, DepartmentMember.is_head.is_(True))
        .order_by(DepartmentMember.id)
    ).all():
        out[m.department_id].append(m.user_id)
    return out


def start_review(
    session: Session, *, team_id: str, quarter: str, now: datetime | None = None
) -> list[DepartmentReview]:
    """Open a review for every department with objectives in the quarter (idempotent)."""
    quarter = parse_quarter(quarter)
    now = now or utcnow()
    by_dept = _objectives(session, team_id=team_id, quarter=quarter)
    existing = {
        r.department_id: r
        for r in session.exec(
            select(Review).where(Review.team_id == team_id, Review.quarter == quarter)
        ).all()
    }
    for dept_id in by_dept:
        if dept_id not in existing:
            review = Review(team_id=team_id, quarter=quarter, department_id=dept_id, started_at=now)
            session.add(review)
            session.flush()
            existing[dept_id] = review
            audit.record(
                session,
                team_id=team_id,
                actor_id="scheduler",
                action="review.start",
                entity="review",
                entity_id=review.id,
                after=review,
            )
    return department_reviews(session, team_id=team_id, quarter=quarter)


def department_reviews(session: Session, *, team_id: str, quarter: str) -> list[DepartmentReview]:
    """Every started review of the quarter with its department, heads, objectives, items and
    their rolled-up progress: the company review first, then by department name."""
    reviews = session.exec(
        select(Review).where(Review.team_id == team_id, Review.quarter == quarter)
    ).all()
    if not reviews:
        return []
    depts = {
        d.id: d for d in session.exec(select(Department).where(Department.team_id == team_id)).all()
    }
    heads = _heads(session, team_id=team_id)
    objectives = _objectives(session, team_id=team_id, quarter=quarter)
    items: dict[int, dict[int, ReviewItem]] = defaultdict(dict)
    for item in session.exec(
        select(ReviewItem).where(
            ReviewItem.team_id == team_id,
            col(ReviewItem.review_id).in_([r.id for r in reviews]),
        )
    ).all():
        items[item.review_id][item.objective_id] = item
    tree = quarter_tree(session, team_id=team_id, quarter=quarter)
    out = []
    for r in reviews:
        if r.department_id is not None and r.department_id not in depts:
            continue
        mine = objectives.get(r.department_id, [])
        out.append(
            DepartmentReview(
                department=None if r.department_id is None else depts[r.department_id],
                review=r,
                head_ids=[] if r.department_id is None else heads.get(r.department_id, []),
                objectives=mine,
                items=items.get(r.id, {}),
                progress={o.id: tree.progress(o.id) for o in mine},
            )
        )
    return sorted(
        out, key=lambda d: (not d.is_company, d.department.name_key if d.department else "")
    )


def department_review(
    session: Session, *, team_id: str, quarter: str, department_id: int | None
) -> DepartmentReview:
    """One review of the quarter; `department_id` None: the company review."""
    for d in department_reviews(session, team_id=team_id, quarter=quarter):
        if d.department_id == department_id:
            return d
    if department_id is None:
        raise NotFound(f"There is no {quarter} review of company objectives.")
    raise NotFound(f"There is no {quarter} review for that department.")


def parse_reviewer_ref(text: str) -> int | None:
    """`company` → None (the company review), a department id → that id; DomainError else."""
    text = str(text or "").strip()
    if text == COMPANY:
        return None
    if not text.isdigit():
        raise DomainError("That review is not valid any more.")
    return int(text)


def require_reviewer(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    is_admin: bool,
    department_id: int | None,
    action: str,
) -> Department | None:
    """Heads of the department (or admins) run its review; admins alone run the company one.
    Returns the department (None for the company review)."""
    return require_head_or_company_admin(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        department_id=department_id,
        action=action,
        company_action=f"{action} for company objectives",
    )


def review_evidence(
    session: Session, *, team_id: str, quarter: str, objectives: list[Objective]
) -> list[ObjectiveEvidence]:
    """Per objective: rolled-up progress, and each key result with its forecast at quarter end
    (a fixed number of statements whatever the count)."""
    if not objectives:
        return []
    tree: QuarterTree = quarter_tree(session, team_id=team_id, quarter=quarter)
    by_objective: dict[int, list[KeyResult]] = defaultdict(list)
    for kr in session.exec(
        select(KeyResult)
        .where(col(KeyResult.objective_id).in_([o.id for o in objectives]))
        .order_by(KeyResult.number)
    ).all():
        by_objective[kr.objective_id].append(kr)
    krs = [kr for rows in by_objective.values() for kr in rows]
    ahead = forecasts(session, team_id=team_id, quarter=quarter, key_results=krs)
    return [
        ObjectiveEvidence(
            objective=o,
            progress=tree.progress(o.id),
            key_results=[KeyResultEvidence(kr, ahead.get(kr.id)) for kr in by_objective[o.id]],
        )
        for o in objectives
    ]


def open_objectives(d: DepartmentReview) -> list[Objective]:
    """Objectives of a review that still need a score."""
    return [o for o in d.objectives if o.id not in d.items]


def _review_name(dept: Department | None) -> str:
    return "the company objectives'" if dept is None else f"{dept.name}'s"


def submit_review(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    quarter: str,
    department_id: int | None,
    items: list[ReviewItemInput],
) -> DepartmentReview:
    """Store scores and retros; close or carry over each objective. `department_id` None: the
    company review (admins). FieldErrors on bad input (keys `objective.<id>.score`,
    `….what_worked`, `….what_did_not`, `….score_reason`); nothing is written then.

    Items may cover part of the open objectives (a long review is scored page by page); the
    review is submitted when none is left open."""
    quarter = parse_quarter(quarter)
    dept = require_reviewer(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department_id=department_id,
        action="submit the quarterly review",
    )
    start_review(session, team_id=team_id, quarter=quarter)  # no-op once the cycle started it
    current = department_review(
        session, team_id=team_id, quarter=quarter, department_id=department_id
    )
    if current.review.status == ReviewStatus.SUBMITTED and not open_objectives(current):
        name = _review_name(dept)
        raise DomainError(f"{name[0].upper()}{name[1:]} {quarter} review was already submitted.")
    allowed = {o.id: o for o in open_objectives(current)}
    errors: dict[str, str] = {}
    for item in items:
        errors.update(_item_errors(item, allowed, current.progress))
    if not items:
        errors["review"] = "There is nothing to score."
    if errors:
        raise FieldErrors(errors)

    now = utcnow()
    for item in items:
        _score_objective(
            session, current, allowed[item.objective_id], item, actor_id=actor_id, now=now
        )
    done = department_review(session, team_id=team_id, quarter=quarter, department_id=department_id)
    if not open_objectives(done):
        _mark_submitted(session, done.review, actor_id=actor_id, now=now)
    return done


def _item_errors(
    item: ReviewItemInput, allowed: dict[int, Objective], measured_by_id: dict[int, float]
) -> dict[str, str]:
    """What is wrong with one scored objective, keyed by its form field."""
    errors: dict[str, str] = {}
    score_field = item_field("objective", item.objective_id, "score")
    if item.objective_id not in allowed:
        errors[score_field] = "This objective is not open for this review and quarter."
        return errors
    reason = " ".join((item.reason or "").split())  # one line
    measured = measured_by_id.get(item.objective_id, 0.0)
    if not 0.0 <= item.score <= 1.0:
        errors[score_field] = f"Give a score from 0.0 to 1.0 (got {item.score:g})."
    elif abs(item.score - measured) > SCORE_GAP_MAX + 1e-9 and not reason:
        # On the reason input: the score may stand, it is the why that is missing.
        errors[item_field("objective", item.objective_id, "score_reason")] = (
            f"{item.score:.1f} is more than {SCORE_GAP_MAX:.1f} away from the measured "
            f"progress ({measured:.2f}): give a one-line reason for it."
        )
    if len(reason) > REASON_MAX:
        errors[item_field("objective", item.objective_id, "score_reason")] = (
            f"At most {REASON_MAX} characters."
        )
    for key, text in (("what_worked", item.what_worked), ("what_did_not", item.what_did_not)):
        if len(text or "") > NOTE_MAX:
            errors[item_field("objective", item.objective_id, key)] = (
                f"At most {NOTE_MAX:,} characters."
            )
    return errors


def _score_objective(
    session: Session,
    current: DepartmentReview,
    obj: Objective,
    item: ReviewItemInput,
    *,
    actor_id: str,
    now: datetime,
) -> None:
    """Store one objective's score and retro, and close it or carry it over."""
    before = obj.model_dump()
    row = ReviewItem(
        team_id=obj.team_id,
        review_id=current.review.id,
        objective_id=obj.id,
        score=round(item.score, 2),
        what_worked=(item.what_worked or "").strip(),
        what_did_not=(item.what_did_not or "").strip(),
        carry_over=item.carry_over,
        measured_progress=round(current.progress.get(obj.id, 0.0), 4),
        score_reason=" ".join((item.reason or "").split()),
    )
    session.add(row)
    obj.final_score = row.score
    obj.closed_at = obj.closed_at or now
    obj.status = ObjectiveStatus.CARRIED_OVER if item.carry_over else ObjectiveStatus.CLOSED
    session.add(obj)
    session.flush()
    copy = _carry_over(session, obj, actor_id=actor_id) if item.carry_over else None
    audit.record(
        session,
        team_id=obj.team_id,
        actor_id=actor_id,
        action="review.score",
        entity="objective",
        entity_id=obj.id,
        before=before,
        after={**obj.model_dump(), "review_item": row.model_dump(), "copy_id": copy},
    )


def _mark_submitted(session: Session, review: Review, *, actor_id: str, now: datetime) -> None:
    before = review.model_dump()
    review.status = ReviewStatus.SUBMITTED
    review.submitted_by = actor_id
    review.submitted_at = now
    audit.saved(
        session,
        review,
        team_id=review.team_id,
        actor_id=actor_id,
        action="review.submit",
        entity="review",
        before=before,
    )


def _carry_over(session: Session, obj: Objective, *, actor_id: str) -> int:
    """Copy an objective and its key results into the next quarter; returns the copy's id."""
    quarter = next_quarter(obj.quarter)
    copy = Objective(
        team_id=obj.team_id,
        number=next_number(session, team_id=obj.team_id, kind="objective"),
        department_id=obj.department_id,
        title=obj.title,
        description=obj.description,
        quarter=quarter,
        owner_id=obj.owner_id,
        due_date=quarter_bounds(quarter)[1],
        carried_from_id=obj.id,
        created_by=actor_id,
    )
    session.add(copy)
    session.flush()
    for kr in session.exec(
        select(KeyResult).where(KeyResult.objective_id == obj.id).order_by(KeyResult.number)
    ).all():
        # Next quarter starts from where this one ended, when that still leaves a gap to close.
        baseline = kr.baseline
        if kr.current_value is not None and kr.current_value != kr.target:
            baseline = kr.current_value
        session.add(
            KeyResult(
                team_id=kr.team_id,
                number=next_number(session, team_id=kr.team_id, kind="key_result"),
                objective_id=copy.id,
                title=kr.title,
                unit=kr.unit,
                baseline=baseline,
                target=kr.target,
                current_value=kr.current_value,
                owner_id=kr.owner_id,
                kpi_name=kr.kpi_name,
                kpi_department_id=kr.kpi_department_id,
                last_confidence=kr.last_confidence,
            )
        )
    session.flush()
    return copy.id


def _kpis_quarter_over_quarter(
    session: Session, *, team_id: str, quarter: str
) -> dict[int, list[KpiQuarter]]:
    """Per scope (0 company-wide, else a department id): each KPI's last value in this quarter
    against its last in the previous one."""
    start, end = quarter_bounds(quarter)
    prev_start = quarter_bounds(previous_quarter(quarter))[0]
    rows = session.exec(
        select(KpiValue.scope, KpiValue.kpi_name, KpiValue.day, KpiValue.value)
        .where(
            KpiValue.team_id == team_id,
            KpiValue.day >= prev_start,
            KpiValue.day <= end,
        )
        .order_by(KpiValue.day)
    ).all()
    latest: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for scope, name, day, value in rows:
        latest[scope][name]["this" if day >= start else "last"] = value
    return {
        scope: [
            KpiQuarter(name=name, this_quarter=vals.get("this"), last_quarter=vals.get("last"))
            for name, vals in sorted(by_name.items())
        ]
        for scope, by_name in latest.items()
    }


def previous_quarter(quarter: str) -> str:
    start, _ = quarter_bounds(quarter)
    return quarter_of(start - timedelta(days=1))


def review_summary(
    session: Session, *, team_id: str, quarter: str, today: date | None = None
) -> ReviewSummary:
    """`today`: the workspace's date (commitments due before it and still open are missed)."""
    quarter = parse_quarter(quarter)
    start, end = quarter_window(quarter)
    try:
        from storage.leaderboards import leaderboard

        top = leaderboard(session, team_id=team_id, start=start, end=end, limit=5).top
    except ImportError:  # recognition feature not installed in this build
        top = []
    q_start, q_end = quarter_bounds(quarter)
    kpis = _kpis_quarter_over_quarter(session, team_id=team_id, quarter=quarter)
    return ReviewSummary(
        quarter=quarter,
        team_id=team_id,
        departments=department_reviews(session, team_id=team_id, quarter=quarter),
        kpis=kpis.pop(0, []),
        department_kpis=kpis,
        most_recognized=top,
        commitments=kept_and_missed(
            session, team_id=team_id, start=q_start, end=q_end, today=today or utcnow().date()
        ),
        close_the_loop=period_figures(session, team_id=team_id, start=start, end=end),
        department_names=dict(
            session.exec(
                select(Department.id, Department.name).where(Department.team_id == team_id)
            ).all()
        ),
    )


def record_summary_post(
    session: Session, *, team_id: str, quarter: str, channel: str, ts: str
) -> None:
    """Remember where the quarter's summary was posted (its retros are replies under it)."""
    for review in session.exec(
        select(Review).where(Review.team_id == team_id, Review.quarter == quarter)
    ).all():
        review.summary_channel, review.summary_ts = channel, ts
        session.add(review)
    session.flush()


def summary_post(session: Session, *, team_id: str, quarter: str) -> tuple[str, str] | None:
    """(channel, ts) of the quarter's summary message, once posted."""
    row = session.exec(
        select(Review.summary_channel, Review.summary_ts).where(
            Review.team_id == team_id,
            Review.quarter == quarter,
            col(Review.summary_ts).is_not(None),
        )
    ).first()
    return (row[0], row[1]) if row else None
