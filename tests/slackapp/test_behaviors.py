"""/behavior add|log|list and its modals, end to end; weekly logged-vs-target in storage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from storage.behaviors import week_bounds, weekly_behavior_counts
from storage.db import session_scope
from storage.models import AuditLog, Behavior, BehaviorLog
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective
from tests.support.slack_driver import state
from tests.support.sql_count import counted_statements


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def behaviors(engine) -> list[Behavior]:
    with Session(engine) as s:
        return list(s.exec(select(Behavior).order_by(Behavior.number)).all())


def test_head_adds_behavior_with_target_and_objective(driver, engine):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    obj, _ = objective(engine, dept, owner=ALICE)
    driver.command(
        "/behavior",
        f"add Support Call every detractor within 48 hours --target 5 --objective O-{obj.number}",
        user=ALICE,
    )
    text = driver.last_reply_text()
    assert "B-1" in text and "target 5 a week" in text
    (b,) = behaviors(engine)
    assert (b.description, b.weekly_target, b.objective_id, b.department_id) == (
        "Call every detractor within 48 hours",
        5,
        obj.id,
        dept.id,
    )
    with Session(engine) as s:
        log = s.exec(select(AuditLog).where(AuditLog.action == "behavior.create")).one()
        assert log.actor_id == ALICE and log.entity_id == b.id


def test_add_with_multiword_department_picks_longest_match(driver, engine):
    department(engine, "Customer", heads=(ALICE,), channel="C0CUST0001")
    department(engine, "Customer Success", heads=(ALICE,), channel="C0CS000001")
    driver.command("/behavior", "add customer success Send a thank-you note", user=ALICE)
    assert "Customer Success" in driver.last_reply_text()
    (b,) = behaviors(engine)
    assert b.description == "Send a thank-you note" and b.weekly_target == 0


def test_add_flags_in_any_case_and_with_equals_other_dashes_stay_in_the_description(driver, engine):
    dept = department(engine, "Support", heads=(ALICE,))
    obj, _ = objective(engine, dept, owner=ALICE)
    driver.command(
        "/behavior",
        f"add Support --Target=4 Call -5 NPS --VIP clients first --OBJECTIVE O-{obj.number}",
        user=ALICE,
    )
    assert "target 4 a week" in driver.last_reply_text()
    (b,) = behaviors(engine)
    assert (b.description, b.weekly_target, b.objective_id) == (
        "Call -5 NPS --VIP clients first",
        4,
        obj.id,
    )


def test_bad_add_input_is_refused_and_writes_nothing(driver, slack, engine):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    other = department(engine, "Sales", heads=(CAROL,), channel="C0SALES001")
    foreign, _ = objective(engine, other, owner=CAROL)
    cases = [
        ("add Support Call detractors", BOB, "head of Support"),
        ("add Marketing Post on social", ALICE, "No department matches"),
        ("add Support Call detractors --target lots", ALICE, "not a weekly target"),
        ("add Support Call detractors --target", ALICE, "needs a value"),
        ("add Support Call detractors --objective --target 5", ALICE, "needs a value"),
        ("add Support", ALICE, "Describe the behavior"),
        (f"add Support Call --objective O-{foreign.number}", ALICE, "another department"),
        ("add Support Call --objective O-999", ALICE, "no objective `O-999`"),
        ("add Support " + "x" * 250, ALICE, "at most 200 characters"),
        ("frobnicate", ALICE, "not a /behavior command"),
    ]
    for text, user, expected in cases:
        slack.reset()
        driver.command("/behavior", text, user=user)
        reply = driver.last_reply_text()
        assert expected in reply, (text, reply)
        assert f"/behavior {text}"[:60] in reply  # the input is quoted back
    assert count(engine, Behavior) == 0
    assert dept.id  # the department itself is untouched


def test_member_logs_behavior_and_sees_progress(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.home_opened(BOB)  # Bob is on App Home: his logs republish it
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.last_reply_text()
    slack.reset()
    driver.command("/behavior", "log B-1 2 called both detractors from Monday", user=BOB)
    assert "2/5 this week" in driver.last_reply_text()
    slack.reset()
    driver.command("/behavior", "log b1", user=BOB)
    assert "3/5 this week" in driver.last_reply_text()
    with Session(engine) as s:
        logs = s.exec(select(BehaviorLog).order_by(BehaviorLog.id)).all()
        assert [(x.user_id, x.count, x.note) for x in logs] == [
            (BOB, 2, "called both detractors from Monday"),
            (BOB, 1, ""),
        ]
        assert (
            s.exec(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "behavior.log")
            ).one()
            == 2
        )
    homes = slack.wait_for("views.publish", where=lambda c: "3/5 this week" in json.dumps(c.args))
    assert homes[-1].args["user_id"] == BOB


def test_bad_log_input_is_refused_and_writes_nothing(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.last_reply_text()
    cases = [
        ("log", BOB, "Say which behavior"),
        ("log X-1", BOB, "not a behavior reference"),
        ("log B-99", BOB, "no behavior `B-99`"),
        ("log B-1 0", BOB, "from 1 to 1,000"),
        ("log B-1 -3", BOB, "from 1 to 1,000"),
        ("log B-1 5000", BOB, "from 1 to 1,000"),
        ("log B-1", CAROL, "members of Support"),
    ]
    for text, user, expected in cases:
        slack.reset()
        driver.command("/behavior", text, user=user)
        reply = driver.last_reply_text()
        assert expected in reply, (text, reply)
    assert count(engine, BehaviorLog) == 0


def test_list_all_and_one_department(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    department(engine, "Sales", heads=(CAROL,), channel="C0SALES001")
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.replies(1)  # one at a time: B-1 must be Support's
    driver.command("/behavior", "add Sales Ask for a review", user=CAROL)
    driver.replies(2)
    driver.command("/behavior", "log B-1 4", user=BOB)
    assert "4/5 this week" in json.dumps(driver.replies(3)[-1])
    slack.reset()
    driver.command("/behavior", "list", user=BOB)
    listing = driver.last_reply_text()
    assert "B-1" in listing and "4/5 this week" in listing and "Ask for a review" in listing
    slack.reset()
    driver.command("/behavior", "list sales", user=BOB)
    listing = driver.last_reply_text()
    assert "Ask for a review" in listing and "B-1" not in listing
    slack.reset()
    driver.command("/behavior", "list Marketing", user=BOB)
    assert "no department named" in driver.last_reply_text()


def test_no_text_opens_log_modal_for_member_and_add_modal_for_head(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.command("/behavior", "", user=ALICE)
    view = slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "behavior_add_submit"  # nothing defined yet: the add form
    driver.command("/behavior", "", user=BOB)
    view = slack.wait_for("views.open", 2)[-1].args["view"]
    assert "no behaviors yet" in json.dumps(view)
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.last_reply_text()
    slack.reset()
    driver.command("/behavior", "", user=BOB)
    view = slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "behavior_log_submit"
    assert "behavior_add_open" not in json.dumps(view)  # members can't define behaviors
    slack.reset()
    driver.command("/behavior", "", user=ALICE)
    view = slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "behavior_log_submit" and "behavior_add_open" in json.dumps(view)


def test_add_and_log_modals(driver, slack, engine):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    bad = driver.view_submission(
        "behavior_add_submit",
        state(department=("option", str(dept.id)), description="  ", weekly_target="five"),
        user=ALICE,
    )
    assert "weekly_target" in json.loads(bad.body)["errors"]
    bad = driver.view_submission(
        "behavior_add_submit",
        state(department=("option", str(dept.id)), description="  ", weekly_target="3"),
        user=ALICE,
    )
    assert "description" in json.loads(bad.body)["errors"]
    refused = driver.view_submission(
        "behavior_add_submit",
        state(department=("option", str(dept.id)), description="Smile", weekly_target="3"),
        user=BOB,
    )
    assert "head of Support" in json.loads(refused.body)["errors"]["department"]
    assert count(engine, Behavior) == 0
    ok = driver.view_submission(
        "behavior_add_submit",
        state(department=("option", str(dept.id)), description="Smile", weekly_target="3"),
        user=ALICE,
    )
    assert ok.status == 200 and not ok.body
    (b,) = behaviors(engine)
    assert b.weekly_target == 3
    bad = driver.view_submission(
        "behavior_log_submit",
        state(behavior=("option", str(b.number)), count="many", note=""),
        user=BOB,
    )
    assert "count" in json.loads(bad.body)["errors"]
    ok = driver.view_submission(
        "behavior_log_submit",
        state(behavior=("option", str(b.number)), count="2", note="two happy customers"),
        user=BOB,
    )
    assert ok.status == 200 and not ok.body
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == BOB)
    assert "2/3 this week" in dm[-1].args["text"]


def test_weekly_counts_are_per_week_per_department_in_bulk(engine):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    sales = department(engine, "Sales", heads=(CAROL,), channel="C0SALES001")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
    start, end = week_bounds(now, "UTC")
    assert (start.weekday(), (end - start).days) == (0, 7)
    with session_scope(engine) as s:
        rows = [
            Behavior(
                team_id=TEAM,
                number=1,
                department_id=support.id,
                description="Call",
                weekly_target=5,
                created_by=ALICE,
            ),
            Behavior(
                team_id=TEAM,
                number=2,
                department_id=support.id,
                description="Email",
                weekly_target=2,
                created_by=ALICE,
            ),
            Behavior(
                team_id=TEAM,
                number=3,
                department_id=sales.id,
                description="Review",
                weekly_target=1,
                created_by=CAROL,
            ),
            Behavior(
                team_id=TEAM,
                number=4,
                department_id=sales.id,
                description="Old",
                active=False,
                created_by=CAROL,
            ),
            Behavior(
                team_id="T0OTHER01",
                number=1,
                department_id=sales.id,
                description="Other team",
                created_by=CAROL,
            ),
        ]
        s.add_all(rows)
        s.flush()
        call, email, review, old, foreign = rows
        s.add_all(
            [
                BehaviorLog(
                    team_id=TEAM, behavior_id=call.id, user_id=BOB, count=2, created_at=start
                ),
                BehaviorLog(
                    team_id=TEAM, behavior_id=call.id, user_id=BOB, count=1, created_at=now
                ),
                BehaviorLog(
                    team_id=TEAM,
                    behavior_id=call.id,
                    user_id=BOB,
                    count=7,
                    created_at=start - timedelta(seconds=1),
                ),
                BehaviorLog(
                    team_id=TEAM, behavior_id=call.id, user_id=BOB, count=9, created_at=end
                ),
                BehaviorLog(
                    team_id=TEAM, behavior_id=review.id, user_id=CAROL, count=1, created_at=now
                ),
                BehaviorLog(
                    team_id=TEAM, behavior_id=old.id, user_id=CAROL, count=4, created_at=now
                ),
                BehaviorLog(
                    team_id="T0OTHER01",
                    behavior_id=foreign.id,
                    user_id=CAROL,
                    count=4,
                    created_at=now,
                ),
            ]
        )
    with counted_statements(engine) as statements, Session(engine) as s:
        everything = weekly_behavior_counts(
            s, team_id=TEAM, department_ids=None, start=start, end=end
        )
    assert len(statements) == 2  # behaviors + grouped sums, whatever the department count
    summary = {
        dept: [(p.behavior.description, p.logged, p.target) for p in progress]
        for dept, progress in everything.items()
    }
    assert summary == {
        support.id: [("Call", 3, 5), ("Email", 0, 2)],
        sales.id: [("Review", 1, 1)],
    }
    with Session(engine) as s:
        only_sales = weekly_behavior_counts(
            s, team_id=TEAM, department_ids=[sales.id], start=start, end=end
        )
        assert list(only_sales) == [sales.id]
        assert (
            weekly_behavior_counts(s, team_id=TEAM, department_ids=[], start=start, end=end) == {}
        )


def test_week_bounds_follow_team_timezone():
    # Monday 01:00 in Tokyo is still Sunday in UTC: the Tokyo week has already started.
    now = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    start, end = week_bounds(now, "Asia/Tokyo")
    assert start.isoformat() == "2026-11-23T00:00:00+09:00"
    assert end.isoformat() == "2026-11-30T00:00:00+09:00"
    utc_start, _ = week_bounds(now, "not/a_zone")
    assert utc_start.isoformat() == "2026-11-16T00:00:00+00:00"


def test_app_home_shows_this_weeks_behaviors_for_my_departments(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    department(engine, "Sales", heads=(CAROL,), channel="C0SALES001")
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.replies(1)
    driver.command("/behavior", "add Sales Ask for a review --target 2", user=CAROL)
    driver.replies(2)
    driver.home_opened(BOB)
    view = json.dumps(slack.wait_for("views.publish")[-1].args["view"])
    assert "Behaviors this week" in view and "0/5 this week" in view
    assert "Ask for a review" not in view  # not Bob's department
    assert ADMIN not in view


HOSTILE = "<!channel> call back <http://evil.example|ok> & <@U0CAROL01>"


def assert_inert(payload: dict) -> None:
    """Neither the notification text nor the blocks can ping, link or mention."""
    body = json.dumps({"text": payload.get("text"), "blocks": payload.get("blocks")})
    assert "<!channel>" not in body and "<http://evil" not in body and "<@U0CAROL01>" not in body
    assert "&lt;!channel&gt;" in body and "&lt;http://evil.example|ok&gt;" in body


def test_behavior_text_is_shown_literally_in_dms_and_replies(driver, slack, engine):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.view_submission(
        "behavior_add_submit",
        state(department=("option", str(dept.id)), description=HOSTILE, weekly_target="3"),
        user=ALICE,
    )
    (added,) = slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALICE)
    assert_inert(added.args)
    driver.view_submission(
        "behavior_log_submit", state(behavior=("option", "1"), count="1", note=""), user=BOB
    )
    (logged,) = slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == BOB)
    assert_inert(logged.args)
    # Slack sends a typed @channel as <!channel> in command text.
    driver.command("/behavior", f"add Support {HOSTILE}", user=ALICE)
    assert_inert(driver.replies()[-1])
    slack.reset()
    driver.command("/behavior", "log B-2", user=BOB)
    assert_inert(driver.replies()[-1])
    assert [b.description for b in behaviors(engine)] == [HOSTILE, HOSTILE]
