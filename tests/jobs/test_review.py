"""Quarterly review: prompts, the Start review modal, submission, reminders, summary."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from jobs.posting import Poster
from jobs.quarterly_review import run_review_cycle, start_and_prompt
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.kudos import create_recognition
from storage.models import AuditLog, KeyResult, KpiValue, Objective, Review, ReviewItem
from storage.objectives import KeyResultInput
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support import factories

TEAM = factories.TEAM
LEADERSHIP = "C0LEADERS1"
# 2026-Q4 ends Thursday 31 December; with 7 lead days the prompt is due from 24 December.
PROMPT_DAY = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)


def cycle(engine, settings, at):
    client = make_web_client(settings)
    run_review_cycle(
        engine,
        client,
        team_id=TEAM,
        now=at,
        poster=Poster(client, engine=engine, per_channel_interval=0.05),
    )


def posts(slack, channel):
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == channel]


def seed(engine, *, leadership=True):
    support = factories.department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    sales = factories.department(engine, "Sales", heads=(BOB,), channel="C0SALES001")
    factories.department(engine, "Empty", heads=(CAROL,), channel="C0EMPTY001")
    o1, _ = factories.objective(
        engine,
        support,
        title="Win back detractors",
        quarter="2026-Q4",
        krs=[KeyResultInput(title="Call detractors", baseline=0, target=100, unit="%")],
    )
    o2, _ = factories.objective(engine, support, title="Faster replies", quarter="2026-Q4")
    o3, _ = factories.objective(engine, sales, title="Renewals", owner=BOB, quarter="2026-Q4")
    if leadership:
        with session_scope(engine) as s:
            update_settings(
                s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP}
            )
    return {"support": support, "sales": sales, "o1": o1, "o2": o2, "o3": o3}


def submission(objectives, *, carry=()):
    values = {}
    for o, score in objectives:
        values[f"score_{o.id}"] = {
            "value": {
                "type": "static_select",
                "selected_option": None if score is None else {"value": score},
            }
        }
        values[f"worked_{o.id}"] = {"value": {"type": "plain_text_input", "value": "Callbacks"}}
        values[f"didnt_{o.id}"] = {"value": {"type": "plain_text_input", "value": None}}
        values[f"carry_{o.id}"] = {
            "value": {
                "type": "checkboxes",
                "selected_options": [{"value": "carry"}] if o in carry else [],
            }
        }
    return values


def test_prompt_goes_out_lead_days_before_quarter_end_once(engine, settings, slack):
    seed(engine)
    cycle(engine, settings, PROMPT_DAY - timedelta(days=1))
    assert posts(slack, LEADERSHIP) == []
    cycle(engine, settings, PROMPT_DAY)
    cycle(engine, settings, PROMPT_DAY + timedelta(minutes=1))
    lead = posts(slack, LEADERSHIP)
    assert len(lead) == 1 and "Support" in str(lead[0]["blocks"])
    assert "Empty" not in str(lead[0]["blocks"])  # no objectives: nothing to review
    alice = posts(slack, ALICE)
    assert len(alice) == 1 and len(posts(slack, BOB)) == 1 and posts(slack, CAROL) == []
    button = next(e for b in alice[0]["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "review_start" and button["value"].startswith("2026-Q4|")


def test_start_review_opens_the_modal_for_heads_only(engine, settings, slack, driver):
    data = seed(engine)
    value = f"2026-Q4|{data['support'].id}"
    driver.block_action("review_start", value, user=ALICE, channel="D0ALICE01")
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "review_submit"
    ids = [b.get("block_id") for b in view["blocks"]]
    assert f"score_{data['o1'].id}" in ids and f"carry_{data['o2'].id}" in ids
    assert f"score_{data['o3'].id}" not in ids  # Sales' objective is not Support's to score
    assert json.loads(view["private_metadata"]) == {
        "quarter": "2026-Q4",
        "department_id": data["support"].id,
    }
    slack.reset()
    driver.block_action("review_start", value, user=BOB, channel="D0BOB0001")
    refusal = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == BOB)[0]
    assert "head of Support" in refusal["text"]
    assert slack.calls_to("views.open") == []


def test_submission_scores_closes_and_carries_over(engine, settings, slack, driver):
    data = seed(engine)
    meta = json.dumps({"quarter": "2026-Q4", "department_id": data["support"].id})
    resp = driver.view_submission(
        "review_submit",
        submission([(data["o1"], "0.7"), (data["o2"], "0.3")], carry=(data["o2"],)),
        user=ALICE,
        private_metadata=meta,
    )
    assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ALICE)
    with session_scope(engine) as s:
        o1 = s.get(Objective, data["o1"].id)
        o2 = s.get(Objective, data["o2"].id)
        assert (o1.status, o1.final_score) == ("closed", 0.7)
        assert (o2.status, o2.final_score) == ("carried_over", 0.3)
        copy = s.exec(select(Objective).where(Objective.carried_from_id == o2.id)).one()
        assert (copy.quarter, copy.status, copy.title) == ("2027-Q1", "active", o2.title)
        assert copy.due_date == date(2027, 3, 31)
        assert len(s.exec(select(KeyResult).where(KeyResult.objective_id == copy.id)).all()) == 1
        review = s.exec(select(Review).where(Review.department_id == data["support"].id)).one()
        assert (review.status, review.submitted_by) == ("submitted", ALICE)
        items = s.exec(select(ReviewItem)).all()
        assert {(i.objective_id, i.what_worked) for i in items} == {
            (o1.id, "Callbacks"),
            (o2.id, "Callbacks"),
        }
        assert s.exec(select(AuditLog).where(AuditLog.action == "review.submit")).one()


def test_forged_private_metadata_is_checked_not_trusted(engine, settings, slack, driver):
    data = seed(engine)
    # Bob heads Sales, not Support: a hand-made form for Support must be refused.
    meta = json.dumps({"quarter": "2026-Q4", "department_id": data["support"].id})
    resp = driver.view_submission(
        "review_submit", submission([(data["o1"], "1.0")]), user=BOB, private_metadata=meta
    )
    body = json.loads(resp.body)
    assert body["response_action"] == "errors"
    assert "head of Support" in next(iter(body["errors"].values()))
    # Alice heads Support, but Sales' objective smuggled into her form is refused too.
    meta = json.dumps({"quarter": "2026-Q4", "department_id": data["support"].id})
    resp = driver.view_submission(
        "review_submit", submission([(data["o3"], "1.0")]), user=ALICE, private_metadata=meta
    )
    assert json.loads(resp.body)["response_action"] == "errors"
    resp = driver.view_submission(
        "review_submit", submission([(data["o1"], "1.0")]), user=ALICE, private_metadata="{oops"
    )
    assert json.loads(resp.body)["response_action"] == "errors"
    with session_scope(engine) as s:
        assert s.exec(select(ReviewItem)).all() == []
        assert s.get(Objective, data["o1"].id).status == "active"


def test_missing_score_is_a_field_error(engine, settings, slack, driver):
    data = seed(engine)
    meta = json.dumps({"quarter": "2026-Q4", "department_id": data["support"].id})
    resp = driver.view_submission(
        "review_submit",
        submission([(data["o1"], None), (data["o2"], "0.5")]),
        user=ALICE,
        private_metadata=meta,
    )
    body = json.loads(resp.body)
    assert body["errors"] == {f"score_{data['o1'].id}": "Pick a score from 0.0 to 1.0."}
    with session_scope(engine) as s:
        assert s.exec(select(ReviewItem)).all() == []


def test_daily_reminders_then_summary_when_all_are_in(engine, settings, slack, driver):
    data = seed(engine)
    with session_scope(engine) as s:
        for day, value in ((date(2026, 9, 30), 30.0), (date(2026, 12, 20), 42.0)):
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=0, day=day, value=value))
        create_recognition(
            s, team_id=TEAM, giver_id=ALICE, recipient_ids=[CAROL], text="Carol saved the day"
        )
    cycle(engine, settings, PROMPT_DAY)
    cycle(engine, settings, PROMPT_DAY + timedelta(hours=2))  # no reminder on the prompt's day
    next_day = PROMPT_DAY + timedelta(days=1)
    cycle(engine, settings, next_day.replace(hour=9))  # before the 10:00 reminder time
    assert len(posts(slack, ALICE)) == 1
    cycle(engine, settings, next_day)
    cycle(engine, settings, next_day + timedelta(hours=1))
    assert len(posts(slack, ALICE)) == 2 and "Reminder" in posts(slack, ALICE)[1]["text"]
    assert len(posts(slack, BOB)) == 2
    cycle(engine, settings, next_day + timedelta(days=1))
    assert len(posts(slack, ALICE)) == 3

    for user, objectives, dept in (
        (ALICE, [(data["o1"], "0.8"), (data["o2"], "0.4")], data["support"]),
        (BOB, [(data["o3"], "1.0")], data["sales"]),
    ):
        meta = json.dumps({"quarter": "2026-Q4", "department_id": dept.id})
        resp = driver.view_submission(
            "review_submit", submission(objectives), user=user, private_metadata=meta
        )
        assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage", 1, where=lambda c: "submitted" in c["text"])
    cycle(engine, settings, next_day + timedelta(days=2))
    cycle(engine, settings, next_day + timedelta(days=2, hours=1))
    summary = posts(slack, LEADERSHIP)[1:]
    assert len(summary) == 1
    text = str(summary[0]["blocks"])
    assert "summary" in summary[0]["text"] and "0.80" not in text
    assert "average score 0.60" in text and "average score 1.00" in text
    assert "30 → 42 (+12)" in text
    assert f"<@{CAROL}> — 1 kudos" in text
    # No reminder after submitting: prompt, two reminders, and the submission's confirmation.
    alice = [c["text"] for c in posts(slack, ALICE)]
    assert len(alice) == 4 and "is submitted" in alice[-1]


def test_summary_at_quarter_end_plus_14_days_even_if_not_all_in(engine, settings, slack):
    seed(engine)
    cycle(engine, settings, PROMPT_DAY)
    cycle(engine, settings, datetime(2027, 1, 13, 12, tzinfo=UTC))
    assert len(posts(slack, LEADERSHIP)) == 1  # only the prompt so far
    cycle(engine, settings, datetime(2027, 1, 14, 12, tzinfo=UTC))
    cycle(engine, settings, datetime(2027, 1, 14, 13, tzinfo=UTC))
    summary = posts(slack, LEADERSHIP)[1:]
    assert len(summary) == 1
    assert "Not submitted in time: Sales, Support" in str(summary[0]["blocks"])


def test_quarter_with_no_objectives(engine, settings, slack):
    factories.department(engine, "Support", heads=(ALICE,))
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP})
    client = make_web_client(settings)
    report = start_and_prompt(engine, client, team_id=TEAM, quarter="2026-Q4")
    assert len(report.sent) == 1
    assert "nothing to review" in str(posts(slack, LEADERSHIP)[0]["blocks"])
    assert posts(slack, ALICE) == []
    cycle(engine, settings, datetime(2027, 1, 20, 12, tzinfo=UTC))
    assert len(posts(slack, LEADERSHIP)) == 1  # no empty summary


def test_cli_review_start_prompts_once(db_url, engine, slack):
    from tests.jobs.test_digest import _cli

    seed(engine)
    first = _cli(db_url, slack, "review", "start", "--quarter", "2026-Q4")
    assert first.returncode == 0, first.stderr
    assert "3 prompt(s) sent" in first.stdout  # leadership, Alice, Bob
    again = _cli(db_url, slack, "review", "start", "--quarter", "2026-Q4")
    assert "0 prompt(s) sent, 3 already sent" in again.stdout
    assert len(posts(slack, LEADERSHIP)) == 1
    bad = _cli(db_url, slack, "review", "start", "--quarter", "Q9")
    assert bad.returncode == 1 and "Q9" in bad.stderr and "Traceback" not in bad.stderr


def test_many_objectives_are_reviewed_over_several_modals(engine, settings, slack, driver):
    dept = factories.department(engine, "Support", heads=(ALICE,))
    objectives = [
        factories.objective(engine, dept, title=f"Objective {i}", quarter="2026-Q4")[0]
        for i in range(21)
    ]
    value = f"2026-Q4|{dept.id}"
    driver.block_action("review_start", value, user=ALICE, channel="D0ALICE01")
    view = slack.wait_for("views.open")[0]["view"]
    assert len(view["blocks"]) <= 100
    shown = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("score_")]
    assert len(shown) == 19 and "19 of 21" in json.dumps(view["blocks"])
    first = [o for o in objectives if f"score_{o.id}" in shown]
    meta = json.dumps({"quarter": "2026-Q4", "department_id": dept.id})
    resp = driver.view_submission(
        "review_submit", submission([(o, "0.5") for o in first]), user=ALICE, private_metadata=meta
    )
    assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage", where=lambda c: "2 objective(s) left" in c["text"])
    slack.reset()
    driver.block_action("review_start", value, user=ALICE, channel="D0ALICE01")
    view = slack.wait_for("views.open")[0]["view"]
    rest = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("score_")]
    assert sorted(rest) == sorted(f"score_{o.id}" for o in objectives if o not in first)
    with session_scope(engine) as s:
        assert s.exec(select(Review)).one().status == "pending"


def test_department_without_head_is_offered_to_the_admins(engine, settings, slack):
    ops = factories.department(engine, "Ops", heads=(), channel="C0OPS00001")
    factories.objective(engine, ops, title="Fewer escalations", quarter="2026-Q4")
    client = make_web_client(settings)
    report = start_and_prompt(engine, client, team_id=TEAM, quarter="2026-Q4", admins=[ADMIN])
    assert [m.channel for m in report.sent] == [ADMIN]
    prompt = posts(slack, ADMIN)[0]
    button = next(e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["value"] == f"2026-Q4|{ops.id}"
