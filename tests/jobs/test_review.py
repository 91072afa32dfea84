"""Quarterly review: prompts, the Start review modal, submission, reminders, summary."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from jobs.posting import Poster
from jobs.quarterly_review import run_review_cycle, start_and_prompt
from slackapp.web_client import make_web_client
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.feedback import FeedbackIn, store_feedback
from storage.kudos import create_recognition
from storage.models import (
    AuditLog,
    CheckIn,
    Followup,
    KeyResult,
    KpiValue,
    Objective,
    Review,
    ReviewItem,
    SlackUser,
)
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


def submission(objectives, *, carry=(), reason="Judged on the retro"):
    """The review form's state: each (objective, score text) with a retro, the one-line
    reason (needed when the score is far from the measured progress) and carry-over."""
    values = {}
    for o, score in objectives:
        values[f"score_{o.id}"] = {"value": {"type": "plain_text_input", "value": score}}
        values[f"reason_{o.id}"] = {"value": {"type": "plain_text_input", "value": reason}}
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
    assert body["errors"] == {f"score_{data['o1'].id}": "Give a score from 0.0 to 1.0, like 0.7."}
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
    summary = [c for c in posts(slack, LEADERSHIP)[1:] if not c.get("thread_ts")]
    assert len(summary) == 1
    text = str(summary[0]["blocks"])
    assert "summary" in summary[0]["text"] and "0.80" not in text
    assert "average score 0.60" in text and "average score 1.00" in text
    # Each department's retro is a reply in the summary's thread, once.
    replies = [c for c in posts(slack, LEADERSHIP) if c.get("thread_ts")]
    assert sorted(c["text"] for c in replies) == [
        "2026-Q4 retro: Sales",
        "2026-Q4 retro: Support",
    ]
    parent = {c["thread_ts"] for c in replies}
    assert len(parent) == 1
    assert "summary" in slack.messages[(LEADERSHIP, parent.pop())]["text"]
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


def five_krs(i):
    return [
        KeyResultInput(title=f"Measure {i}.{k}", baseline=0, target=100, unit="%") for k in range(5)
    ]


def score_ids(view):
    return [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("score_")]


def test_a_25_by_5_department_is_scored_page_by_page(engine, settings, slack, driver):
    dept = factories.department(engine, "Support", heads=(ALICE,))
    objectives = [
        factories.objective(
            engine, dept, title=f"Objective {i}", quarter="2026-Q4", krs=five_krs(i)
        )[0]
        for i in range(25)
    ]
    value = f"2026-Q4|{dept.id}"
    driver.block_action("review_start", value, user=ALICE, channel="D0ALICE01")
    view = slack.wait_for("views.open")[0]["view"]
    assert len(view["blocks"]) <= 100
    first = score_ids(view)
    assert len(first) == 16 and view["submit"]["text"] == "Save & next"
    assert "Page 1 of 2" in json.dumps(view["blocks"])
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
    page_one = [o for o in objectives if f"score_{o.id}" in first]
    meta = json.dumps({"quarter": "2026-Q4", "department_id": dept.id})
    resp = driver.view_submission(
        "review_submit",
        submission([(o, "0.0") for o in page_one]),
        user=ALICE,
        private_metadata=meta,
    )
    body = json.loads(resp.body)
    assert body["response_action"] == "update"
    second = body["view"]
    assert len(second["blocks"]) <= 100 and second["submit"]["text"] == "Submit"
    assert "Page 2 of 2" in json.dumps(second["blocks"])
    rest = [o for o in objectives if o not in page_one]
    assert sorted(score_ids(second)) == sorted(f"score_{o.id}" for o in rest)
    with session_scope(engine) as s:  # the first page is kept
        assert len(s.exec(select(ReviewItem)).all()) == 16
        assert s.exec(select(Review)).one().status == "pending"
    resp = driver.view_submission(
        "review_submit",
        submission([(o, "0.1") for o in rest]),
        user=ALICE,
        private_metadata=second["private_metadata"],
    )
    assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage", where=lambda c: "is submitted" in c["text"])
    with session_scope(engine) as s:
        assert len(s.exec(select(ReviewItem)).all()) == 25
        assert s.exec(select(Review)).one().status == "submitted"


def evidence_world(engine):
    """Support with one objective measured at 40% (two check-ins a month apart, confidence 6)."""
    data = seed(engine)
    with session_scope(engine) as s:
        kr = s.exec(select(KeyResult).where(KeyResult.objective_id == data["o1"].id)).one()
        first, _ = record_checkin(
            s, team_id=TEAM, user_id=ALICE, is_admin=False, ref=f"KR-{kr.number}",
            value=20, confidence=5,
        )  # fmt: skip
        s.get(CheckIn, first.id).created_at = datetime(2026, 10, 15, 12, tzinfo=UTC)
        second, _ = record_checkin(
            s, team_id=TEAM, user_id=ALICE, is_admin=False, ref=f"KR-{kr.number}",
            value=40, confidence=6,
        )  # fmt: skip
        s.get(CheckIn, second.id).created_at = datetime(2026, 11, 15, 12, tzinfo=UTC)
        data["kr"] = kr.number
    return data


def test_scoring_modal_shows_the_evidence_and_prefills_the_measured_progress(
    engine, settings, slack, driver
):
    data = evidence_world(engine)
    driver.block_action("review_start", f"2026-Q4|{data['support'].id}", user=ALICE)
    view = slack.wait_for("views.open")[0]["view"]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    o1 = data["o1"].id
    assert blocks[f"score_{o1}"]["element"]["initial_value"] == "0.4"
    evidence = next(
        b["text"]["text"]
        for b in view["blocks"]
        if b["type"] == "section" and f"O-{data['o1'].number}*" in b["text"]["text"]
    )
    assert "40% measured" in evidence
    assert f"KR-{data['kr']} Call detractors: 0% → 40% / 100%" in evidence
    # 20 on Oct 15, 40 on Nov 15 (20 in 31 days): 40 + 20 × 45.5 / 31 on Dec 31.
    assert "forecast 69.35% (69%) at quarter end" in evidence
    assert "confidence 6/10" in evidence
    assert f"reason_{o1}" in blocks and f"carry_{o1}" in blocks


def test_a_score_far_from_the_data_needs_a_reason_and_out_of_range_is_refused(
    engine, settings, slack, driver
):
    data = evidence_world(engine)
    o1, o2 = data["o1"], data["o2"]
    meta = json.dumps({"quarter": "2026-Q4", "department_id": data["support"].id})

    def submit(scores, reason=""):
        resp = driver.view_submission(
            "review_submit", submission(scores, reason=reason), user=ALICE, private_metadata=meta
        )
        return json.loads(resp.body) if resp.body else {}

    far = submit([(o1, "0.9"), (o2, "0.0")])
    assert far["response_action"] == "errors"
    assert list(far["errors"]) == [f"reason_{o1.id}"]  # the missing reason is the field in error
    assert (
        "more than 0.3 away from the measured progress (0.40)" in far["errors"][f"reason_{o1.id}"]
    )
    for bad, says in (("1.5", "from 0.0 to 1.0 (got 1.5)"), ("-0.1", "from 0.0 to 1.0")):
        body = submit([(o1, bad), (o2, "0.0")], reason="Because")
        assert says in body["errors"][f"score_{o1.id}"]
    body = submit([(o1, "lots"), (o2, "0.0")])
    assert "`lots` is not a score" in body["errors"][f"score_{o1.id}"]
    body = submit([(o1, "0.9"), (o2, "0.0")], reason="x" * 201)  # one line means one line
    assert body["errors"] == {f"reason_{o.id}": "At most 200 characters." for o in (o1, o2)}
    with session_scope(engine) as s:
        assert s.exec(select(ReviewItem)).all() == []
        assert s.get(Objective, o1.id).status == "active"
    # Within 0.3 of the data no reason is needed; further, a one-line reason is enough.
    assert submit([(o1, "0.6"), (o2, "0.3")]) == {}
    with session_scope(engine) as s:
        items = {i.objective_id: i for i in s.exec(select(ReviewItem)).all()}
        assert items[o1.id].measured_progress == 0.4 and items[o1.id].score_reason == ""
    # Far from the data with a one-line reason: accepted, the reason kept on one line.
    meta = json.dumps({"quarter": "2026-Q4", "department_id": data["sales"].id})
    resp = driver.view_submission(
        "review_submit",
        submission([(data["o3"], "1.0")], reason="Renewals signed\nafter the last check-in"),
        user=BOB,
        private_metadata=meta,
    )
    assert resp.status == 200 and not resp.body
    with session_scope(engine) as s:
        item = s.exec(select(ReviewItem).where(ReviewItem.objective_id == data["o3"].id)).one()
        assert (item.score, item.measured_progress) == (1.0, 0.0)
        assert item.score_reason == "Renewals signed after the last check-in"


def test_admin_scores_company_objectives_that_heads_cannot(engine, settings, slack, driver):
    data = seed(engine)
    company, _ = factories.objective(
        engine, None, title="Loyal customers everywhere", owner=ADMIN, quarter="2026-Q4"
    )
    driver.block_action("review_start", "2026-Q4|company", user=ALICE, channel="D0ALICE01")
    refusal = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ALICE)[0]
    assert (
        "Only a workspace admin can run the quarterly review for company objectives"
        in (refusal["text"])
    )
    driver.block_action("review_start", "2026-Q4|company", user=ADMIN, channel="D0ADMIN01")
    view = slack.wait_for("views.open")[0]["view"]
    assert score_ids(view) == [f"score_{company.id}"]
    assert json.loads(view["private_metadata"])["department_id"] == "company"
    forged = driver.view_submission(
        "review_submit",
        submission([(company, "0.0")]),
        user=ALICE,
        private_metadata=view["private_metadata"],
    )
    assert "workspace admin" in json.dumps(json.loads(forged.body)["errors"])
    resp = driver.view_submission(
        "review_submit",
        submission([(company, "0.0")], carry=(company,)),
        user=ADMIN,
        private_metadata=view["private_metadata"],
    )
    assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage", where=lambda c: "company objectives" in c["text"])
    with session_scope(engine) as s:
        review = s.exec(select(Review).where(Review.department_id.is_(None))).one()
        assert (review.status, review.submitted_by) == ("submitted", ADMIN)
        # Carried over into the next quarter, still a company objective.
        copy = s.exec(select(Objective).where(Objective.carried_from_id == company.id)).one()
        assert (copy.quarter, copy.department_id, copy.status) == ("2027-Q1", None, "active")
        assert s.get(Objective, company.id).status == "carried_over"
    assert data["o1"].department_id == data["support"].id


def test_one_company_review_per_quarter_on_both_databases(engine):
    from sqlalchemy.exc import IntegrityError

    with session_scope(engine) as s:
        s.add(Review(team_id=TEAM, quarter="2026-Q4", department_id=None))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Review(team_id=TEAM, quarter="2026-Q4", department_id=None))
    with session_scope(engine) as s:  # another quarter, or another team, is its own review
        s.add(Review(team_id=TEAM, quarter="2027-Q1", department_id=None))
        s.add(Review(team_id="T0OTHER01", quarter="2026-Q4", department_id=None))
    with session_scope(engine) as s:
        assert len(s.exec(select(Review)).all()) == 3


def add_quarter_followups(engine):
    """Support's detractors: F-1 in Q3; F-2 and F-3 in Q4, contacted 5 and 60 hours after the
    answer (the window is 48); F-1 and F-2 recovered in November (history, set directly)."""
    answers = (("q3", 2, datetime(2026, 9, 20, 9, tzinfo=UTC)),
               ("fast", 2, datetime(2026, 10, 5, 9, tzinfo=UTC)),
               ("slow", 3, datetime(2026, 10, 6, 9, tzinfo=UTC)))  # fmt: skip
    with session_scope(engine) as s:
        store_feedback(s, team_id=TEAM, actor_id="test", items=[
            FeedbackIn(source="webhook", source_id=sid, customer=sid, score=score,
                       received_at=at, comment="", department="Support")
            for sid, score, at in answers])  # fmt: skip
    with session_scope(engine) as s:
        for row in s.exec(select(Followup).where(Followup.team_id == TEAM)).all():
            row.first_contact_at = row.received_at + timedelta(hours=60 if row.number == 3 else 5)
            row.status, row.outcome, row.closed_at = "closed", "contacted", row.first_contact_at
            if row.number in (1, 2):
                row.recovered_at = datetime(2026, 11, 20, 9, tzinfo=UTC)
            s.add(row)


def test_summary_lists_company_first_and_flags_scores_above_the_data(
    engine, settings, slack, driver
):
    data = evidence_world(engine)
    company, _ = factories.objective(
        engine, None, title="Loyal customers everywhere", owner=ADMIN, quarter="2026-Q4"
    )
    with session_scope(engine) as s:
        for scope, day, value in ((0, date(2026, 9, 30), 30.0), (0, date(2026, 12, 20), 42.0),
                                  (data["support"].id, date(2026, 9, 1), 10.0),
                                  (data["support"].id, date(2026, 12, 1), 14.5)):  # fmt: skip
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=scope, day=day, value=value))
    for user, scores, ref in (
        (ALICE, [(data["o1"], "1.0"), (data["o2"], "0.9")], data["support"].id),
        (BOB, [(data["o3"], "0.0")], data["sales"].id),
        (ADMIN, [(company, "0.0")], "company"),
    ):
        # Every department is in, but not the company review: no summary yet.
        cycle(engine, settings, PROMPT_DAY + timedelta(days=10))
        assert posts(slack, LEADERSHIP) == []
        meta = json.dumps({"quarter": "2026-Q4", "department_id": ref})
        resp = driver.view_submission(
            "review_submit", submission(scores), user=user, private_metadata=meta
        )
        assert resp.status == 200 and not resp.body, resp.body
    add_quarter_followups(engine)
    cycle(engine, settings, PROMPT_DAY + timedelta(days=10, minutes=1))
    summary = [c for c in posts(slack, LEADERSHIP) if not c.get("thread_ts")]
    assert len(summary) == 1
    text = json.dumps(summary[0]["blocks"], ensure_ascii=False)
    assert text.index("Company objectives") < text.index("*Sales*") < text.index("*Support*")
    assert f"O-{company.number} Loyal customers everywhere" in text
    # Support: mean score 0.95 against a mean measured progress of 0.20.
    support = text[text.index("*Support*") :]
    assert "average score 0.95 vs measured progress 0.20" in support
    assert "scored above the data" in support
    assert "scored above the data" not in text[: text.index("*Support*")]
    assert "KPIs: nps: 10 → 14.5 (+4.5)" in support
    assert "*nps*: 30 → 42 (+12)" in text
    # The quarter's follow-ups: F-2 in time, F-3 late (the Q3 detractor F-1 is not counted);
    # F-1 and F-2 were won back during the quarter. Sales had no feedback: no such line.
    assert (
        "Customer follow-ups: close-the-loop rate 50% (1 of 2 detractors followed up in time)"
        " · 2 recovered"
    ) in support
    assert "Customer follow-ups" not in text[: text.index("*Support*")]
    button = next(e for b in summary[0]["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert (button["action_id"], button["value"]) == ("review_record_decision", f"{TEAM}|2026-Q4")
    replies = [c for c in posts(slack, LEADERSHIP) if c.get("thread_ts")]
    assert [c["text"] for c in replies] == [
        "2026-Q4 retro: Company-wide",
        "2026-Q4 retro: Sales",
        "2026-Q4 retro: Support",
    ]
    assert {c["thread_ts"] for c in replies} == {
        ts for (ch, ts), m in slack.messages.items() if "summary" in m["text"]
    }
    assert "Why: Judged on the retro" in json.dumps(replies[2]["blocks"])


def test_a_retro_that_failed_goes_into_the_same_thread_later_and_nothing_twice(
    engine, settings, slack, driver
):
    data = seed(engine)
    for user, scores, dept in (
        (ALICE, [(data["o1"], "0.5"), (data["o2"], "0.5")], data["support"]),
        (BOB, [(data["o3"], "0.5")], data["sales"]),
    ):
        meta = json.dumps({"quarter": "2026-Q4", "department_id": dept.id})
        driver.view_submission("review_submit", submission(scores), user=user,
                               private_metadata=meta)  # fmt: skip
    slack.http_error("chat.postMessage", status=500, times=3,
                     match={"text": "2026-Q4 retro: Support"})  # fmt: skip
    cycle(engine, settings, PROMPT_DAY + timedelta(days=10))
    first = [c["text"] for c in posts(slack, LEADERSHIP)]
    assert "2026-Q4 retro: Support" not in first and "2026-Q4 retro: Sales" in first
    cycle(engine, settings, PROMPT_DAY + timedelta(days=10, minutes=1))
    cycle(engine, settings, PROMPT_DAY + timedelta(days=10, minutes=2))
    calls = posts(slack, LEADERSHIP)
    assert [c["text"] for c in calls].count("2026-Q4 quarterly review summary") == 1
    assert [c["text"] for c in calls].count("2026-Q4 retro: Support") == 1
    assert len({c["thread_ts"] for c in calls if c.get("thread_ts")}) == 1


def test_department_without_head_is_offered_to_the_admins(engine, settings, slack):
    ops = factories.department(engine, "Ops", heads=(), channel="C0OPS00001")
    factories.objective(engine, ops, title="Fewer escalations", quarter="2026-Q4")
    client = make_web_client(settings)
    report = start_and_prompt(engine, client, team_id=TEAM, quarter="2026-Q4", admins=[ADMIN])
    assert [m.channel for m in report.sent] == [ADMIN]
    prompt = posts(slack, ADMIN)[0]
    button = next(e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["value"] == f"2026-Q4|{ops.id}"


def test_company_objective_review_starts_and_goes_to_the_admins(db_url, engine, slack):
    """A company-wide objective (no department) used to crash `loyalty review start` with a
    NOT NULL failure on review.department_id; now its review is offered to the admins."""
    from tests.jobs.test_digest import _cli

    seed(engine)
    factories.objective(
        engine, None, title="Loyal customers everywhere", owner=ADMIN, quarter="2026-Q4"
    )
    with session_scope(engine) as s:  # the admin as users.info reported them
        s.add(SlackUser(team_id=TEAM, user_id=ADMIN, is_admin=True))
    first = _cli(db_url, slack, "review", "start", "--quarter", "2026-Q4")
    assert first.returncode == 0, first.stderr
    assert "4 prompt(s) sent" in first.stdout  # leadership, Alice, Bob, the admin
    again = _cli(db_url, slack, "review", "start", "--quarter", "2026-Q4")
    assert "0 prompt(s) sent, 4 already sent" in again.stdout
    button = next(
        e for b in posts(slack, ADMIN)[0]["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    assert button["value"] == "2026-Q4|company"
    assert "Company-wide" in str(posts(slack, LEADERSHIP)[0]["blocks"])
    with session_scope(engine) as s:
        reviews = s.exec(select(Review).where(Review.quarter == "2026-Q4")).all()
        assert len(reviews) == 3 and [r.department_id for r in reviews].count(None) == 1
