"""Where `/checkin`'s answer goes: in the acknowledgement when the write was quick (Slack shows it
as the reply, no second request), through the response URL when the write outlasted the
acknowledgement's deadline (slackapp.command_answer)."""

from __future__ import annotations

import json
import time

from sqlmodel import Session, select

from slackapp.listeners import checkin
from storage.models import AuditLog, CheckIn, KeyResult
from tests.conftest import ALICE
from tests.support.factories import department, objective
from tests.support.slow import slow_down


def posted_replies(slack) -> list[dict]:
    """What the app itself posted to response URLs (not the acknowledgements' replies)."""
    return [c.args for c in slack.calls_to("response_url") if c.args.get("_via") != "ack"]


def test_a_quick_check_in_is_answered_in_its_acknowledgement(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    resp = driver.command("/checkin", f"KR-{kr.number} 40 7/10 good week", user=ALICE)
    assert resp.status == 200
    answer = json.loads(resp.body)
    assert answer["response_type"] == "ephemeral"
    assert f"Checked in on *KR-{kr.number}*" in answer["text"]
    assert "Undo" in json.dumps(answer["blocks"])  # the confirmation keeps its Undo button
    assert posted_replies(slack) == []  # no second request to Slack
    with Session(engine) as s:
        assert s.get(KeyResult, kr.id).current_value == 40
        row = s.exec(select(CheckIn)).one()
        assert (row.value, row.confidence, row.note) == (40, 7, "good week")
        audit = s.exec(select(AuditLog).where(AuditLog.action == "checkin.create")).one()
        assert json.loads(audit.after)["checkin_id"] == row.id


def test_bad_input_is_answered_in_the_acknowledgement_and_writes_nothing(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    resp = driver.command("/checkin", f"KR-{kr.number} lots 7/10", user=ALICE)
    answer = json.loads(resp.body)
    assert "`lots` is not a number" in answer["text"]
    assert f"/checkin KR-{kr.number} lots 7/10" in json.dumps(answer["blocks"])  # quoted
    assert posted_replies(slack) == []
    with Session(engine) as s:
        assert s.exec(select(CheckIn)).all() == []
        assert s.get(KeyResult, kr.id).current_value is None


def test_a_slow_check_in_is_acknowledged_empty_and_answered_through_the_response_url(
    app, driver, slack, engine, monkeypatch
):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    app.deps.ack_deadlines.budget = 0.2  # Slack's patience, shortened for the test
    slow_down(monkeypatch, checkin, "record_checkin", 0.8)  # a database that answers late
    started = time.monotonic()
    resp = driver.command("/checkin", f"KR-{kr.number} 41 6/10", user=ALICE)
    assert time.monotonic() - started < 0.6  # acknowledged by the deadline, not by the write
    assert resp.status == 200 and not resp.body
    (reply,) = [c.args for c in slack.wait_for("response_url", 1)]
    assert reply.get("_via") is None  # a real post to the response URL
    assert "Checked in" in reply["text"] and reply["response_type"] == "ephemeral"
    with Session(engine) as s:
        assert s.get(KeyResult, kr.id).current_value == 41
