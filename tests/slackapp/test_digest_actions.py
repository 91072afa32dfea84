"""A digest heads can act on: notes and blockers in the digest, Nudge, Comment… and Turn into
ask in the heads' copy, each press checked again (role, workspace, key result still there)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, func, select

from jobs.weekly_digest import plan_digest, remember_names
from slackapp.web_client import make_web_client
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.models import AuditLog, CheckIn, Commitment, KeyResult, KrComment, KrNudge
from storage.objectives import KeyResultInput
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective
from tests.support.slack_driver import state

OTHER_TEAM = "T0TEAMB01"
BLOCKER = "Product to fix the <!channel> points bug & more"


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def world(engine):
    """Support (head Alice, member Carol) owns KR-1 (Carol's, at risk and blocked) and KR-2;
    Product (head Bob) is the department the blocker names."""
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    product = department(engine, "Product", heads=(BOB,), channel="C0PRODUCT1")
    obj, krs = objective(
        engine,
        support,
        owner=CAROL,
        krs=[
            KeyResultInput(
                title="Call detractors", baseline=0, target=100, unit="%", owner_id=CAROL
            ),  # fmt: skip
            KeyResultInput(title="Spare", baseline=0, target=10, owner_id=CAROL),
        ],
    )
    with session_scope(engine) as s:
        record_checkin(s, team_id=TEAM, user_id=CAROL, is_admin=False, ref="KR-1", value=20,
                       confidence=5, note="slow week " + "n" * 200, blocker=BLOCKER)  # fmt: skip
    return {"support": support, "product": product, "objective": obj, "krs": krs}


def digest_for(engine, channel, client=None):
    if client is not None:
        remember_names(engine, client, team_id=TEAM, now=datetime.now(UTC))
    plan = plan_digest(engine, team_id=TEAM, now=datetime.now(UTC), period="2026-W49")
    return [m.blocks for m in plan.messages if m.channel == channel]


def buttons(blocks) -> list[tuple[str, str]]:
    found = []
    for b in blocks:
        for el in b.get("elements", []) if b["type"] == "actions" else [b.get("accessory")]:
            if el and el.get("type") == "button":
                found.append((el["action_id"], el.get("value")))
    return found


def test_heads_copy_has_the_buttons_and_the_channel_copy_only_reads(engine, settings, world):
    client = make_web_client(settings)
    (channel,) = digest_for(engine, "C0SUPPORT1", client)
    (heads,) = digest_for(engine, ALICE)
    assert buttons(channel) == []
    pressed = buttons(heads)
    checkin_id = 1
    assert ("digest_nudge", "KR-1") in pressed and ("digest_comment", "KR-1") in pressed
    assert ("digest_blocker_ask", f"KR-1|{checkin_id}") in pressed
    for blocks in (channel, heads):
        text = json.dumps(blocks, ensure_ascii=False)
        # The blocker is escaped (no @channel ping) and the latest note cut to 150 characters.
        assert "Product to fix the &lt;!channel&gt; points bug &amp; more" in text
        assert "<!channel>" not in text
        assert "slow week " + "n" * 139 + "…" in text and "n" * 141 not in text
        # Carol owns two key results and the objective: one mention, then her name.
        assert text.count(f"<@{CAROL}>") == 1, text
    assert "@Carol" in json.dumps(heads, ensure_ascii=False)


def press(driver, slack, action, value, user):
    slack.reset()
    driver.block_action(action, value, user=user)
    return driver.last_reply_text()


def test_nudge_dms_the_owner_once_a_day(driver, slack, engine, world):
    driver.block_action("digest_nudge", "KR-1", user=ALICE)
    assert "Nudged" in driver.last_reply_text()
    dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)
    assert "asks for an update on *KR-1*" in json.dumps(dm[0]["blocks"])
    again = press(driver, slack, "digest_nudge", "KR-1", ADMIN)
    assert "already nudged today at" in again and f"<@{ALICE}>" in again
    assert [c for c in slack.calls_to("chat.postMessage") if c["channel"] == CAROL] == []
    assert count(engine, KrNudge) == 1
    with Session(engine) as s:
        (log,) = s.exec(select(AuditLog).where(AuditLog.action == "key_result.nudge")).all()
        assert log.actor_id == ALICE


def test_nudge_failed_dm_records_nothing(driver, slack, engine, world):
    slack.api_error("chat.postMessage", "account_inactive", match={"channel": CAROL})
    assert "did not deliver" in press(driver, slack, "digest_nudge", "KR-1", ALICE)
    assert count(engine, KrNudge) == 0
    assert "Nudged" in press(driver, slack, "digest_nudge", "KR-1", ALICE)
    assert count(engine, KrNudge) == 1


def test_buttons_refused_without_role_forged_or_deleted(driver, slack, engine, world):
    # Another workspace with more key results: its KR-3 is no key result of this one.
    other = department(engine, "Support", team_id=OTHER_TEAM, heads=(ALICE,))
    objective(engine, other, team_id=OTHER_TEAM, krs=[
        KeyResultInput(title=f"Theirs {i}", baseline=0, target=5) for i in range(3)
    ])  # fmt: skip
    with session_scope(engine) as s:  # a key result deleted after the digest went out
        s.delete(s.exec(select(KeyResult).where(KeyResult.team_id == TEAM,
                                                KeyResult.number == 2)).one())  # fmt: skip
    for action, value, label in [
        ("digest_nudge", "KR-1", "Nudge KR-1"),
        ("digest_comment", "KR-1", "Comment KR-1"),
        ("digest_blocker_ask", "KR-1|1", "Turn into ask KR-1|1"),
    ]:
        reply = press(driver, slack, action, value, CAROL)  # a member, not a head
        assert "Only a head of Support or a workspace admin" in reply and label in reply
        for forged in ("KR-3", "KR-2"):  # another workspace's, then the deleted one
            value = forged + ("|1" if action == "digest_blocker_ask" else "")
            reply = press(driver, slack, action, value, ALICE)
            assert f"no key result `{forged}` in this workspace" in reply and value in reply
    reply = press(driver, slack, "digest_blocker_ask", "KR-1|999", ALICE)
    assert "has no such blocker" in reply
    assert count(engine, KrNudge) == 0 and count(engine, KrComment) == 0
    assert slack.calls_to("views.open") == []


def test_comment_is_kept_dmed_and_shown(driver, slack, engine, world):
    driver.block_action("digest_comment", "KR-1", user=ALICE)
    (opened,) = slack.wait_for("views.open")
    assert opened["view"]["private_metadata"] == "KR-1"
    too_long = state(comment="x" * 3001)
    body = json.loads(driver.view_submission("digest_comment_submit", too_long, user=ALICE,
                                              private_metadata="KR-1").body)  # fmt: skip
    assert "3,001 characters" in body["errors"]["comment"]
    assert count(engine, KrComment) == 0
    # A member who forges the submission is refused the same way.
    body = json.loads(driver.view_submission("digest_comment_submit", state(comment="hi"),
                                             user=CAROL, private_metadata="KR-1").body)  # fmt: skip
    assert "Only a head of Support" in body["errors"]["comment"]
    resp = driver.view_submission("digest_comment_submit", state(comment="Call <@U0BOB0001> now"),
                                  user=ALICE, private_metadata="KR-1")  # fmt: skip
    assert resp.status == 200 and not resp.body
    dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)[0]
    assert "Call &lt;@U0BOB0001&gt; now" in json.dumps(dm["blocks"])
    with Session(engine) as s:
        (row,) = s.exec(select(KrComment)).all()
        assert (row.author_id, row.text) == (ALICE, "Call <@U0BOB0001> now")
        assert s.exec(select(AuditLog).where(AuditLog.action == "key_result.comment")).one()
    slack.reset()
    driver.command("/okr", f"show O-{world['objective'].number}", user=BOB)
    assert "Call &lt;@U0BOB0001&gt; now" in driver.last_reply_text()


def test_turn_into_ask_prefills_the_form_and_creates_the_commitment(driver, slack, engine, world):
    with Session(engine) as s:
        checkin_id = s.exec(select(CheckIn.id)).one()
    driver.block_action("digest_blocker_ask", f"KR-1|{checkin_id}", user=ALICE)
    (opened,) = slack.wait_for("views.open")
    blocks = {b.get("block_id"): b for b in opened["view"]["blocks"]}
    assert blocks["department"]["element"]["initial_option"]["value"] == str(world["product"].id)
    assert blocks["what"]["element"]["initial_value"] == BLOCKER
    assert blocks["kr"]["element"]["initial_value"] == "KR-1"
    due = blocks["due_date"]["element"]["initial_date"]
    values = state(department=("option", str(world["product"].id)), what=BLOCKER,
                   due_date=("date", due), kr="KR-1")  # fmt: skip
    # A date in the past is a field error, and nothing is written.
    past = {**values, **state(due_date=("date", "2020-01-01"))}
    errors = json.loads(driver.view_submission("commitment_ask_submit", past, user=ALICE).body)
    assert "in the past" in errors["errors"]["due_date"]
    assert count(engine, Commitment) == 0
    assert driver.view_submission("commitment_ask_submit", values, user=ALICE).status == 200
    with Session(engine) as s:
        row = s.exec(select(Commitment)).one()
        assert (row.what, row.department_id, row.asker_id) == (BLOCKER, world["product"].id, ALICE)
        assert row.key_result_id == world["krs"][0].id
    heads_dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == BOB)[0]
    assert "commitment_accept" in json.dumps(heads_dm["blocks"])
    told = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ALICE)[0]
    assert "C-1" in json.dumps(told["blocks"])


def test_guess_skips_own_department_and_prefers_the_longest_name(engine, world):
    from storage.checkins import guess_department

    department(engine, "Product Marketing", heads=(BOB,), channel=None)
    with Session(engine) as s:
        guess = guess_department(s, team_id=TEAM, text="waiting on PRODUCT MARKETING copy",
                                 exclude_id=world["support"].id)  # fmt: skip
        assert guess.name == "Product Marketing"
        assert guess_department(s, team_id=TEAM, text="support needs it",
                                exclude_id=world["support"].id) is None  # fmt: skip
        assert guess_department(s, team_id=TEAM, text="the productive team") is None


def test_okr_ask_alone_opens_the_form(driver, slack, engine, world):
    driver.command("/okr", "ask", user=CAROL)
    (opened,) = slack.wait_for("views.open")
    assert opened["view"]["callback_id"] == "commitment_ask_submit"
    names = [o["text"]["text"] for o in opened["view"]["blocks"][0]["element"]["options"]]
    assert names == ["Product", "Support"]


def test_leadership_digest_lists_open_blockers(engine, world):
    from storage.teams import update_settings

    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": "C0LEAD001"})
    (leadership, _chart) = digest_for(engine, "C0LEAD001")
    text = json.dumps(leadership, ensure_ascii=False)
    assert "Blocked" in text and "Product to fix the &lt;!channel&gt; points bug" in text
    assert "Support" in text and buttons(leadership) == []
