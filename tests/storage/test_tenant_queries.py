"""No query returns another team's rows: refs, lists, check-ins and home data are per team."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from storage.checkins import record_checkin
from storage.db import session_scope
from storage.errors import NotFound
from storage.home import home_data
from storage.objectives import get_key_result, get_objective, list_objectives
from tests.support.factories import department, objective

TEAM_B = "T0TEAMB02"


def test_refs_are_numbered_per_team_and_never_cross(engine):
    da = department(engine, "Support")
    db_ = department(engine, "Support", team_id=TEAM_B, heads=("U0BOBB001",))
    oa, (kra,) = objective(engine, da)
    ob, (krb,) = objective(engine, db_, team_id=TEAM_B, owner="U0BOBB001", title="B's secret")
    assert oa.number == ob.number == 1 and kra.number == krb.number == 1
    with Session(engine) as s:
        assert get_objective(s, team_id="T0TEAMA01", ref="O-1").title == "Delight customers"
        assert get_objective(s, team_id=TEAM_B, ref="O-1").title == "B's secret"
        assert get_key_result(s, team_id=TEAM_B, ref="KR-1").id == krb.id
        with pytest.raises(NotFound):
            get_objective(s, team_id="T0TEAMA01", ref="O-2")
        titles = [
            v.objective.title
            for v in list_objectives(s, team_id="T0TEAMA01", user_id="U0ALICE01", scope="all")
        ]
        assert titles == ["Delight customers"]
        home = home_data(s, team_id=TEAM_B, user_id="U0ALICE01")
        assert home.key_results == [] and home.department_objectives == []


def test_checkin_cannot_touch_other_teams_kr(engine):
    da = department(engine, "Support")
    db_ = department(engine, "Support", team_id=TEAM_B, heads=("U0ALICE01",))
    objective(engine, da)
    _, (krb,) = objective(engine, db_, team_id=TEAM_B, title="B")
    with session_scope(engine) as s:
        _, kr = record_checkin(
            s,
            team_id="T0TEAMA01",
            user_id="U0ALICE01",
            is_admin=False,
            ref="KR-1",
            value=40,
            confidence=7,
        )
    assert kr.team_id == "T0TEAMA01"
    with Session(engine) as s:
        assert get_key_result(s, team_id=TEAM_B, ref="KR-1").current_value is None
