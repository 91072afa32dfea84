"""Queries behind App Home: a fixed number of bounded queries, whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.away import away_until
from storage.behaviors import BehaviorProgress, behaviors_for_user
from storage.commitments import PENDING
from storage.departments import memberships
from storage.kpi_values import LatestValue, latest_values
from storage.models import (
    Commitment,
    CommitmentStatus,
    Department,
    Objective,
    ObjectiveStatus,
    Recognition,
    RecognitionRecipient,
    SlackUser,
    utcnow,
)
from storage.objectives import ObjectiveView, key_results_owned_by, load_views
from storage.quarters import quarter_of
from storage.rollup import CompanyObjective, QuarterTree, company_overview, partial_tree

# Someone who opened or used App Home this recently may still be looking at it: their Home is
# republished after a write. Anyone else gets a fresh Home when they next open it.
HOME_SEEN_WINDOW = timedelta(hours=1)


def note_home_seen(
    session: Session, *, team_id: str, user_id: str, now: datetime | None = None
) -> None:
    """Remember that this person opened or used their App Home just now."""
    now = now or utcnow()
    row = session.get(SlackUser, (team_id, user_id))
    if row is None:
        try:
            # Two first opens at once may race to create the row: the loser updates it.
            with session.begin_nested():
                session.add(SlackUser(team_id=team_id, user_id=user_id, home_seen_at=now))
            return
        except IntegrityError:
            row = session.get(SlackUser, (team_id, user_id), populate_existing=True)
    row.home_seen_at = now
    session.add(row)


def home_seen_recently(
    session: Session, *, team_id: str, user_id: str, now: datetime | None = None
) -> bool:
    """Whether this person opened or used App Home within HOME_SEEN_WINDOW."""
    seen = session.exec(
        select(SlackUser.home_seen_at).where(
            SlackUser.team_id == team_id, SlackUser.user_id == user_id
        )
    ).first()
    return seen is not None and (now or utcnow()) - seen <= HOME_SEEN_WINDOW


@dataclass
class HomeData:
    key_results: list = field(default_factory=list)  # (KeyResult, Objective)
    department_objectives: list[ObjectiveView] = field(default_factory=list)
    more_objectives: int = 0
    kpis: list[LatestValue] = field(default_factory=list)  # company-wide
    kudos: list[tuple[Recognition, list[str]]] = field(default_factory=list)
    # This quarter's company objectives with each contributing department's progress.
    company: list[CompanyObjective] = field(default_factory=list)
    tree: QuarterTree | None = None
    department_names: dict[int, str] = field(default_factory=dict)
    away_until: date | None = None  # the last away day, while the person is away
    # Still owed: commitments they own, and ones owed by a department they head, not yet
    # accepted; oldest due first, with how many there are in all.
    commitments_owed: list[Commitment] = field(default_factory=list)
    more_commitments: int = 0
    behaviors: list[tuple[Department, list[BehaviorProgress]]] = field(default_factory=list)
    heads_a_department: bool = False


def commitments_owed(
    session: Session, *, team_id: str, user_id: str, headed_ids: list[int], limit: int
) -> tuple[list[Commitment], int]:
    """Commitments this person owes — owned by them and still pending, or owed by a department
    they head and not yet accepted — oldest due first (at most `limit`), and the total.
    One statement: a window count beside the rows."""
    owed = (col(Commitment.owner_id) == user_id) & col(Commitment.status).in_(PENDING)
    if headed_ids:
        owed = owed | (
            col(Commitment.department_id).in_(headed_ids)
            & (col(Commitment.status) == CommitmentStatus.OPEN)
        )
    rows = session.exec(
        select(Commitment, func.count().over())
        .where(Commitment.team_id == team_id, owed)
        .order_by(Commitment.due_date, Commitment.number)
        .limit(limit)
    ).all()
    return [c for c, _ in rows], (rows[0][1] if rows else 0)


def recent_kudos(
    session: Session, *, team_id: str, limit: int = 5
) -> list[tuple[Recognition, list[str]]]:
    recs = session.exec(
        select(Recognition)
        .where(Recognition.team_id == team_id)
        .order_by(Recognition.created_at.desc(), Recognition.id.desc())
        .limit(limit)
    ).all()
    if not recs:
        return []
    recipients: dict[int, list[str]] = {}
    for r in session.exec(
        select(RecognitionRecipient).where(
            col(RecognitionRecipient.recognition_id).in_([x.id for x in recs])
        )
    ):
        recipients.setdefault(r.recognition_id, []).append(r.user_id)
    return [(r, recipients.get(r.id, [])) for r in recs]


def company_tree(session: Session, *, team_id: str, quarter: str) -> QuarterTree:
    """What App Home's company section needs: the quarter's company objectives and everything
    contributing to them. The same for everyone in the workspace, so a burst of Home refreshes
    may share one (slackapp.listeners.app_home)."""
    return partial_tree(session, team_id=team_id, quarter=quarter, objective_ids=[], company=True)


def _department_objectives(
    session: Session, *, team_id: str, department_ids: list[int], limit: int
) -> tuple[list[Objective], int]:
    """The newest active objectives of the person's departments, and how many more there are."""
    if not department_ids:
        return [], 0
    base = select(Objective).where(
        Objective.team_id == team_id,
        Objective.status == ObjectiveStatus.ACTIVE,
        col(Objective.department_id).in_(department_ids),
    )
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    objs = list(session.exec(base.order_by(Objective.number.desc()).limit(limit)))
    return objs, max(0, total - len(objs))


