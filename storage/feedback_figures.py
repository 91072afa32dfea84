"""Customer-voice figures per department and week, and the two KPIs made from them.

Per department (and company-wide) and ISO week of receipt (UTC Mondays): detractors received,
how many were followed up within the window (first contact by the due time), the
*close-the-loop rate* (that share, in %, of those whose outcome is known: contacted, or past
due), the median hours to first contact, how many are still open and overdue now, and how many
were recovered. One statement reads every follow-up of the period, whatever the number of
departments; the rest is counting in Python.

`refresh_feedback_kpis` stores `close_the_loop_rate` and `hours_to_contact` as KPI values
(source `feedback`, one per department and week, plus company-wide under scope 0), then lets
key results bound to them take their newest value, exactly as after a sheet sync.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from sqlalchemy import and_, case, or_
from sqlmodel import Session, col, func, select

from storage.kpi_values import ValueIn, ensure_kpis, refresh_bound_key_results, upsert_values
from storage.models import Feedback, Followup, FollowUpStatus, utcnow

COMPANY = 0  # the company-wide figures' key, as KPI values' scope
FEEDBACK_SOURCE = "feedback"
FEEDBACK_ACTOR = "feedback"
RATE_KPI, HOURS_KPI = "close_the_loop_rate", "hours_to_contact"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class VoiceFigures:
    department_id: (
        int  # COMPANY (0) for company-wide; follow-ups without a department count there only
    )
    week: date  # Monday of the week the answers were received
    detractors: int = 0
    followed_up_in_window: int = 0
    decided: int = 0  # contacted, or past due without contact
    open: int = 0  # not closed now
    overdue: int = 0  # not closed and past due now
    recovered: int = 0
    median_hours_to_contact: float | None = None

    @property
    def close_the_loop_rate(self) -> float | None:
        """% of detractors followed up within the window, of those whose outcome is known."""
        return None if not self.decided else 100.0 * self.followed_up_in_window / self.decided


def count_detractor(
    fig: VoiceFigures,
    *,
    received: datetime,
    due: datetime,
    contact: datetime | None,
    status: str,
    now: datetime,
) -> float | None:
    """Count one detractor received in the figures' period, as its follow-up stands `now`.
    Returns its hours to first contact, None while nobody has contacted the customer."""
    fig.detractors += 1
    if contact is not None and contact <= due:
        fig.followed_up_in_window += 1
    if contact is not None or due <= now:
        fig.decided += 1
    if status != FollowUpStatus.CLOSED:
        fig.open += 1
        if due < now:
            fig.overdue += 1
    if contact is None:
        return None
    return max(0.0, (contact - received).total_seconds() / 3600)


def voice_figures(
    session: Session, *, team_id: str, start: date, end: date, now: datetime | None = None
) -> dict[tuple[int, date], VoiceFigures]:
    """(department id or COMPANY, week Monday) → figures, for answers received in
    [start, end). One statement."""
    now = now or utcnow()
    lo = datetime.combine(start, time(0), tzinfo=UTC)
    hi = datetime.combine(end, time(0), tzinfo=UTC)
    rows = session.exec(
        select(
            Followup.department_id,
            Followup.received_at,
            Followup.due_at,
            Followup.first_contact_at,
            Followup.status,
            Followup.recovered_at,
        ).where(
            Followup.team_id == team_id,
            col(Followup.received_at) >= lo,
            col(Followup.received_at) < hi,
        )
    ).all()
    out: dict[tuple[int, date], VoiceFigures] = {}
    hours: dict[tuple[int, date], list[float]] = defaultdict(list)
    for dept_id, received, due, contact, status, recovered in rows:
        received, due = _aware(received), _aware(due)
        contact = _aware(contact) if contact else None
        week = monday(received.date())
        keys = [(COMPANY, week)] + ([(dept_id, week)] if dept_id else [])
        for key in keys:
            fig = out.get(key)
            if fig is None:
                fig = out[key] = VoiceFigures(department_id=key[0], week=week)
            waited = count_detractor(
                fig, received=received, due=due, contact=contact, status=status, now=now
            )
            if waited is not None:
                hours[key].append(waited)
            if recovered is not None:
                fig.recovered += 1
    for key, values in hours.items():
        out[key].median_hours_to_contact = round(median(values), 1)
    return out


def open_and_overdue(
    session: Session, *, team_id: str, now: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Department id (COMPANY for all) → (open, overdue) follow-ups right now, whenever they
    arrived. One statement."""
    now = now or utcnow()
    overdue = func.sum(case((col(Followup.due_at) < now, 1), else_=0))
    rows = session.exec(
        select(Followup.department_id, func.count(), overdue)
        .where(Followup.team_id == team_id, Followup.status != FollowUpStatus.CLOSED)
        .group_by(Followup.department_id)
    ).all()
    out: dict[int, tuple[int, int]] = {}
    total_open = total_overdue = 0
    for dept_id, n_open, n_overdue in rows:
        n_overdue = int(n_overdue or 0)
        total_open += n_open
        total_overdue += n_overdue
        if dept_id:
            out[dept_id] = (n_open, n_overdue)
    out[COMPANY] = (total_open, total_overdue)
    return out


