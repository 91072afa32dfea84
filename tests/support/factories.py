"""Seed data through the same storage functions the app uses."""

from __future__ import annotations

from datetime import date

from storage.db import session_scope
from storage.departments import add_members, create_department
from storage.objectives import KeyResultInput, create_objective
from storage.quarters import quarter_bounds, quarter_of

TEAM = "T0TEAMA01"


def department(
    engine, name="Support", *, team_id=TEAM, heads=("U0ALICE01",), members=(), channel="C0SUPPORT1"
):
    with session_scope(engine) as s:
        d = create_department(
            s,
            team_id=team_id,
            actor_id="U0ADMIN01",
            is_admin=True,
            name=name,
            channel_id=channel,
            head_ids=list(heads),
        )
        if members:
            add_members(
                s,
                team_id=team_id,
                actor_id="U0ADMIN01",
                is_admin=True,
                department_name=name,
                user_ids=list(members),
            )
        return d


def objective(
    engine,
    dept,
    *,
    team_id=TEAM,
    owner="U0ALICE01",
    title="Delight customers",
    krs=None,
    quarter=None,
):
    quarter = quarter or quarter_of(date.today())
    krs = krs or [KeyResultInput(title="NPS", baseline=30, target=50, unit="pts")]
    with session_scope(engine) as s:
        return create_objective(
            s,
            team_id=team_id,
            actor_id="U0ADMIN01",
            is_admin=True,
            department_id=dept.id if dept is not None else None,  # None: company objective
            title=title,
            quarter=quarter,
            owner_id=owner,
            due_date=quarter_bounds(quarter)[1],
            key_results=krs,
        )
