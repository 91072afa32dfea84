"""Check-in reminders: each owner's timezone, once a week, Check in / Snooze buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from jobs.checkin_reminders import send_due_reminders
from jobs.posting import Poster
from slackapp.blocks.reminders import ReminderAction
from slackapp.web_client import make_web_client
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.models import AuditLog, JobRun
from storage.objectives import KeyResultInput
from tests.conftest import ALICE, BOB, CAROL
from tests.support import factories

TEAM = factories.TEAM
# Monday 30 November 2026; the default reminder slot is Monday 10:00 local.
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def remind(engine, settings, at):
    client = make_web_client(settings)
    return send_due_reminders(
        engine,
        client,
        team_id=TEAM,
        now=at,
        poster=Poster(client, engine=engine, per_channel_interval=0.05),
    )


def seed(engine):
    dept = factories.department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL))
    obj, krs = factories.objective(
        engine,
        dept,
        krs=[
            KeyResultInput(title="Alice's KR", baseline=0, target=10, owner_id=ALICE),
            KeyResultInput(title="Bob's KR", baseline=0, target=10, owner_id=BOB),
            KeyResultInput(
                title="Carol's NPS", baseline=30, target=50, owner_id=CAROL, kpi_name="nps"
            ),
        ],
        quarter="2026-Q4",
    )
    return {kr.owner_id: kr for kr in krs}


def dms(slack, user):
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == user]


def test_each_owner_is_reminded_at_ten_in_their_own_timezone_once(engine, settings, slack):
    seed(engine)
    # 09:30 UTC: 10:30 in Paris (Bob), 18:30 in Tokyo (Carol), 04:30 in New York (Alice).
    remind(engine, settings, MONDAY.replace(hour=9, minute=30))
    assert len(dms(slack, BOB)) == 1 and len(dms(slack, CAROL)) == 1
    assert dms(slack, ALICE) == []
    remind(engine, settings, MONDAY.replace(hour=14, minute=59))  # 09:59 in New York
    assert dms(slack, ALICE) == []
    remind(engine, settings, MONDAY.replace(hour=15, minute=0))  # 10:00 in New York
    remind(engine, settings, MONDAY.replace(hour=16, minute=0))
    assert len(dms(slack, ALICE)) == 1
    assert len(dms(slack, BOB)) == 1 and len(dms(slack, CAROL)) == 1  # at most one a week
    # The owners' timezones came from users.info once, then from the cache.
    assert len(slack.calls_to("users.info")) == 3


def test_reminder_buttons_and_kpi_bound_asks_confidence_only(engine, settings, slack):
    krs = seed(engine)
    remind(engine, settings, MONDAY.replace(hour=9, minute=30))
    carol = dms(slack, CAROL)[0]
    blocks = carol["blocks"]
    text = str(blocks)
    assert "KPI `nps`" in text and "confident" in text and "Now " not in text
    buttons = [b["accessory"] for b in blocks if b.get("accessory")]
    assert buttons == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Check in", "emoji": True},
            "action_id": "checkin_open",
            "value": str(krs[CAROL].number),
        }
    ]
    actions = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == ["checkin_open", ReminderAction.SNOOZE]
    assert "value" not in actions[0]  # no key result named: the form for all of them
    bob = str(dms(slack, BOB)[0]["blocks"])
    assert "Now — of 10" in bob


def test_check_in_button_opens_the_checkin_modal(engine, settings, slack, driver):
    krs = seed(engine)
    driver.block_action("checkin_open", str(krs[BOB].number), user=BOB, channel="D0BOB0001")
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "checkin_submit"
    assert view["blocks"][0]["element"]["initial_option"]["value"] == str(krs[BOB].number)


def test_snooze_skips_next_week_only(engine, settings, slack, driver):
    seed(engine)
    remind(engine, settings, MONDAY.replace(hour=9, minute=30))
    period = next(
        e["value"]
        for b in dms(slack, BOB)[0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ReminderAction.SNOOZE
    )
    driver.block_action(ReminderAction.SNOOZE, period, user=BOB, channel="D0BOB0001")
    reply = driver.replies(1)[0]
    assert "Snoozed" in reply["text"] and reply.get("replace_original") in (True, "true")
    next_week = MONDAY + timedelta(days=7)
    remind(engine, settings, next_week.replace(hour=9, minute=30))
    assert len(dms(slack, BOB)) == 1  # snoozed
    assert len(dms(slack, CAROL)) == 2  # others are still reminded
    remind(engine, settings, (next_week + timedelta(days=7)).replace(hour=9, minute=30))
    assert len(dms(slack, BOB)) == 2  # back the week after
    with session_scope(engine) as s:
        snoozed = s.exec(select(JobRun).where(JobRun.status == "snoozed")).all()
        audit = s.exec(select(AuditLog).where(AuditLog.action == "reminder.snooze")).all()
    assert [(r.scope, r.period) for r in snoozed] == [(BOB, "2026-W50")]
    assert [a.actor_id for a in audit] == [BOB]


def test_snooze_with_a_forged_value_changes_nothing(engine, settings, slack, driver):
    seed(engine)
    driver.block_action(
        ReminderAction.SNOOZE, "'; drop table jobrun; --", user=BOB, channel="D0BOB0001"
    )
    assert "out of date" in driver.replies(1)[0]["text"]
    with session_scope(engine) as s:
        assert s.exec(select(JobRun)).all() == []


def test_owner_who_checked_in_this_week_is_not_reminded(engine, settings, slack):
    krs = seed(engine)
    with session_scope(engine) as s:
        record_checkin(
            s,
            team_id=TEAM,
            user_id=BOB,
            is_admin=False,
            ref=f"KR-{krs[BOB].number}",
            value=3,
            confidence=7,
        )
    # The check-in is "now" (real clock); remind at a Monday slot within 7 days of it.
    now = datetime.now(UTC)
    slot_day = now + timedelta(days=(7 - now.weekday()) % 7 or 7)
    at = slot_day.replace(hour=9, minute=30, second=0, microsecond=0)
    remind(engine, settings, at)
    assert dms(slack, BOB) == []
    assert len(dms(slack, CAROL)) == 1
