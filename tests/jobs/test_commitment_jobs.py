"""Jobs around alignment and commitments: the overdue DM (once, through run records), "you owe"
/ "owed to you" in the department digests, and the leadership digest's company objectives and
per-department overdue list."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from jobs.commitment_overdue import send_overdue_notices
from jobs.posting import Poster
from jobs.weekly_digest import dry_run_payloads, plan_digest, send_weekly_digest
from slackapp.web_client import make_web_client
from storage import alignment, commitments
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.models import CheckIn, JobRun, KeyResult
from storage.objectives import KeyResultInput, get_objective
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support import factories

TEAM = factories.TEAM
LEADERSHIP = "C0LEADERS1"
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()


@pytest.fixture
def client(settings):
    return make_web_client(settings)


def poster(client, engine):
    return Poster(client, engine=engine, per_channel_interval=0.05)


def dms(slack, user):
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == user]


@pytest.fixture
def world(engine):
    support = factories.department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    product = factories.department(engine, "Product", heads=(BOB,), channel="C0PRODUCT1")
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP})
    return dict(support=support, product=product)


def make_commitment(engine, world, due: date, *, accept_by=None, what="Fix the export"):
    with session_scope(engine) as s:
        row = commitments.ask(
            s, team_id=TEAM, actor_id=CAROL, is_admin=False, department=world["product"],
            what=what, due_date=due, today=due - timedelta(days=10),
        )  # fmt: skip
        ref = f"C-{row.number}"
        if accept_by:
            commitments.accept(s, team_id=TEAM, actor_id=accept_by, is_admin=False, ref=ref)
    return ref


def test_overdue_dm_once_to_owner_the_day_after(engine, client, slack, world):
    due = TODAY - timedelta(days=3)
    make_commitment(engine, world, due, accept_by=BOB)
    on_due_day = datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    send_overdue_notices(engine, client, team_id=TEAM, now=on_due_day,
                         poster=poster(client, engine))  # fmt: skip
    assert dms(slack, BOB) == []  # due today is not overdue yet
    for day in (1, 1, 2):  # the day after (twice: a retried tick), and the day after that
        send_overdue_notices(engine, client, team_id=TEAM, now=on_due_day + timedelta(days=day),
                             poster=poster(client, engine))  # fmt: skip
    (dm,) = dms(slack, BOB)
    assert "C-1" in dm["text"] and "overdue" in json.dumps(dm["blocks"])
    with session_scope(engine) as s:
        runs = s.exec(select(JobRun).where(JobRun.job == "commitment_overdue")).all()
        assert [(r.scope, r.status) for r in runs] == [(f"C-1:{BOB}", "done")]


def test_overdue_unaccepted_goes_to_heads_and_done_ones_are_quiet(engine, client, slack, world):
    make_commitment(engine, world, TODAY - timedelta(days=2))  # nobody accepted: Bob heads it
    ref = make_commitment(engine, world, TODAY - timedelta(days=2), accept_by=BOB, what="Done")
    with session_scope(engine) as s:
        commitments.complete(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref=ref)
    send_overdue_notices(engine, client, team_id=TEAM, now=NOW, poster=poster(client, engine))
    (dm,) = dms(slack, BOB)
    assert "C-1" in dm["text"]


def test_digests_list_you_owe_owed_to_you_and_leadership_overdue(engine, client, slack, world):
    make_commitment(engine, world, TODAY - timedelta(days=2), accept_by=BOB)
    plan = plan_digest(engine, team_id=TEAM, now=NOW, period="2099-W01")
    payloads = {}
    for p in dry_run_payloads(plan):
        if "channel" in p:
            payloads.setdefault(p["channel"], []).append(
                json.dumps(p["blocks"], ensure_ascii=False)
            )
    product = " ".join(payloads["C0PRODUCT1"])
    assert "You owe (overdue)" in product and "C-1" in product and "Fix the export" in product
    support = " ".join(payloads["C0SUPPORT1"])
    assert "Owed to you (overdue)" in support and "C-1" in support
    leadership = " ".join(payloads[LEADERSHIP])
    assert "Overdue commitments by department" in leadership
    assert "*Product* — 1 overdue" in leadership
    # Sent once per period through the digest's run records.
    send_weekly_digest(engine, client, team_id=TEAM, now=NOW, period="2099-W01",
                       poster=poster(client, engine))  # fmt: skip
    send_weekly_digest(engine, client, team_id=TEAM, now=NOW, period="2099-W01",
                       poster=poster(client, engine))  # fmt: skip
    product_posts = [c for c in slack.calls_to("chat.postMessage") if c["channel"] == "C0PRODUCT1"]
    assert len(product_posts) == 1


def test_leadership_digest_opens_with_company_objectives(engine, world):
    company, (c_kr,) = factories.objective(
        engine, None, title="Loyal customers", owner=ADMIN,
        krs=[KeyResultInput(title="NPS", baseline=0, target=100)],
    )  # fmt: skip
    s_obj, _ = factories.objective(
        engine, world["support"], title="Callbacks",
        krs=[KeyResultInput(title="calls", baseline=0, target=100)],
    )  # fmt: skip
    p_obj, (p_kr,) = factories.objective(
        engine, world["product"], title="Fix bugs", owner=BOB,
        krs=[KeyResultInput(title="bugs", baseline=0, target=10)],
    )  # fmt: skip
    with session_scope(engine) as s:
        for child in (s_obj, p_obj):
            alignment.align(
                s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                child=get_objective(s, team_id=TEAM, ref=f"O-{child.number}"),
                parent=get_objective(s, team_id=TEAM, ref=f"O-{company.number}"),
            )  # fmt: skip
        record_checkin(s, team_id=TEAM, user_id=ADMIN, is_admin=True, ref=f"KR-{c_kr.number}",
                       value=50, confidence=7)  # fmt: skip
    ten_days_ago = NOW - timedelta(days=10)
    with session_scope(engine) as s:  # that check-in was ten days ago
        for row in s.exec(select(CheckIn)).all():
            row.created_at = ten_days_ago
            s.add(row)
        kr = s.get(KeyResult, c_kr.id)
        kr.last_checkin_at = ten_days_ago
        s.add(kr)
    with session_scope(engine) as s:
        record_checkin(s, team_id=TEAM, user_id=ADMIN, is_admin=True, ref=f"KR-{c_kr.number}",
                       value=80, confidence=7)  # fmt: skip
        record_checkin(s, team_id=TEAM, user_id=BOB, is_admin=False, ref=f"KR-{p_kr.number}",
                       value=10, confidence=8)  # fmt: skip
    plan = plan_digest(engine, team_id=TEAM, now=NOW + timedelta(minutes=1), period="2099-W02")
    leadership = [p for p in dry_run_payloads(plan) if p.get("channel") == LEADERSHIP][0]
    sections = [b["text"]["text"] for b in leadership["blocks"] if b["type"] == "section"]
    first = sections[0]
    assert first.startswith("*Company objectives*")
    # now (0.8 + 0 + 1.0) / 3 = 60%; a week ago (0.5 + 0 + 0) / 3 = 17% → +43 pts
    assert f"O-{company.number}*" in first and "60%" in first and "+43 pts this week" in first
    assert f"lags most: *O-{s_obj.number}* Callbacks (Support) 0%" in first
    # The department digest shows rolled-up progress for Product (100%).
    product = [p for p in dry_run_payloads(plan) if p.get("channel") == "C0PRODUCT1"][0]
    assert "100%" in json.dumps(product["blocks"])


def test_review_summary_counts_kept_and_missed_per_department(engine, world):
    from slackapp.blocks.review import summary_messages
    from storage.models import Commitment
    from storage.reviews import review_summary

    kept = make_commitment(engine, world, date(2026, 9, 10), accept_by=BOB, what="Kept")
    late = make_commitment(engine, world, date(2026, 9, 12), accept_by=BOB, what="Late")
    make_commitment(engine, world, date(2026, 9, 20), accept_by=BOB, what="Never")  # missed
    make_commitment(engine, world, date(2026, 10, 2), what="Next quarter")  # not counted
    with session_scope(engine) as s:
        for ref in (kept, late):
            commitments.complete(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref=ref)
        row = s.exec(select(Commitment).where(Commitment.what == "Kept")).one()
        row.done_at = datetime(2026, 9, 9, 15, tzinfo=UTC)  # done a day early
        s.add(row)
    with session_scope(engine) as s:
        summary = review_summary(s, team_id=TEAM, quarter="2026-Q3")
        counts = {k: (v.kept, v.missed) for k, v in summary.commitments.items()}
    assert counts == {world["product"].id: (1, 2)}
    text = json.dumps([m.blocks for m in summary_messages(summary)], ensure_ascii=False)
    assert "Commitments kept and missed" in text and "*Product* — 1 kept · 2 missed" in text


def test_overdue_dm_waits_for_the_morning_after_in_the_workspace_timezone(
    engine, client, slack, world
):
    """Los Angeles (UTC−8 in January): due on the 14th, the DM goes out from 09:00 there on the
    15th — not at midnight UTC, nor at midnight in Los Angeles."""
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN,
                        values={"timezone": "America/Los_Angeles"})  # fmt: skip
    make_commitment(engine, world, date(2026, 1, 14), accept_by=BOB)
    for hour_utc, told in [
        (datetime(2026, 1, 15, 7, 0, tzinfo=UTC), False),  # the 14th, 23:00 there
        (datetime(2026, 1, 15, 16, 59, tzinfo=UTC), False),  # the 15th, 08:59 there
        (datetime(2026, 1, 15, 17, 0, tzinfo=UTC), True),  # the 15th, 09:00 there
        (datetime(2026, 1, 16, 9, 0, tzinfo=UTC), True),  # and once only
    ]:
        send_overdue_notices(engine, client, team_id=TEAM, now=hour_utc,
                             poster=poster(client, engine))  # fmt: skip
        assert len(dms(slack, BOB)) == int(told), hour_utc


def test_due_soon_dm_once_two_days_before_from_nine(engine, client, slack, world):
    due = TODAY + timedelta(days=5)
    accepted = make_commitment(engine, world, due, accept_by=BOB, what="Ship the points fix")
    unaccepted = make_commitment(engine, world, due, what="Review the copy")
    two_days_before = datetime.combine(due - timedelta(days=2), datetime.min.time(), tzinfo=UTC)

    def tick(at):
        send_overdue_notices(engine, client, team_id=TEAM, now=at, poster=poster(client, engine))

    tick(two_days_before - timedelta(days=1, hours=-12))  # three days before: too early
    tick(two_days_before + timedelta(hours=8, minutes=59))  # before 09:00
    assert dms(slack, BOB) == []
    for at in (timedelta(hours=9), timedelta(hours=9), timedelta(days=1, hours=10)):
        tick(two_days_before + at)  # at 09:00, a retried tick, and the next day
    soon = [c for c in dms(slack, BOB) if "due" in c["text"] and "overdue" not in c["text"]]
    # The owner of the accepted one; the owing department's head (Bob) for the other.
    assert sorted(c["text"] for c in soon) == sorted(
        [f"{accepted} is due in 2 days", f"{unaccepted} is due in 2 days"]
    )
    assert "Ship the points fix" in json.dumps([c["blocks"] for c in soon], ensure_ascii=False)
    tick(datetime.combine(due + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
         + timedelta(hours=9))  # fmt: skip
    overdue = [c for c in dms(slack, BOB) if "overdue" in c["text"]]
    assert len(overdue) == 2 and len(dms(slack, BOB)) == 4  # besides, not instead
    with session_scope(engine) as s:
        runs = s.exec(select(JobRun).where(JobRun.job == "commitment_due_soon")).all()
        assert sorted(r.scope for r in runs) == sorted([f"{accepted}:{BOB}", f"{unaccepted}:{BOB}"])


def test_due_soon_skips_what_was_asked_inside_the_window(engine, client, slack, world):
    make_commitment(engine, world, TODAY + timedelta(days=1), accept_by=BOB)  # asked just now
    send_overdue_notices(engine, client, team_id=TEAM, now=NOW, poster=poster(client, engine))
    assert dms(slack, BOB) == []
