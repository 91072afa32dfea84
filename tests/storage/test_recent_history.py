"""`/okr show`'s reads: the newest check-ins of every key result in one statement — the same rows,
in the same order, as reading each key result's history alone — and the objective with its
department in one. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.checkins import history, recent_history, record_checkin
from storage.db import read_scope, session_scope
from storage.errors import NotFound
from storage.models import CheckIn, utcnow
from storage.objectives import KeyResultInput, objective_view
from tests.support import factories
from tests.support.sql_count import counted_statements

TEAM = factories.TEAM
ALICE = "U0ALICE01"


def test_recent_history_matches_each_key_results_own_history(engine):
    dept = factories.department(engine, heads=(ALICE,))
    krs = [KeyResultInput(title=f"KR {n}", baseline=0, target=10) for n in range(4)]
    _, made = factories.objective(engine, dept, owner=ALICE, krs=krs)
    counts = {made[0].id: 5, made[1].id: 2, made[2].id: 0, made[3].id: 3}
    base = utcnow() - timedelta(days=3)
    with session_scope(engine) as s:
        for kr in made:
            for n in range(counts[kr.id]):
                ref, note = f"KR-{kr.number}", f"{kr.number}/{n}"
                row, _ = record_checkin(
                    s,
                    team_id=TEAM,
                    user_id=ALICE,
                    is_admin=False,
                    ref=ref,
                    value=n,
                    confidence=5,
                    note=note,
                )
                # Two check-ins at the same moment: the later id is the newer one.
                s.get(CheckIn, row.id).created_at = base + timedelta(hours=n // 2)
        s.flush()
    ids = [kr.id for kr in made]
    with read_scope(engine) as s, counted_statements(engine) as statements:
        together = recent_history(s, team_id=TEAM, key_result_ids=ids, limit=3)
    assert len(statements) == 1
    with read_scope(engine) as s:
        alone = {kr_id: history(s, team_id=TEAM, key_result_id=kr_id, limit=3) for kr_id in ids}
    assert {k: [c.id for c in v] for k, v in together.items()} == {
        k: [c.id for c in v] for k, v in alone.items()
    }
    assert [len(together[kr_id]) for kr_id in ids] == [3, 2, 0, 3]
    first = made[0].number
    assert [c.note for c in together[made[0].id]] == [f"{first}/4", f"{first}/3", f"{first}/2"]
    with read_scope(engine) as s:
        assert s.query(CheckIn).count() == 10
        assert recent_history(s, team_id=TEAM, key_result_ids=[], limit=3) == {}
        assert recent_history(s, team_id="T0OTHER01", key_result_ids=ids, limit=3) == {
            kr_id: [] for kr_id in ids
        }


def test_an_objective_comes_with_its_department_or_none(engine):
    dept = factories.department(engine, name="Support", heads=(ALICE,))
    team_obj, _ = factories.objective(engine, dept, owner=ALICE)
    company_obj, _ = factories.objective(engine, None, owner=ALICE, title="Company")
    with read_scope(engine) as s:
        view = objective_view(s, team_id=TEAM, ref=f"O-{team_obj.number}")
        assert (view.objective.id, view.department.name) == (team_obj.id, "Support")
        view = objective_view(s, team_id=TEAM, ref=f"o-{company_obj.number}")
        assert (view.objective.title, view.department) == ("Company", None)
        with pytest.raises(NotFound, match="no objective `O-999`"):
            objective_view(s, team_id=TEAM, ref="O-999")
        with pytest.raises(NotFound):  # another workspace's objective is not found either
            objective_view(s, team_id="T0OTHER01", ref=f"O-{team_obj.number}")
