"""Commitments C-n through signed requests: /okr ask, Accept / Decline in the heads' DM, the
decline modal, /okr commit, /okr done, /okr asks, and the asker's DMs at every change."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from storage.models import AuditLog, Commitment
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective

DAVE = "U0DAVE001"
TEAM_B = "T0TEAMB02"


def due(days=7) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def commitments(engine) -> list[Commitment]:
    with Session(engine) as s:
        return list(s.exec(select(Commitment).order_by(Commitment.number)).all())


def dms_to(slack, user) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == user]


@pytest.fixture
def world(engine, slack):
    slack.add_user(DAVE, name="Dave")
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    product = department(engine, "Product Team", heads=(BOB, DAVE), channel="C0PRODUCT1")
    return dict(support=support, product=product)


def ask(driver, slack, text, user=CAROL) -> str:
    slack.reset()
    driver.command("/okr", f"ask {text}", user=user)
    return driver.last_reply_text()


def test_ask_dms_heads_with_buttons_and_accept_notifies_asker(driver, slack, engine, world):
    _, (kr,) = objective(engine, world["support"])
    text = ask(driver, slack, f"product team Fix the CSV export by {due()} for KR-{kr.number}")
    assert "C-1" in text and "Product Team" in text
    (row,) = commitments(engine)
    assert (row.what, row.status, row.asker_id, row.key_result_id) == (
        "Fix the CSV export", "open", CAROL, kr.id,
    )  # fmt: skip
    assert row.department_id == world["product"].id
    assert row.asker_department_id == world["support"].id
    heads_dm = slack.wait_for("chat.postMessage", 2)
    assert {c["channel"] for c in heads_dm} == {BOB, DAVE}
    actions = [b for b in heads_dm[0]["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == ["commitment_accept", "commitment_decline"]
    assert actions[0]["value"] == "C-1"
    slack.reset()
    driver.block_action("commitment_accept", "C-1", user=BOB)
    notice = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)[0]
    assert "accepted" in notice["text"] and f"<@{BOB}>" in notice["text"]
    replaced = driver.replies()[-1]
    assert replaced["replace_original"] and "You accepted it" in json.dumps(replaced["blocks"])
    (row,) = commitments(engine)
    assert (row.status, row.owner_id) == ("accepted", BOB)
    with Session(engine) as s:
        assert [a.action for a in s.exec(select(AuditLog).where(AuditLog.entity == "commitment")
                                        .order_by(AuditLog.id))] == ["commitment.ask", "commitment.accept"]  # fmt: skip


def test_accept_twice_and_by_two_heads_at_once_one_owner_one_dm(driver, slack, engine, world):
    ask(driver, slack, f"Product Team Fix the export by {due()}")
    slack.reset()
    threads = [
        threading.Thread(
            target=driver.block_action, args=("commitment_accept", "C-1"), kwargs={"user": who}
        )  # fmt: skip
        for who in (BOB, DAVE, BOB)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)
    driver.replies(3)  # every click got an answer: one "you accepted", two "already accepted"
    time.sleep(0.3)
    assert len(dms_to(slack, CAROL)) == 1
    (row,) = commitments(engine)
    assert row.status == "accepted" and row.owner_id in (BOB, DAVE)
    with Session(engine) as s:
        n = s.exec(select(func.count()).select_from(AuditLog)
                   .where(AuditLog.action == "commitment.accept")).one()  # fmt: skip
    assert n == 1
    answers = [r["text"] for r in driver.replies(3)]
    assert sum("already accepted" in a for a in answers) == 2


def test_decline_needs_a_reason_in_the_modal(driver, slack, engine, world):
    ask(driver, slack, f"Product Team Fix the export by {due()}")
    slack.reset()
    driver.block_action("commitment_decline", "C-1", user=DAVE)
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "commitment_decline_submit" and view["private_metadata"] == "C-1"
    empty = {"reason": {"value": {"type": "plain_text_input", "value": "   "}}}
    body = json.loads(driver.view_submission("commitment_decline_submit", empty, user=DAVE,
                                             private_metadata="C-1").body)  # fmt: skip
    assert "Say why" in body["errors"]["reason"]
    assert commitments(engine)[0].status == "open"
    assert dms_to(slack, CAROL) == []
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "No capacity in Q4"}}}
    resp = driver.view_submission("commitment_decline_submit", reason, user=DAVE,
                                  private_metadata="C-1")  # fmt: skip
    assert resp.status == 200 and not resp.body
    notice = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)[0]
    assert "declined" in notice["text"] and "No capacity in Q4" in notice["text"]
    (row,) = commitments(engine)
    assert (row.status, row.decline_reason, row.decided_by) == (
        "declined",
        "No capacity in Q4",
        DAVE,
    )
    # Accept after the decline: nothing changes, no DM.
    slack.reset()
    driver.block_action("commitment_accept", "C-1", user=BOB)
    assert "already declined" in driver.last_reply_text()
    assert dms_to(slack, CAROL) == []


def test_forged_actions_cannot_touch_other_teams_or_departments(driver, slack, engine, world):
    other = department(engine, "Ops", team_id=TEAM_B, heads=(BOB,), channel="C0BOPS0001")
    from storage.commitments import ask as store_ask
    from storage.db import session_scope

    with session_scope(engine) as s:  # team B's C-1 and C-2
        for _ in range(2):
            store_ask(s, team_id=TEAM_B, actor_id=ADMIN, is_admin=True, department=other,
                      what="B secret", due_date=date.today(), today=date.today())  # fmt: skip
    ask(driver, slack, f"Product Team Fix the export by {due()}")  # team A's C-1
    slack.reset()
    driver.block_action("commitment_accept", "C-2", user=BOB)  # only team B has a C-2
    assert "no commitment `C-2`" in driver.last_reply_text()
    slack.reset()
    driver.block_action("commitment_accept", "C-1", user=ALICE)  # heads Support, not Product
    assert "head of Product Team" in driver.last_reply_text()
    body = driver.view_submission(
        "commitment_decline_submit",
        {"reason": {"value": {"type": "plain_text_input", "value": "nope"}}},
        user=BOB, private_metadata="C-2",
    ).body  # fmt: skip
    assert "no commitment" in json.loads(body)["errors"]["reason"]
    with Session(engine) as s:
        rows = s.exec(select(Commitment).order_by(Commitment.id)).all()
        assert [(r.team_id, r.status) for r in rows] == [
            (TEAM_B, "open"), (TEAM_B, "open"), ("T0TEAMA01", "open"),
        ]  # fmt: skip


@pytest.mark.parametrize(
    "text, user, expect",
    [
        ("Sales Fix it by {due}", CAROL, "no department named `Sales`"),
        ("Support Fix it by {due}", CAROL, "You are in Support"),
        ("Product Team Fix it by {past}", CAROL, "is in the past"),
        ("Product Team Fix it by 31/02/2026", CAROL, "`31/02/2026` is not a date"),
        ("Product Team Fix it by 2026-02-31", CAROL, "`2026-02-31` is not a date"),
        ("Product Team Fix it", CAROL, "Say which department"),
        ("Product Team by {due}", CAROL, "Say what you need"),
        ("Product Team Fix it by {due} for KR-999", CAROL, "no key result `KR-999`"),
        ("Product Team Fix it by {due}", "U0NOBODY1", "member of a department"),
    ],
)
def test_bad_ask_quotes_input_and_writes_nothing(driver, slack, engine, world, text, user, expect):
    if user == "U0NOBODY1":
        slack.add_user(user, name="Nobody")
    text = text.format(due=due(), past=due(-1))
    reply = ask(driver, slack, text, user=user)
    assert expect in reply, reply
    assert f"/okr ask {text}" in reply and "Usage" in reply and "by <YYYY-MM-DD>" in reply
    assert commitments(engine) == []
    assert slack.calls_to("chat.postMessage") == []


def test_commit_owner_done_and_asks(driver, slack, engine, world):
    department(engine, "Ops", heads=(ADMIN,), members=(), channel="C0OPS00001")
    from storage.db import session_scope
    from storage.departments import add_members

    with session_scope(engine) as s:
        add_members(s, team_id="T0TEAMA01", actor_id=ADMIN, is_admin=True,
                    department_name="Product Team", user_ids=["U0ERIN001"])  # fmt: skip
    slack.add_user("U0ERIN001", name="Erin")
    ask(driver, slack, f"Product Team Fix the export by {due(3)}")
    ask(driver, slack, f"Product Team Write the runbook by {due(1)}")
    driver.block_action("commitment_accept", "C-1", user=BOB)
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)
    # Reassign: a member of Support may not; Bob (head) names Erin.
    slack.reset()
    driver.command("/okr", "commit C-1 owner <@U0ERIN001|erin>", user=CAROL)
    assert "head of Product Team" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "commit C-1 owner <@U0ERIN001|erin>", user=BOB)
    assert "now owned by <@U0ERIN001>" in driver.last_reply_text()
    assert "now owned by" in slack.wait_for("chat.postMessage",
                                            where=lambda c: c["channel"] == CAROL)[0]["text"]  # fmt: skip
    slack.reset()
    driver.command("/okr", "commit C-1 owner <@U0ALICE01|alice>", user=BOB)  # not in Product
    assert "must be a member of Product Team" in driver.last_reply_text()
    # Done: not by someone else's (Alice heads Support, owns nothing here).
    slack.reset()
    driver.command("/okr", "done C-1 shipped", user=ALICE)
    assert "Only the owner of C-1 or a head of Product Team" in driver.last_reply_text()
    assert commitments(engine)[0].status == "accepted"
    # /okr asks: oldest due first.
    slack.reset()
    driver.command("/okr", "asks", user=CAROL)
    listing = driver.last_reply_text()
    assert listing.index("C-2") < listing.index("C-1")
    slack.reset()
    driver.command("/okr", "asks product team", user=ALICE)
    assert "C-1" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "asks Nowhere", user=ALICE)
    assert "no department named `Nowhere`" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "done C-1 shipped v2", user="U0ERIN001")
    assert "Closed *C-1*" in driver.last_reply_text()
    notice = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)[0]
    assert "done" in notice["text"] and "shipped v2" in notice["text"]
    slack.reset()
    driver.command("/okr", "done C-1", user="U0ERIN001")
    assert "already done" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "asks all", user=CAROL)
    text = driver.last_reply_text()
    assert "C-2" in text and "C-1" not in text


@contextlib.contextmanager
def racing_reads():
    """While active, the first two requests to load a commitment each wait for the other to
    have loaded it too, so both decide from the same state: the race the conditional update
    must settle, every time rather than by chance."""
    both_read = threading.Barrier(2, timeout=5)

    def wait_for_the_other(_target, _context):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()

    event.listen(Commitment, "load", wait_for_the_other)
    try:
        yield
    finally:
        event.remove(Commitment, "load", wait_for_the_other)


def run_at_once(*calls):
    threads = [threading.Thread(target=fn, args=args, kwargs=kw) for fn, args, kw in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_two_dones_at_once_close_once_and_dm_the_asker_once(driver, slack, engine, world):
    ask(driver, slack, f"Product Team Fix the export by {due()}")
    driver.block_action("commitment_accept", "C-1", user=BOB)
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)
    slack.reset()
    with racing_reads():  # the listeners run after the ack: wait for their answers inside
        run_at_once((driver.command, ("/okr", "done C-1 shipped by Bob"), {"user": BOB}),
                    (driver.command, ("/okr", "done C-1 shipped by Dave"), {"user": DAVE}))  # fmt: skip
        answers = [r["text"] for r in driver.replies(2)]
    assert sum("Closed *C-1*" in a for a in answers) == 1, answers
    assert sum("C-1 is already done" in a for a in answers) == 1, answers
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)
    time.sleep(0.3)
    (notice,) = dms_to(slack, CAROL)
    (row,) = commitments(engine)
    assert row.status == "done" and row.done_by in (BOB, DAVE)
    assert row.done_note in notice["text"]  # the winner's note, told once
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "commitment.done")).one() == 1  # fmt: skip
    # A later /okr done answers the same way, and tells nobody.
    slack.reset()
    driver.command("/okr", "done C-1", user=BOB)
    assert "C-1 is already done" in driver.last_reply_text()
    time.sleep(0.3)
    assert dms_to(slack, CAROL) == []


def test_reassign_racing_a_decline_changes_nothing_and_dms_nobody(driver, slack, engine, world):
    ask(driver, slack, f"Product Team Fix the export by {due()}")
    slack.reset()
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "No capacity in Q4"}}}
    with racing_reads():
        run_at_once(
            (driver.view_submission, ("commitment_decline_submit", reason),
             {"user": DAVE, "private_metadata": "C-1"}),
            (driver.command, ("/okr", "commit C-1 owner <@U0BOB0001|bob>"), {"user": BOB}),
        )  # fmt: skip
        reassign_answer = driver.last_reply_text()
    (row,) = commitments(engine)
    time.sleep(0.3)
    asker_dms = dms_to(slack, CAROL)
    assert len(asker_dms) == 1
    if row.status == "declined":  # the decline won: the reassign answered and changed nothing
        assert row.owner_id is None and "C-1 is already declined" in reassign_answer
        assert "declined" in asker_dms[0]["text"]
    else:  # the reassign won: the decline was refused in the modal
        assert (row.status, row.owner_id, row.decline_reason) == ("accepted", BOB, None)
        assert "now owned by" in reassign_answer and "now owned by" in asker_dms[0]["text"]


def test_due_dates_are_days_of_the_workspace_timezone(driver, slack, engine, world):
    """A workspace whose date differs from UTC's right now: "by today" means its today."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from storage.db import session_scope
    from storage.teams import update_settings

    # UTC+14 is a day ahead from 10:00 UTC on; UTC−11 is a day behind until 11:00 UTC.
    zone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"
    with session_scope(engine) as s:
        update_settings(s, team_id="T0TEAMA01", actor_id=ADMIN, values={"timezone": zone})
    local_today = datetime.now(ZoneInfo(zone)).date()
    assert local_today != datetime.now(UTC).date()
    yesterday = (local_today - timedelta(days=1)).isoformat()
    reply = ask(driver, slack, f"Product Team Fix it by {yesterday}")
    assert "is in the past" in reply, reply
    assert commitments(engine) == []
    reply = ask(driver, slack, f"Product Team Fix it by {local_today.isoformat()}")
    assert "C-1" in reply, reply
    assert [c.due_date for c in commitments(engine)] == [local_today]
