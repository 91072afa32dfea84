"""Each objective's own key-result totals are kept by the database (triggers, migration 0009),
whatever changes a key result: created, checked in, KPI-bound, edited, moved, deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlmodel import Session, select

from storage.checkins import record_checkin
from storage.db import session_scope
from storage.models import AuditLog, CheckIn, KeyResult, Objective, ObjectiveKrTotals
from storage.objectives import KeyResultEdit, KeyResultInput, update_objective
from tests.conftest import ADMIN
from tests.support.factories import TEAM, department, objective
from tests.support.kr_totals import kr_totals_mismatches


def totals(engine, obj) -> tuple[float, int] | None:
    with Session(engine) as s:
        row = s.get(ObjectiveKrTotals, obj.id)
        return None if row is None else (pytest.approx(row.share_sum), row.kr_count)


def test_created_checked_in_edited_and_deleted(engine):
    dept = department(engine, "Support")
    obj, (a, b) = objective(
        engine, dept,
        krs=[KeyResultInput(title="NPS", baseline=30, target=50, unit="pts"),
             KeyResultInput(title="Churn", baseline=10, target=5, unit="%")],
    )  # fmt: skip
    assert totals(engine, obj) == (0.0, 2)
    with session_scope(engine) as s:
        record_checkin(s, team_id=TEAM, user_id=ADMIN, is_admin=True, ref=f"KR-{a.number}",
                       value=45, confidence=7)  # fmt: skip
        record_checkin(
            s,
            team_id=TEAM,
            user_id=ADMIN,
            is_admin=True,
            ref=f"KR-{b.number}",
            value=4,
            confidence=7,
        )  # fmt: skip (past the target: 1.0)
    assert totals(engine, obj) == (0.75 + 1.0, 2)
    # Edited: NPS's target moves (45 of 30→60 is 0.5); churn is not in the edit and stays.
    with session_scope(engine) as s:
        update_objective(
            s, team_id=TEAM, actor_id=ADMIN, is_admin=True, ref=f"O-{obj.number}",
            title=obj.title, owner_id=obj.owner_id, due_date=obj.due_date,
            key_results=[KeyResultEdit(number=a.number, title="NPS", target=60, unit="pts")],
        )  # fmt: skip
    assert totals(engine, obj) == (0.5 + 1.0, 2)
    assert kr_totals_mismatches(engine) == {}
    with session_scope(engine) as s:
        s.execute(delete(CheckIn).where(CheckIn.key_result_id.in_([a.id, b.id])))
        s.execute(delete(AuditLog))
        s.execute(delete(KeyResult).where(KeyResult.objective_id == obj.id))
    assert totals(engine, obj) is None  # no key result left: no row


def test_bulk_value_updates_and_moves_between_objectives(engine):
    """Writes outside the ORM (a KPI sync's bulk update, an admin's SQL) keep them right too."""
    dept = department(engine, "Support")
    one, (kr,) = objective(engine, dept, title="One")
    two, _ = objective(engine, dept, title="Two")
    with session_scope(engine) as s:
        s.execute(update(KeyResult).where(KeyResult.id == kr.id).values(current_value=40))
    assert totals(engine, one) == (0.5, 1)
    with session_scope(engine) as s:
        s.execute(update(KeyResult).where(KeyResult.id == kr.id).values(objective_id=two.id))
    assert totals(engine, one) is None
    assert totals(engine, two) == (0.5 + 0.0, 2)
    with session_scope(engine) as s:  # target equal to baseline: no progress, still counted
        s.execute(update(KeyResult).where(KeyResult.objective_id == two.id).values(target=30))
    assert totals(engine, two) == (0.0, 2)
    assert kr_totals_mismatches(engine) == {}


def test_deleting_an_objective_takes_its_totals(engine):
    dept = department(engine, "Support")
    obj, _ = objective(engine, dept)
    with session_scope(engine) as s:
        s.execute(delete(KeyResult).where(KeyResult.objective_id == obj.id))
        s.execute(delete(Objective).where(Objective.id == obj.id))
    with Session(engine) as s:
        assert s.exec(select(ObjectiveKrTotals)).all() == []


def test_upgrade_fills_totals_for_existing_key_results(engine, db_url, tmp_path):
    """Key results that existed before migration 0009 get their totals from the migration."""
    from alembic import command

    from storage.db import alembic_config

    dept = department(engine, "Support")
    obj, (kr,) = objective(engine, dept)
    with session_scope(engine) as s:
        s.execute(update(KeyResult).where(KeyResult.id == kr.id).values(current_value=35))
    engine.dispose()
    command.downgrade(alembic_config(db_url), "0008_home_seen")
    command.upgrade(alembic_config(db_url), "heads")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM objectivekrtotals")).scalar() == 1
    assert totals(engine, obj) == (0.25, 1)
