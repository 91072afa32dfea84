"""`/checkin` alone (and the main Check in buttons): one form for all of a person's key results,
a row each, saved all or nothing, in pages past Slack's 100-block limit."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select

from slackapp.blocks.checkin_form import ROWS_PER_PAGE
from storage.models import AuditLog, CheckIn, KeyResult
from storage.objectives import KeyResultInput
from tests.conftest import ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state

FORM = "checkin_all_submit"


def checkins(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(CheckIn)).one()


def key_result(engine, kr_id) -> KeyResult:
    with Session(engine) as s:
        return s.get(KeyResult, kr_id)


def bobs_key_results(engine):
    """Bob owns a plain key result, a KPI-bound one and a percentage; Alice owns one too."""
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    _, krs = objective(
        engine,
        dept,
        owner=BOB,
        krs=[
            KeyResultInput(title="Calls answered", baseline=100, target=2000, unit="calls"),
            KeyResultInput(title="NPS", baseline=30, target=50, unit="pts", kpi_name="nps"),
            KeyResultInput(title="First-contact resolution", baseline=60, target=80, unit="%"),
        ],
    )
    _, (alices,) = objective(engine, dept, owner=ALICE, title="Alice's own")
    return krs, alices


def open_form(driver, slack, user=BOB, **action):
    slack.reset()
    if action:
        driver.block_action("checkin_open", user=user, **action)
    else:
        driver.command("/checkin", "", user=user)
    return slack.wait_for("views.open")[0]["view"]


def row(number, value=None, confidence=None, note=None, blocker=None) -> dict:
    fields = {}
    if value is not None:
        fields[f"kr{number}_value"] = value
    fields[f"kr{number}_confidence"] = ("option", confidence)
    fields[f"kr{number}_note"] = note
    fields[f"kr{number}_blocker"] = blocker
    return state(**fields)


def test_checkin_alone_lists_every_key_result_with_its_value_target_and_unit(driver, slack, engine):
    (calls, nps, fcr), alices = bobs_key_results(engine)
    view = open_form(driver, slack)
    assert view["callback_id"] == FORM and view["submit"]["text"] == "Save"
    ids = [b.get("block_id") for b in view["blocks"]]
    text = json.dumps(view["blocks"], ensure_ascii=False)
    for kr in (calls, nps, fcr):
        assert f"kr{kr.number}_confidence" in ids and f"kr{kr.number}_note" in ids
        assert f"kr{kr.number}_blocker" in ids and f"*KR-{kr.number}*" in text
    assert f"kr{alices.number}_confidence" not in ids  # only Bob's own
    # The KPI-bound key result takes no value; the others show now/target/unit.
    assert f"kr{calls.number}_value" in ids and f"kr{nps.number}_value" not in ids
    assert "Now — of 2,000 calls" in text
    assert "From the KPI `nps`" in text and "of 80%" in text
    assert len(view["blocks"]) <= 100
    # App Home's and the reminder's main Check in button (no key result named) open the same.
    home = open_form(driver, slack, view={"type": "home"})
    assert home["callback_id"] == FORM and home["blocks"] == view["blocks"]
    # A key result's own button still opens the modal for that one.
    single = open_form(driver, slack, value=str(nps.number))
    assert single["callback_id"] == "checkin_submit"


def test_filled_rows_are_recorded_and_empty_rows_record_nothing(driver, slack, engine):
    (calls, nps, fcr), _ = bobs_key_results(engine)
    open_form(driver, slack)
    values = {
        **row(calls.number, value="1,234.5", confidence="7", note="good week"),
        **row(nps.number, confidence="6", blocker="Product to fix the survey link"),
        **row(fcr.number, value=""),  # left empty
    }
    slack.reset()
    resp = driver.view_submission(FORM, values, user=BOB)
    assert resp.status == 200 and not resp.body  # the form closes
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == BOB)[0].args
    assert f"KR-{calls.number}" in dm["text"] and "1,234.5 calls of 2,000 calls" in dm["text"]
    undo_buttons = [b["accessory"] for b in dm["blocks"] if b.get("accessory", {}).get("action_id")]
    assert [b["action_id"] for b in undo_buttons] == ["checkin_undo", "checkin_undo"]
    with Session(engine) as s:
        rows = s.exec(select(CheckIn).order_by(CheckIn.id)).all()
        assert [(r.key_result_id, r.value, r.confidence) for r in rows] == [
            (calls.id, 1234.5, 7),
            (nps.id, None, 6),
        ]
        assert rows[1].blocker == "Product to fix the survey link"
        assert {b["value"] for b in undo_buttons} == {str(r.id) for r in rows}
        audits = s.exec(select(AuditLog).where(AuditLog.action == "checkin.create")).all()
        assert {a.actor_id for a in audits} == {BOB} and len(audits) == 2
    assert key_result(engine, calls.id).current_value == 1234.5
    assert key_result(engine, fcr.id).current_value is None
    # A percentage is taken as typed.
    driver.view_submission(FORM, row(fcr.number, value="72%", confidence="8"), user=BOB)
    assert key_result(engine, fcr.id).current_value == 72


def test_a_bad_value_on_one_row_is_an_error_there_and_nothing_is_written(driver, slack, engine):
    (calls, nps, fcr), _ = bobs_key_results(engine)
    open_form(driver, slack)
    values = {
        **row(calls.number, value="45", confidence="7"),
        **row(fcr.number, value="4 5x", confidence="5"),
    }
    body = json.loads(driver.view_submission(FORM, values, user=BOB).body)
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [f"kr{fcr.number}_value"]
    assert "4 5x" in body["errors"][f"kr{fcr.number}_value"]
    # A value on the KPI-bound row, a row without a value nor a confidence yet: all named.
    values = {
        **row(calls.number, value="45", confidence="7"),
        **state(**{f"kr{nps.number}_value": "40"}),
        **row(nps.number, confidence="6"),
        **row(fcr.number, note="only a note"),
    }
    body = json.loads(driver.view_submission(FORM, values, user=BOB).body)
    assert "takes its value from the KPI" in body["errors"][f"kr{nps.number}_value"]
    assert "needs a value" in body["errors"][f"kr{fcr.number}_value"]
    assert f"kr{calls.number}_value" not in body["errors"]
    assert checkins(engine) == 0
    assert key_result(engine, calls.id).current_value is None
    assert key_result(engine, calls.id).last_confidence is None


def test_a_form_with_nothing_filled_says_so(driver, slack, engine):
    (calls, nps, fcr), _ = bobs_key_results(engine)
    open_form(driver, slack)
    values = {**row(calls.number, value=""), **row(nps.number), **row(fcr.number, value="")}
    body = json.loads(driver.view_submission(FORM, values, user=BOB).body)
    assert "Nothing to save" in body["errors"][f"kr{calls.number}_value"]
    assert checkins(engine) == 0


def test_someone_elses_key_result_forged_into_the_form_is_refused(driver, slack, engine):
    (calls, _, _), alices = bobs_key_results(engine)
    values = {
        **row(calls.number, value="45", confidence="7"),
        **row(alices.number, value="49", confidence="9"),
    }
    body = json.loads(driver.view_submission(FORM, values, user=BOB).body)
    assert f"owner of KR-{alices.number}" in body["errors"][f"kr{alices.number}_confidence"]
    assert checkins(engine) == 0


def test_no_key_results_gets_a_helpful_message_not_an_empty_form(driver, slack, engine):
    bobs_key_results(engine)
    view = open_form(driver, slack, user=CAROL)
    assert view.get("callback_id") != FORM and "submit" not in view
    assert "don't own any active key results" in json.dumps(view["blocks"])


def test_many_key_results_are_all_reachable_page_by_page(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    total = ROWS_PER_PAGE + 5
    krs = []
    for start in range(0, total, 5):  # objectives of up to 5 key results
        _, made = objective(
            engine,
            dept,
            owner=BOB,
            title=f"Objective {start}",
            krs=[
                KeyResultInput(title=f"Measure {i}", baseline=0, target=100)
                for i in range(start, min(start + 5, total))
            ],
        )
        krs += made
    first = open_form(driver, slack)
    assert len(first["blocks"]) <= 100 and first["submit"]["text"] == "Save & next"
    on_first = {
        b["block_id"] for b in first["blocks"] if b.get("block_id", "").endswith("_confidence")
    }
    assert len(on_first) == ROWS_PER_PAGE
    assert "Page 1 of 2" in json.dumps(first["blocks"])
    # Save & next: the first page's filled row is saved, and page 2 replaces it.
    values = row(krs[0].number, value="10", confidence="6")
    body = json.loads(
        driver.view_submission(
            FORM, values, user=BOB, private_metadata=first["private_metadata"]
        ).body
    )
    assert body["response_action"] == "update"
    second = body["view"]
    assert second["submit"]["text"] == "Save" and "Saved 1 check-in" in json.dumps(second)
    on_second = {
        b["block_id"] for b in second["blocks"] if b.get("block_id", "").endswith("_confidence")
    }
    assert on_first | on_second == {f"kr{kr.number}_confidence" for kr in krs}
    assert checkins(engine) == 1
    last = krs[-1]
    resp = driver.view_submission(
        FORM,
        row(last.number, value="55", confidence="8"),
        user=BOB,
        private_metadata=second["private_metadata"],
    )
    assert resp.status == 200 and not resp.body
    assert checkins(engine) == 2 and key_result(engine, last.id).current_value == 55
    # Nothing filled on a later page just closes the form (earlier pages are saved).
    resp = driver.view_submission(FORM, {}, user=BOB, private_metadata=second["private_metadata"])
    assert resp.status == 200 and not resp.body
