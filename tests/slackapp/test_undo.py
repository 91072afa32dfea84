"""Undo: the author of a check-in, a behavior log or kudos takes it back within 24 hours, from
the Undo button on its confirmation or with `/checkin undo` / `/behavior undo`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, func, select

from storage.behaviors import undo_behavior_log
from storage.checkins import record_checkin, undo_checkin
from storage.db import session_scope
from storage.errors import DomainError
from storage.kudos import create_recognition, undo_recognition
from storage.leaderboards import leaderboard
from storage.models import (
    AuditLog,
    BehaviorLog,
    CheckIn,
    KeyResult,
    PraiseDraft,
    Recognition,
    RecognitionRecipient,
    RecognitionWeek,
    utcnow,
)
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective

TEAM_B = "T0TEAMB01"
KUDOS_CHANNEL = "C0KUDOS001"


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def reply_to(driver, slack, send) -> dict:
    """The one ephemeral answer (response_url post) to what `send` does."""
    slack.reset()
    send()
    return driver.replies(1)[0]


def button(message: dict, action_id: str) -> dict:
    found = [
        e
        for b in message.get("blocks") or []
        for e in (b.get("elements") or []) + ([b["accessory"]] if b.get("accessory") else [])
        if e.get("action_id") == action_id
    ]
    assert len(found) == 1, message
    return found[0]


def press(driver, slack, action_id: str, value: str, user: str) -> str:
    answer = reply_to(driver, slack, lambda: driver.block_action(action_id, value, user=user))
    return answer["text"]


def age(engine, model, row_id: int, hours: float) -> None:
    with session_scope(engine) as s:
        s.execute(
            update(model)
            .where(model.id == row_id)
            .values(created_at=utcnow() - timedelta(hours=hours))
        )


def kr_state(engine, kr_id):
    with Session(engine) as s:
        kr = s.get(KeyResult, kr_id)
        return kr.current_value, kr.last_confidence, kr.last_checkin_at is not None


# --- check-ins ----------------------------------------------------------------------------


def bobs_kr(engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    _, (kr,) = objective(engine, dept, owner=BOB)
    return kr


def checkin(driver, slack, text: str, user=BOB) -> dict:
    answer = reply_to(driver, slack, lambda: driver.command("/checkin", text, user=user))
    assert "Checked in" in answer["text"], answer
    return answer


def test_undo_button_restores_the_previous_checkin_and_a_second_press_says_already_undone(
    driver, slack, engine
):
    kr = bobs_kr(engine)
    checkin(driver, slack, f"KR-{kr.number} 40 6/10 first")
    latest = checkin(driver, slack, f"KR-{kr.number} 45 8/10 second blocked: legal review")
    undo = button(latest, "checkin_undo")
    assert kr_state(engine, kr.id) == (45, 8, True)
    text = press(driver, slack, "checkin_undo", undo["value"], BOB)
    assert "Undone" in text and "back to 40 pts of 50 pts, confidence 6/10" in text
    assert kr_state(engine, kr.id) == (40, 6, True)
    with Session(engine) as s:
        (left,) = s.exec(select(CheckIn)).all()
        assert (left.value, left.note, left.blocker) == (40, "first", "")
        audit = s.exec(select(AuditLog).where(AuditLog.action == "checkin.undo")).one()
        before = json.loads(audit.before)
        assert audit.actor_id == BOB and audit.entity_id == int(undo["value"])
        assert before["checkin"]["value"] == 45 and before["checkin"]["blocker"] == "legal review"
        assert before["key_result"]["current_value"] == 45
    text = press(driver, slack, "checkin_undo", undo["value"], BOB)
    assert "already undone" in text and "Nothing was changed" in text
    assert count(engine, CheckIn) == 1 and kr_state(engine, kr.id) == (40, 6, True)


def test_checkin_undo_command_takes_back_the_latest_then_the_one_before(driver, slack, engine):
    kr = bobs_kr(engine)
    checkin(driver, slack, f"KR-{kr.number} 40 6/10")
    checkin(driver, slack, f"KR-{kr.number} 45 7/10")
    text = reply_to(driver, slack, lambda: driver.command("/checkin", "undo", user=BOB))["text"]
    assert "Undone" in text and kr_state(engine, kr.id) == (40, 6, True)
    answer = reply_to(
        driver, slack, lambda: driver.command("/checkin", f"undo KR-{kr.number}", user=BOB)
    )
    assert "Undone" in answer["text"] and "with no check-in" in answer["text"]
    assert kr_state(engine, kr.id) == (None, None, False)  # no check-in left: no value
    assert count(engine, CheckIn) == 0
    # Nothing left to undo, and bad input: quoted, explained, with usage; nothing changes.
    for text, why in (
        ("undo", "You have no check-in to undo."),
        (f"undo KR-{kr.number}", f"You have no check-in on KR-{kr.number} to undo."),
        ("undo KR-999", "KR-999"),
        (f"undo KR-{kr.number} now", "at most one key result"),
    ):
        answer = reply_to(driver, slack, lambda t=text: driver.command("/checkin", t, user=BOB))
        shown = json.dumps(answer["blocks"], ensure_ascii=False)
        assert why in shown and f"/checkin {text}" in shown and "/checkin undo KR-34" in shown


def test_checkin_undo_after_24_hours_or_by_someone_else_changes_nothing(driver, slack, engine):
    kr = bobs_kr(engine)
    undo = button(checkin(driver, slack, f"KR-{kr.number} 45 7/10"), "checkin_undo")
    # Alice heads Bob's department, the admin runs the workspace: neither may undo his words.
    for someone in (ALICE, ADMIN, CAROL):
        text = press(driver, slack, "checkin_undo", undo["value"], someone)
        assert "Only the author of this check-in" in text and "Nothing was changed" in text
    age(engine, CheckIn, int(undo["value"]), hours=24.5)
    text = press(driver, slack, "checkin_undo", undo["value"], BOB)
    assert "more than 24 hours ago" in text
    answer = reply_to(driver, slack, lambda: driver.command("/checkin", "undo", user=BOB))
    assert "more than 24 hours ago" in json.dumps(answer["blocks"])
    assert count(engine, CheckIn) == 1 and kr_state(engine, kr.id) == (45, 7, True)
    assert count(engine, AuditLog.__table__) >= 1
    with Session(engine) as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "checkin.undo")).all() == []


def test_storage_undo_window_follows_the_clock_it_is_given(engine):
    kr = bobs_kr(engine)
    with session_scope(engine) as s:
        row, _ = record_checkin(
            s, team_id=TEAM, user_id=BOB, is_admin=False, ref=f"KR-{kr.number}",
            value=42, confidence=7,
        )  # fmt: skip
    with session_scope(engine) as s:
        with pytest.raises(DomainError, match="more than 24 hours"):
            undo_checkin(
                s, team_id=TEAM, user_id=BOB, checkin_id=row.id,
                now=row.created_at + timedelta(hours=24, seconds=1),
            )  # fmt: skip
    with session_scope(engine) as s:
        undo_checkin(
            s, team_id=TEAM, user_id=BOB, checkin_id=row.id,
            now=row.created_at + timedelta(hours=23, minutes=59),
        )  # fmt: skip
    assert count(engine, CheckIn) == 0


def test_forged_undo_values_touch_nothing(driver, slack, engine):
    kr = bobs_kr(engine)
    checkin(driver, slack, f"KR-{kr.number} 45 7/10")
    # Another workspace's check-in, by a user id that exists there too.
    dept_b = department(engine, team_id=TEAM_B, heads=(BOB,), channel="C0BETASUP1")
    _, (kr_b,) = objective(engine, dept_b, team_id=TEAM_B, owner=BOB)
    with session_scope(engine) as s:
        row_b, _ = record_checkin(
            s, team_id=TEAM_B, user_id=BOB, is_admin=False, ref=f"KR-{kr_b.number}",
            value=33, confidence=5,
        )  # fmt: skip
    for action_id in ("checkin_undo", "behavior_log_undo", "kudos_undo"):
        text = press(driver, slack, action_id, str(row_b.id + 1000), BOB)
        assert "exist (any more)" in text and "Nothing was changed" in text
        text = press(driver, slack, action_id, json.dumps({"team_id": TEAM_B, "id": 1}), BOB)
        assert "out of date" in text
    with session_scope(engine) as s:
        rec_b = Recognition(team_id=TEAM_B, giver_id=BOB, text="team B's kudos")
        s.add(rec_b)
        s.flush()
        rec_b_id = rec_b.id
    assert "does not exist" in press(driver, slack, "checkin_undo", str(row_b.id), BOB)
    assert "do not exist" in press(driver, slack, "kudos_undo", str(rec_b_id), BOB)
    with Session(engine) as s:
        assert s.get(CheckIn, row_b.id) is not None and s.get(Recognition, rec_b_id) is not None
        assert s.get(KeyResult, kr_b.id).current_value == 33
    assert count(engine, CheckIn) == 2


def test_undo_from_the_forms_confirmation(driver, slack, engine):
    kr = bobs_kr(engine)
    values = {
        f"kr{kr.number}_value": {"value": {"type": "plain_text_input", "value": "44"}},
        f"kr{kr.number}_confidence": {
            "value": {"type": "static_select", "selected_option": {"value": "7"}}
        },
    }
    slack.reset()
    driver.view_submission("checkin_all_submit", values, user=BOB)
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == BOB)[0].args
    undo = button(dm, "checkin_undo")
    assert kr_state(engine, kr.id) == (44, 7, True)
    assert "Undone" in press(driver, slack, "checkin_undo", undo["value"], BOB)
    assert kr_state(engine, kr.id) == (None, None, False)


# --- behavior logs ------------------------------------------------------------------------


def behavior_world(driver, slack, engine):
    department(engine, heads=(ALICE,), members=(BOB, CAROL))
    reply_to(
        driver,
        slack,
        lambda: driver.command(
            "/behavior", "add Support Call every detractor --target 5", user=ALICE
        ),
    )


def logged_this_week(driver, slack) -> str:
    answer = reply_to(driver, slack, lambda: driver.command("/behavior", "list Support", user=BOB))
    return json.dumps(answer["blocks"], ensure_ascii=False)


def test_behavior_log_undo_button_and_command(driver, slack, engine):
    behavior_world(driver, slack, engine)
    first = reply_to(
        driver, slack, lambda: driver.command("/behavior", "log B-1 2 called both", user=BOB)
    )
    second = reply_to(driver, slack, lambda: driver.command("/behavior", "log B-1 3", user=BOB))
    assert "5/5 this week" in second["text"]
    undo = button(second, "behavior_log_undo")
    for someone in (CAROL, ALICE, ADMIN):
        text = press(driver, slack, "behavior_log_undo", undo["value"], someone)
        assert "Only the author of this log of B-1" in text
    text = press(driver, slack, "behavior_log_undo", undo["value"], BOB)
    assert "Undone" in text and "B-1" in text and "(3×)" in text
    assert "2/5" in logged_this_week(driver, slack)
    assert "already undone" in press(driver, slack, "behavior_log_undo", undo["value"], BOB)
    with Session(engine) as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "behavior.log.undo")).one()
        assert json.loads(audit.before)["count"] == 3 and audit.actor_id == BOB
    # The command: the latest log (of B-1), then nothing left.
    first_id = int(button(first, "behavior_log_undo")["value"])
    age(engine, BehaviorLog, first_id, hours=25)
    answer = reply_to(driver, slack, lambda: driver.command("/behavior", "undo B-1", user=BOB))
    assert "more than 24 hours ago" in json.dumps(answer["blocks"])
    assert "/behavior undo B-1" in json.dumps(answer["blocks"])
    age(engine, BehaviorLog, first_id, hours=1)
    answer = reply_to(driver, slack, lambda: driver.command("/behavior", "undo", user=BOB))
    assert "Undone" in answer["text"] and count(engine, BehaviorLog) == 0
    assert "0/5" in logged_this_week(driver, slack)
    answer = reply_to(driver, slack, lambda: driver.command("/behavior", "undo", user=BOB))
    assert "You have no behavior log to undo." in json.dumps(answer["blocks"])
    answer = reply_to(driver, slack, lambda: driver.command("/behavior", "undo B-9", user=BOB))
    assert "B-9" in json.dumps(answer["blocks"])


def test_behavior_log_from_the_form_has_undo_and_storage_honours_now(driver, slack, engine):
    behavior_world(driver, slack, engine)
    values = {
        "behavior": {"value": {"type": "static_select", "selected_option": {"value": "1"}}},
        "count": {"value": {"type": "plain_text_input", "value": "1"}},
    }
    slack.reset()
    driver.view_submission("behavior_log_submit", values, user=BOB)
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == BOB)[0].args
    log_id = int(button(dm, "behavior_log_undo")["value"])
    with session_scope(engine) as s:
        created = s.get(BehaviorLog, log_id).created_at
        with pytest.raises(DomainError, match="more than 24 hours"):
            undo_behavior_log(
                s, team_id=TEAM, user_id=BOB, log_id=log_id, now=created + timedelta(days=2)
            )
    assert count(engine, BehaviorLog) == 1


# --- kudos --------------------------------------------------------------------------------


def kudos_world(engine):
    with session_scope(engine) as s:
        update_settings(
            s, team_id=TEAM, actor_id=ADMIN, values={"recognition_channel": KUDOS_CHANNEL}
        )
    department(engine, heads=(ALICE,), members=(BOB,))


def give_kudos(driver, slack) -> dict:
    answer = reply_to(
        driver,
        slack,
        lambda: driver.command("/kudos", "<@U0BOB0001|bob> the customer said thanks", user=ALICE),
    )
    assert "recorded" in answer["text"]
    return answer


def board(engine):
    with Session(engine) as s:
        now = utcnow()
        return leaderboard(
            s, team_id=TEAM, start=now - timedelta(days=30), end=now + timedelta(days=1)
        ).top


def test_kudos_undo_withdraws_the_recognition_and_deletes_the_post(driver, slack, engine):
    kudos_world(engine)
    answer = give_kudos(driver, slack)
    undo = button(answer, "kudos_undo")
    with Session(engine) as s:
        rec = s.get(Recognition, int(undo["value"]))
        post = (rec.post_channel_id, rec.post_ts)
    assert post[0] == KUDOS_CHANNEL and post in slack.messages
    assert board(engine) == [(BOB, 1)]
    for someone in (BOB, ADMIN):  # the recipient, an admin: not the giver
        text = press(driver, slack, "kudos_undo", undo["value"], someone)
        assert "Only the author of these kudos" in text
    assert count(engine, Recognition) == 1
    text = press(driver, slack, "kudos_undo", undo["value"], ALICE)
    assert "Undone" in text and f"post in <#{KUDOS_CHANNEL}> was deleted" in text
    (deleted,) = slack.calls_to("chat.delete")
    assert (deleted.args["channel"], deleted.args["ts"]) == post
    assert post not in slack.messages
    assert count(engine, Recognition) == 0 and count(engine, RecognitionRecipient) == 0
    assert count(engine, RecognitionWeek) == 0 and board(engine) == []
    with Session(engine) as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "recognition.undo")).one()
        before = json.loads(audit.before)
        assert before["recipients"] == [BOB] and before["text"] == "the customer said thanks"
    text = press(driver, slack, "kudos_undo", undo["value"], ALICE)
    assert "already undone" in text
    assert len(slack.calls_to("chat.delete")) == 0  # reset by press: no second delete


def test_kudos_undo_edits_the_post_when_slack_will_not_delete_it(driver, slack, engine):
    kudos_world(engine)
    give_kudos(driver, slack)  # a first one, which stays: tallies only lose the undone one
    undo = button(give_kudos(driver, slack), "kudos_undo")
    assert board(engine) == [(BOB, 2)]
    slack.api_error("chat.delete", "cant_delete_message")
    text = press(driver, slack, "kudos_undo", undo["value"], ALICE)
    assert "now says it was withdrawn" in text
    (edited,) = slack.calls_to("chat.update")
    assert "withdrawn" in edited.args["text"]
    assert count(engine, Recognition) == 1 and board(engine) == [(BOB, 1)]


def test_kudos_undo_after_24_hours_changes_nothing(driver, slack, engine):
    kudos_world(engine)
    undo = button(give_kudos(driver, slack), "kudos_undo")
    with session_scope(engine) as s:
        # Keep it in this week's tally row, just older than a day.
        s.execute(
            update(Recognition)
            .where(Recognition.id == int(undo["value"]))
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    text = press(driver, slack, "kudos_undo", undo["value"], ALICE)
    assert "more than 24 hours ago" in text
    assert count(engine, Recognition) == 1 and slack.calls_to("chat.delete") == []


def test_undoing_kudos_confirmed_from_the_praise_sheet_dismisses_the_row(engine):
    department(engine, heads=(ALICE,), members=(BOB,))
    with session_scope(engine) as s:
        item = create_recognition(
            s, team_id=TEAM, giver_id=ALICE, recipient_ids=[BOB], text="Bob fixed it",
            source="sheet",
        )  # fmt: skip
        s.add(
            PraiseDraft(
                team_id=TEAM, row_key="row-1", comment="Bob fixed it", staff="Bob",
                staff_user_id=BOB, status="confirmed", decided_by=ALICE,
                recognition_id=item.recognition.id,
            )
        )  # fmt: skip
    with session_scope(engine) as s:
        undone = undo_recognition(
            s, team_id=TEAM, user_id=ALICE, recognition_id=item.recognition.id
        )
        assert undone.recipient_ids == [BOB]
    with Session(engine) as s:
        draft = s.exec(select(PraiseDraft)).one()
        assert (draft.status, draft.recognition_id) == ("dismissed", None)
    assert count(engine, Recognition) == 0 and count(engine, RecognitionWeek) == 0