def period_figures(
    session: Session, *, team_id: str, start: datetime, end: datetime, now: datetime | None = None
) -> dict[int, VoiceFigures]:
    """Department id (COMPANY for all) → figures over [start, end): the detractors received in
    it (followed up within the window, median hours to first contact, still open and overdue
    now) and the follow-ups recovered in it, whenever their detractor arrived. Departments
    with neither are absent. One statement, whatever the number of departments.

    Recovered counts by when it happened, so a digest's week or a review's quarter shows the
    customers won back then (a recovery usually comes weeks after the detractor)."""
    now = now or utcnow()
    received_in = and_(col(Followup.received_at) >= start, col(Followup.received_at) < end)
    recovered_in = and_(col(Followup.recovered_at) >= start, col(Followup.recovered_at) < end)
    rows = session.exec(
        select(
            Followup.department_id,
            Followup.received_at,
            Followup.due_at,
            Followup.first_contact_at,
            Followup.status,
            Followup.recovered_at,
        ).where(Followup.team_id == team_id, or_(received_in, recovered_in))
    ).all()
    lo, hi = _aware(start), _aware(end)
    week = monday(lo.date())
    out: dict[int, VoiceFigures] = {}
    hours: dict[int, list[float]] = defaultdict(list)
    for dept_id, received, due, contact, status, recovered in rows:
        received, due = _aware(received), _aware(due)
        contact = _aware(contact) if contact else None
        for key in [COMPANY] + ([dept_id] if dept_id else []):
            fig = out.get(key)
            if fig is None:
                fig = out[key] = VoiceFigures(department_id=key, week=week)
            if recovered is not None and lo <= _aware(recovered) < hi:
                fig.recovered += 1
            if not lo <= received < hi:
                continue
            waited = count_detractor(
                fig, received=received, due=due, contact=contact, status=status, now=now
            )
            if waited is not None:
                hours[key].append(waited)
    for key, values in hours.items():
        out[key].median_hours_to_contact = round(median(values), 1)
    return out


@dataclass(frozen=True)
class OverdueFollowup:
    number: int
    department_id: int | None
    score: int
    received_at: datetime
    due_at: datetime
    customer: str  # "" once the feedback was erased (retention, forget)
    comment: str


@dataclass
class OpenFollowups:
    """A department's (or, under COMPANY, every) follow-up not closed right now."""

    open: int = 0
    overdue: list[OverdueFollowup] = field(default_factory=list)  # longest overdue first


def open_followups(
    session: Session, *, team_id: str, now: datetime | None = None
) -> dict[int, OpenFollowups]:
    """Department id (COMPANY for all) → its open follow-ups now, with the overdue ones in
    full (customer and comment read for those only). One statement."""
    now = now or utcnow()
    overdue = col(Followup.due_at) < now
    rows = session.exec(
        select(
            Followup.number,
            Followup.department_id,
            Followup.score,
            Followup.received_at,
            Followup.due_at,
            Feedback.customer,
            Feedback.comment,
        )
        .outerjoin(Feedback, and_(col(Feedback.id) == Followup.feedback_id, overdue))
        .where(Followup.team_id == team_id, Followup.status != FollowUpStatus.CLOSED)
        .order_by(col(Followup.due_at), col(Followup.number))
    ).all()
    out: dict[int, OpenFollowups] = {COMPANY: OpenFollowups()}
    for number, dept_id, score, received, due, customer, comment in rows:
        due = _aware(due)
        item = None
        if due < _aware(now):
            item = OverdueFollowup(
                number, dept_id, score, _aware(received), due, customer or "", comment or ""
            )
        for key in [COMPANY] + ([dept_id] if dept_id else []):
            found = out.get(key)
            if found is None:
                found = out[key] = OpenFollowups()
            found.open += 1
            if item is not None:
                found.overdue.append(item)
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def refresh_feedback_kpis(
    session: Session, *, team_id: str, since: date, now: datetime | None = None
) -> int:
    """Store the customer-voice KPIs for every week from `since`'s Monday to now; returns how
    many values were stored or changed. Key results bound to them follow."""
    now = now or utcnow()
    start = monday(since)
    figures = voice_figures(
        session, team_id=team_id, start=start, end=now.date() + timedelta(days=1), now=now
    )
    values: list[ValueIn] = []
    for (dept_id, week), fig in figures.items():
        rate = fig.close_the_loop_rate
        if rate is not None:
            values.append(ValueIn(RATE_KPI, dept_id, week, round(rate, 1), "follow-ups"))
        if fig.median_hours_to_contact is not None:
            values.append(
                ValueIn(HOURS_KPI, dept_id, week, fig.median_hours_to_contact, "follow-ups")
            )
    if not values:
        return 0
    ensure_kpis(session, team_id=team_id, names={RATE_KPI, HOURS_KPI})
    counts = upsert_values(
        session, team_id=team_id, values=values, synced_at=now, source=FEEDBACK_SOURCE
    )
    changed = counts.stored + counts.updated
    if changed:
        refresh_bound_key_results(session, team_id=team_id, actor_id=FEEDBACK_ACTOR)
    return changed


def refresh_for_followup(session: Session, *, team_id: str, received_at: datetime) -> int:
    """After a follow-up changed: its week's KPI values."""
    return refresh_feedback_kpis(session, team_id=team_id, since=_aware(received_at).date())
