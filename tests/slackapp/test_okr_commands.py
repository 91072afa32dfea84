"""/okr and /checkin end to end: signed requests to the real App, the fake Slack records replies."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select

from storage.models import AuditLog, CheckIn, Department, KeyResult, Objective
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import department, objective
from tests.support.slack_driver import state


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_dept_create_by_admin_then_list(driver, slack, engine):
    resp = driver.command(
        "/okr", "dept create Customer Success <#C0CS00001|cs> <@U0ALICE01|alice>", user=ADMIN
    )
    assert resp.status == 200
    text = driver.last_reply_text()
    assert "Created" in text and "Customer Success" in text
    with Session(engine) as s:
        dept = s.exec(select(Department)).one()
        assert (dept.name, dept.channel_id, dept.team_id) == (
            "Customer Success",
            "C0CS00001",
            "T0TEAMA01",
        )
        log = s.exec(select(AuditLog).where(AuditLog.action == "department.create")).one()
        assert log.actor_id == ADMIN
    slack.reset()
    driver.command("/okr", "dept list", user=BOB)
    listing = driver.last_reply_text()
    assert "Customer Success" in listing and "<@U0ALICE01>" in listing


def test_dept_create_refused_for_member_names_role(driver, engine):
    driver.command("/okr", "dept create Sales", user=BOB)
    text = driver.last_reply_text()
    assert "workspace admin" in text and "/okr dept create Sales" in text
    assert count(engine, Department) == 0


def test_duplicate_department_name_other_case(driver, engine):
    department(engine, "Support")
    driver.command("/okr", "dept create SUPPORT", user=ADMIN)
    assert "already exists" in driver.last_reply_text()
    assert count(engine, Department) == 1


def test_unknown_subcommand_quotes_input(driver, engine):
    driver.command("/okr", "frobnicate now", user=BOB)
    text = driver.last_reply_text()
    assert "frobnicate" in text and "/okr help" in text


def test_checkin_text_updates_kr_and_keeps_history(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    driver.home_opened(ALICE)  # Alice is on App Home: her check-ins republish it
    driver.command("/checkin", f"KR-{kr.number} 40 7/10 good week", user=ALICE)
    assert "Checked in" in driver.last_reply_text()
    slack.reset()
    driver.command("/checkin", f"KR-{kr.number} 1,234.5 8/10", user=ALICE)
    assert "Checked in" in driver.last_reply_text()
    with Session(engine) as s:
        row = s.get(KeyResult, kr.id)
        assert row.current_value == 1234.5 and row.last_confidence == 8
        assert len(s.exec(select(CheckIn)).all()) == 2
    slack.wait_for("views.publish")


def test_checkin_is_stored_before_slack_gets_the_ack(driver, slack, engine):
    """A process killed right after the ack must not lose a check-in Slack saw accepted: the
    row exists as soon as the HTTP answer does, before any reply is posted."""
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    for n in range(5):
        resp = driver.command("/checkin", f"KR-{kr.number} {40 + n} 7/10", user=ALICE)
        assert resp.status == 200
        assert count(engine, CheckIn) == n + 1
    assert len(driver.replies(5)) == 5


def test_bad_checkin_values_write_nothing(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    for text, expect in [
        (f"KR-{kr.number} abc 7/10", "not a number"),
        (f"KR-{kr.number} 12..5 7/10", "not a number"),
        (f"KR-{kr.number} 1e999 7/10", "not a number"),
        (f"KR-{kr.number} 45 11/10", "out of range"),
        (f"KR-{kr.number} 45 0/10", "out of range"),
        ("KR-999 45 7/10", "no key result"),
        (f"KR-{kr.number}", "needs a value"),
    ]:
        slack.reset()
        driver.command("/checkin", text, user=ALICE)
        reply = driver.last_reply_text()
        assert expect in reply, (text, reply)
        assert text.split()[0] in reply
    assert count(engine, CheckIn) == 0


def test_new_objective_modal_submission_with_inline_errors(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    driver.command("/okr", "new", user=ALICE)
    opened = slack.wait_for("views.open")[0]
    view = opened["view"]
    assert view["callback_id"] == "okr_new_objective" and len(view["blocks"]) <= 100
    values = state(
        department=("option", str(dept.id)),
        title="Win back detractors",
        quarter=("option", "2026-Q4"),
        owner=("user", ALICE),
        due_date=("date", "2026-12-31"),
        kr0_title="NPS",
        kr0_unit="pts",
        kr0_baseline="30",
        kr0_target="30",
    )
    resp = driver.view_submission("okr_new_objective", values, user=ALICE)
    body = json.loads(resp.body)
    assert body["response_action"] == "errors" and "kr0_target" in body["errors"]
    assert count(engine, Objective) == 0
    values.update(state(kr0_target="45"))
    resp = driver.view_submission("okr_new_objective", values, user=ALICE)
    assert resp.status == 200 and not resp.body
    dm = slack.wait_for("chat.postMessage")[0]
    assert "O-1" in dm["text"] and "KR-1" in dm["text"]
    with Session(engine) as s:
        kr = s.exec(select(KeyResult)).one()
        assert (kr.baseline, kr.target, kr.owner_id) == (30, 45, ALICE)


def test_close_by_non_head_refused(driver, engine):
    dept = department(engine, heads=(ALICE,))
    obj, _ = objective(engine, dept)
    driver.command("/okr", f"close O-{obj.number} 0.8", user=BOB)
    text = driver.last_reply_text()
    assert "head of Support" in text
    with Session(engine) as s:
        assert s.get(Objective, obj.id).status == "active"
