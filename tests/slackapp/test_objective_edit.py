"""`/okr edit O-12`: heads edit objectives and key results in a prefilled modal."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from storage.models import AuditLog, KeyResult, Objective
from storage.objectives import KeyResultInput
from tests.conftest import ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state


def edit_values(obj, **overrides):
    fields = dict(title="Win back detractors", description="Call them", owner=("user", ALICE),
                  due_date=("date", obj.due_date.isoformat()), kr0_title="NPS", kr0_unit="pts",
                  kr0_target="55", kr0_owner=("user", CAROL))  # fmt: skip
    fields.update(overrides)
    return state(**fields)


def test_head_edits_objective_and_key_result(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, (kr,) = objective(engine, dept)
    driver.command("/okr", f"edit O-{obj.number}", user=ALICE)
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "okr_edit_objective"
    assert view["private_metadata"] == f"O-{obj.number}|{kr.number}"
    assert view["blocks"][0]["element"]["initial_value"] == "Delight customers"
    resp = driver.view_submission("okr_edit_objective", edit_values(obj), user=ALICE,
                                  private_metadata=view["private_metadata"])  # fmt: skip
    assert resp.status == 200 and not resp.body
    assert "Saved" in slack.wait_for("chat.postMessage")[0]["text"]
    with Session(engine) as s:
        row, k = s.get(Objective, obj.id), s.get(KeyResult, kr.id)
        assert (row.title, row.description) == ("Win back detractors", "Call them")
        assert (k.target, k.owner_id, k.baseline) == (55, CAROL, 30)
        log = s.exec(select(AuditLog).where(AuditLog.action == "objective.update")).one()
        assert log.actor_id == ALICE and "Delight customers" in log.before
        assert "Win back detractors" in log.after


def test_member_refused_with_role_named(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    obj, _ = objective(engine, dept)
    driver.command("/okr", f"edit O-{obj.number}", user=BOB)
    assert "head of Support" in driver.last_reply_text()
    assert slack.calls_to("views.open") == []
    resp = driver.view_submission("okr_edit_objective", edit_values(obj), user=BOB,
                                  private_metadata=f"O-{obj.number}|1")  # fmt: skip
    assert "head of Support" in json.loads(resp.body)["errors"]["title"]
    with Session(engine) as s:
        assert s.get(Objective, obj.id).title == "Delight customers"


def test_target_equal_to_baseline_and_bad_number_are_inline_errors(driver, engine):
    dept = department(engine, heads=(ALICE,))
    obj, _ = objective(engine, dept)
    meta = f"O-{obj.number}|1"
    body = driver.view_submission("okr_edit_objective", edit_values(obj, kr0_target="30"),
                                  user=ALICE, private_metadata=meta).body  # fmt: skip
    assert "differ from the baseline" in json.loads(body)["errors"]["kr0_target"]
    body = driver.view_submission("okr_edit_objective", edit_values(obj, kr0_target="lots"),
                                  user=ALICE, private_metadata=meta).body  # fmt: skip
    assert "not a number" in json.loads(body)["errors"]["kr0_target"]
    with Session(engine) as s:
        assert s.exec(select(KeyResult)).one().target == 50


def test_forged_metadata_cannot_reach_other_key_results_or_teams(driver, engine):
    dept = department(engine, heads=(ALICE,))
    o1, _ = objective(engine, dept)
    _, (other_kr,) = objective(engine, dept, title="Other",
                               krs=[KeyResultInput(title="CSAT", baseline=70, target=90)])  # fmt: skip
    other_team = department(engine, "Support", team_id="T0TEAMB02", heads=(ALICE,))
    objective(engine, other_team, team_id="T0TEAMB02", title="B secret")
    body = driver.view_submission("okr_edit_objective", edit_values(o1), user=ALICE,
                                  private_metadata=f"O-{o1.number}|{other_kr.number}").body  # fmt: skip
    assert "not part of" in json.loads(body)["errors"]["title"]
    body = driver.view_submission("okr_edit_objective", edit_values(o1), user=ALICE,
                                  private_metadata="T0TEAMB02:O-1").body  # fmt: skip
    assert "out of date" in json.loads(body)["errors"]["title"]
    with Session(engine) as s:
        assert s.get(KeyResult, other_kr.id).title == "CSAT"
        titles = sorted(o.title for o in s.exec(select(Objective)))
        assert titles == ["B secret", "Delight customers", "Other"]
