"""Check-ins that explain themselves: a blocker from `blocked:` or the modal's field, open until a
later check-in without one, shown by `/okr show` with the latest note."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select

from slackapp.command_parsing import parse_checkin_text
from storage.checkins import blocked_key_result_ids, open_blockers
from storage.models import AuditLog, CheckIn
from tests.conftest import ALICE, BOB
from tests.support.factories import TEAM, department, objective
from tests.support.slack_driver import state


def test_blocked_splits_the_note():
    parsed = parse_checkin_text("KR-34 45 6/10 slow week blocked: Product to fix the points bug")
    assert (parsed.value_text, parsed.confidence) == ("45", 6)
    assert parsed.note == "slow week"
    assert parsed.blocker == "Product to fix the points bug"
    only = parse_checkin_text("KR-34 45 BLOCKED: legal review")
    assert (only.note, only.blocker) == ("", "legal review")
    plain = parse_checkin_text("KR-34 45 7/10 unblocked: nothing")  # a word ending in it
    assert (plain.note, plain.blocker) == ("unblocked: nothing", "")


def test_blocker_from_command_is_open_until_a_checkin_without_one(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    obj, (kr,) = objective(engine, dept, owner=BOB)
    driver.command(
        "/checkin",
        f"KR-{kr.number} 45 6/10 slow week blocked: Product to fix the points bug",
        user=BOB,
    )
    reply = driver.last_reply_text()
    assert "Blocked on: Product to fix the points bug" in reply
    with Session(engine) as s:
        row = s.exec(select(CheckIn)).one()
        assert (row.note, row.blocker) == ("slow week", "Product to fix the points bug")
        assert open_blockers(s, team_id=TEAM, key_result_ids=[kr.id])[kr.id].id == row.id
        assert blocked_key_result_ids(s, team_id=TEAM) == {kr.id}
        audit = s.exec(select(AuditLog).where(AuditLog.action == "checkin.create")).one()
        assert '"blocker": true' in audit.after and audit.actor_id == BOB

    slack.reset()
    driver.command("/okr", f"show O-{obj.number}", user=ALICE)
    shown = driver.last_reply_text()
    assert "Latest note:* slow week" in shown
    assert "Blocked on:* Product to fix the points bug" in shown

    slack.reset()
    driver.command("/checkin", f"KR-{kr.number} 47 7/10 points bug fixed", user=BOB)
    assert "Blocked on" not in driver.last_reply_text()
    with Session(engine) as s:
        assert open_blockers(s, team_id=TEAM, key_result_ids=[kr.id]) == {}
        assert blocked_key_result_ids(s, team_id=TEAM) == set()
    slack.reset()
    driver.command("/okr", f"show O-{obj.number}", user=ALICE)
    shown = driver.last_reply_text()
    assert "Latest note:* points bug fixed" in shown and "Blocked on" not in shown


def test_blocker_from_the_modal_and_too_long_is_a_field_error(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    driver.block_action("checkin_open", str(kr.number), user=ALICE)
    (opened,) = slack.wait_for("views.open")
    assert "blocker" in [b.get("block_id") for b in opened["view"]["blocks"]]
    values = state(
        kr=("option", str(kr.number)),
        value="41",
        confidence=("option", "5"),
        note="",
        blocker="x" * 2001,
    )
    body = json.loads(driver.view_submission("checkin_submit", values, user=ALICE).body)
    assert "2,001 characters" in body["errors"]["blocker"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(CheckIn)).one() == 0
    values.update(state(blocker="Need <@U0BOB0001> from Finance & Ops"))
    assert driver.view_submission("checkin_submit", values, user=ALICE).status == 200
    dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ALICE)[0]
    assert "Blocked on: Need &lt;@U0BOB0001&gt; from Finance &amp; Ops" in json.dumps(dm["blocks"])
    with Session(engine) as s:
        assert s.exec(select(CheckIn.blocker)).one() == "Need <@U0BOB0001> from Finance & Ops"
