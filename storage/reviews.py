"""Quarterly reviews (spec §5): who reviews what, scoring rules, carry-over, the summary.

No Slack code. A department's review covers its objectives of the quarter that are still
active or were closed in it; each gets a score 0.0–1.0, a short retro and a carry-over choice.
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
from storage.departments import department_by_id, require_head
from storage.errors import DomainError, FieldErrors, NotFound, item_field
from storage.models import (
    NOTE_MAX,
    Department,
    DepartmentMember,
    KeyResult,
    KpiValue,
    Objective,
    Review,
    ReviewItem,
    utcnow,
)
from storage.quarters import next_quarter, parse_quarter, quarter_bounds, quarter_window
from storage.refs import next_number

REVIEWABLE = ("active", "closed")
SUMMARY_AFTER_DAYS = 14  # the summary goes out at quarter end + 14 days at the latest


@dataclass
class ReviewItemInput:
    objective_id: int
    score: float
    what_worked: str = ""
    what_did_not: str = ""
    carry_over: bool = False


@dataclass
class DepartmentReview:
    department: Department
    review: Review
    head_ids: list[str]
    objectives: list[Objective]
    items: dict[int, ReviewItem] = field(default_factory=dict)  # objective id → item

    @property
    def average(self) -> float | None:
        scores = [i.score for i in self.items.values()]
        return sum(scores) / len(scores) if scores else None


@dataclass
class KpiQuarter:
    name: str
    this_quarter: float | None
    last_quarter: float | None


@dataclass
class ReviewSummary:
    quarter: str
    departments: list[DepartmentReview]
    kpis: list[KpiQuarter]
    most_recognized: list[tuple[str, int]]
    # Commitments due in the quarter per owing department: kept and missed (spec §8).
    commitments: dict[int, KeptMissed] = field(default_factory=dict)
    department_names: dict[int, str] = field(default_factory=dict)

    @property
    def all_submitted(self) -> bool:
        return all(d.review.status == "submitted" for d in self.departments)


def parse_score(text: str | float | None) -> float:
    raw = str(text if text is not None else "").strip().replace(",", ".")
    try:
        score = float(raw)
    except ValueError:
        raise DomainError(
            f"`{raw or ' '}` is not a score; give a number from 0.0 to 1.0."
        ) from None
    if not 0.0 <= score <= 1.0:
        raise DomainError(f"The score must be between 0.0 and 1.0 (got {raw}).")
    return round(score, 2)


def _objectives(session: Session, *, team_id: str, quarter: str) -> dict[int, list[Objective]]:
    out: dict[int, list[Objective]] = defaultdict(list)
    for o in session.exec(
        select(Objective)
        .where(
            Objective.team_id == team_id,
            Objective.quarter == quarter,
            col(Objective.status).in_([*REVIEWABLE, "carried_over"]),
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
    """Every started review of the quarter with its department, heads, objectives and items."""
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
    out = [
        DepartmentReview(
            department=depts[r.department_id],
            review=r,
            head_ids=heads.get(r.department_id, []),
            objectives=objectives.get(r.department_id, []),
            items=items.get(r.id, {}),
        )
        for r in reviews
        if r.department_id in depts
    ]
    return sorted(out, key=lambda d: d.department.name_key)


def department_review(
    session: Session, *, team_id: str, quarter: str, department_id: int
) -> DepartmentReview:
    for d in department_reviews(session, team_id=team_id, quarter=quarter):
        if d.department.id == department_id:
            return d
    raise NotFound(f"There is no {quarter} review for that department.")


def open_objectives(d: DepartmentReview) -> list[Objective]:
    """Objectives of a department review that still need a score."""
    return [o for o in d.objectives if o.id not in d.items]


def submit_review(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    quarter: str,
    department_id: int,
    items: list[ReviewItemInput],
) -> DepartmentReview:
    """Store scores and retros; close or carry over each objective. FieldErrors on bad input
    (keys `score_<objective id>`, `worked_<id>`, `didnt_<id>`); nothing is written then."""
    quarter = parse_quarter(quarter)
    dept = department_by_id(session, team_id=team_id, department_id=department_id)
    require_head(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department=dept,
        action=f"submit {dept.name}'s quarterly review",
    )
    start_review(session, team_id=team_id, quarter=quarter)  # no-op once the cycle started it
    current = department_review(session, team_id=team_id, quarter=quarter, department_id=dept.id)
    if current.review.status == "submitted" and not open_objectives(current):
        raise DomainError(f"{dept.name}'s {quarter} review was already submitted.")
    allowed = {o.id: o for o in open_objectives(current)}
    errors: dict[str, str] = {}
    for item in items:
        if item.objective_id not in allowed:
            errors[item_field("objective", item.objective_id, "score")] = (
                "This objective is not open for review in this department and quarter."
            )
        if not 0.0 <= item.score <= 1.0:
            errors[item_field("objective", item.objective_id, "score")] = (
                "Give a score from 0.0 to 1.0."
            )
        for key, text in (("what_worked", item.what_worked), ("what_did_not", item.what_did_not)):
            if len(text or "") > NOTE_MAX:
                errors[item_field("objective", item.objective_id, key)] = (
                    f"At most {NOTE_MAX:,} characters."
                )
    if not items:
        errors["review"] = "There is nothing to score."
    if errors:
        raise FieldErrors(errors)

    now = utcnow()
    for item in items:
        obj = allowed[item.objective_id]
        before = obj.model_dump()
        row = ReviewItem(
            team_id=team_id,
            review_id=current.review.id,
            objective_id=obj.id,
            score=item.score,
            what_worked=(item.what_worked or "").strip(),
            what_did_not=(item.what_did_not or "").strip(),
            carry_over=item.carry_over,
        )
        session.add(row)
        obj.final_score = item.score
        obj.closed_at = obj.closed_at or now
        obj.status = "carried_over" if item.carry_over else "closed"
        session.add(obj)
        session.flush()
        copy = _carry_over(session, obj, actor_id=actor_id) if item.carry_over else None
        audit.record(
            session,
            team_id=team_id,
            actor_id=actor_id,
            action="review.score",
            entity="objective",
            entity_id=obj.id,
            before=before,
            after={**obj.model_dump(), "review_item": row.model_dump(), "copy_id": copy},
        )
    done = department_review(session, team_id=team_id, quarter=quarter, department_id=dept.id)
    if not open_objectives(done):
        before = done.review.model_dump()
        done.review.status = "submitted"
        done.review.submitted_by = actor_id
        done.review.submitted_at = now
        session.add(done.review)
        audit.record(
            session,
            team_id=team_id,
            actor_id=actor_id,
            action="review.submit",
            entity="review",
            entity_id=done.review.id,
            before=before,
            after=done.review,
        )
        session.flush()
    return done


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


def _kpi_quarter_over_quarter(session: Session, *, team_id: str, quarter: str) -> list[KpiQuarter]:
    """Company-wide KPIs: the last value in this quarter against the last in the previous one."""
    start, end = quarter_bounds(quarter)
    prev_start = quarter_bounds(_previous_quarter(quarter))[0]
    rows = session.exec(
        select(KpiValue)
        .where(
            KpiValue.team_id == team_id,
            KpiValue.scope == 0,
            KpiValue.day >= prev_start,
            KpiValue.day <= end,
        )
        .order_by(KpiValue.day)
    ).all()
    latest: dict[str, dict[str, float]] = defaultdict(dict)
    for v in rows:
        latest[v.kpi_name]["this" if v.day >= start else "last"] = v.value
    return [
        KpiQuarter(name=name, this_quarter=vals.get("this"), last_quarter=vals.get("last"))
        for name, vals in sorted(latest.items())
    ]


def _previous_quarter(quarter: str) -> str:
    start, _ = quarter_bounds(quarter)
    from storage.quarters import quarter_of

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
    return ReviewSummary(
        quarter=quarter,
        departments=department_reviews(session, team_id=team_id, quarter=quarter),
        kpis=_kpi_quarter_over_quarter(session, team_id=team_id, quarter=quarter),
        most_recognized=top,
        commitments=kept_and_missed(
            session, team_id=team_id, start=q_start, end=q_end, today=today or utcnow().date()
        ),
        department_names=dict(
            session.exec(
                select(Department.id, Department.name).where(Department.team_id == team_id)
            ).all()
        ),
    )