def home_data(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    max_krs: int = 15,
    max_objectives: int = 8,
    max_commitments: int = 8,
    shared_company_tree: QuarterTree | None = None,
) -> HomeData:
    """`shared_company_tree`: a `company_tree` read after every write this Home must show."""
    data = HomeData()
    quarter = quarter_of(utcnow().date())
    today = utcnow().date()
    data.away_until = away_until(session, team_id=team_id, today=today, user_ids=[user_id]).get(
        user_id
    )
    data.key_results = key_results_owned_by(session, team_id=team_id, user_id=user_id)
    mine = memberships(session, team_id=team_id, user_id=user_id)
    dept_ids = [m.department_id for m in mine]
    headed = [m.department_id for m in mine if m.is_head]
    data.heads_a_department = bool(headed)
    data.commitments_owed, total = commitments_owed(
        session, team_id=team_id, user_id=user_id, headed_ids=headed, limit=max_commitments
    )
    data.more_commitments = max(0, total - len(data.commitments_owed))
    objs, data.more_objectives = _department_objectives(
        session, team_id=team_id, department_ids=dept_ids, limit=max_objectives
    )
    trees = None
    if shared_company_tree is not None and shared_company_tree.quarter == quarter:
        data.tree = shared_company_tree
        if shared_company_tree.complete:  # it holds the department objectives' part too
            trees = {quarter: shared_company_tree}
    else:
        # Only the part of the quarter's graph shown: its company objectives and the department
        # objectives listed, with what contributes to them (storage.rollup.partial_tree).
        data.tree = partial_tree(
            session,
            team_id=team_id,
            quarter=quarter,
            objective_ids=[o.id for o in objs if o.quarter == quarter],
            company=True,
        )
        trees = {quarter: data.tree}
    data.company = company_overview(data.tree)
    if data.company or data.commitments_owed:
        data.department_names = dict(
            session.exec(
                select(Department.id, Department.name).where(Department.team_id == team_id)
            ).all()
        )
    if objs:
        data.department_objectives = load_views(session, objs, trees)
    data.kpis = latest_values(session, team_id=team_id, scope=0)
    data.kudos = recent_kudos(session, team_id=team_id)
    data.behaviors = behaviors_for_user(
        session, team_id=team_id, user_id=user_id, department_ids=dept_ids
    )
    return data
