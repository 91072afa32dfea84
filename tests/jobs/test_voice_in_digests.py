"""Customer-voice figures where heads and leaders look: the department digest (figures in the
channel copy, overdue follow-ups in the heads' copy), the leadership digest (a line per
department next to its NPS) — sent by the real weekly digest job to the fake Slack, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from jobs.posting import Poster
from jobs.weekly_digest import send_weekly_digest
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.feedback import FeedbackIn, store_feedback
from storage.followups import close
from storage.models import Followup, KpiValue, utcnow
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department

LEADERSHIP = "C0LEADERS1"
SUPPORT_CHANNEL, BILLING_CHANNEL, LEGAL_CHANNEL = "C0SUPPORT1", "C0BILLING1", "C0LEGAL001"
# Customer text that would ping or link if it were not escaped.
PINGING_CUSTOMER = "Ann <@U0EVIL0001> Customer"
PINGING_COMMENT = "<!channel> the app lost all my points, <https://evil.example|click>"


@pytest.fixture
def client(settings):
    return make_web_client(settings)


def answer(sid, score, now, *, hours_ago, department="Support", customer="Ann", comment="ok"):
    return FeedbackIn(source="webhook", source_id=sid, customer=customer, score=score,
                      received_at=now - timedelta(hours=hours_ago), comment=comment,
                      department=department)  # fmt: skip


def store(engine, *items):
    with session_scope(engine) as s:
        return store_feedback(s, team_id=TEAM, actor_id="test", items=list(items))


def contacted(engine, ref: str, hours_after_receipt: float) -> None:
    """Close a follow-up as contacted, its first contact `hours_after_receipt` (history)."""
    with session_scope(engine) as s:
        row = close(s, team_id=TEAM, actor_id=ALICE, is_admin=True, ref=ref,
                    outcome="contacted").followup  # fmt: skip
        row.first_contact_at = row.received_at + timedelta(hours=hours_after_receipt)
        row.closed_at = row.first_contact_at
        s.add(row)


@pytest.fixture
def world(engine):
    """Support (head Alice): one overdue detractor with pinging text, one followed up in
    10 hours, one customer won back this week (their detractor came 20 days ago). Billing
    (head Bob): one fresh detractor. Legal (head Carol): no feedback at all."""
    now = utcnow()
    support = department(engine, "Support", heads=(ALICE,), channel=SUPPORT_CHANNEL)
    department(engine, "Billing", heads=(BOB,), channel=BILLING_CHANNEL)
    department(engine, "Legal", heads=(CAROL,), channel=LEGAL_CHANNEL)
    store(engine, answer("old", 1, now, hours_ago=24 * 20, customer="Quinn"))
    contacted(engine, "F-1", 5)
    store(
        engine,
        answer("late", 2, now, hours_ago=60, customer=PINGING_CUSTOMER, comment=PINGING_COMMENT),
        answer("quick", 3, now, hours_ago=30, customer="Bea"),
        answer("fresh", 4, now, hours_ago=2, department="Billing", customer="Cid"),
        answer("won", 10, now, hours_ago=1, customer="quinn", comment="Much better now"),
    )
    contacted(engine, "F-3", 10)  # Bea, 10 hours after her answer: within the 48 hours
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP})
        for weeks_ago, value in ((1, 40.0), (0, 44.0)):
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=support.id,
                           department_id=support.id, value=value,
                           day=(now - timedelta(weeks=weeks_ago)).date()))  # fmt: skip
    return now


def send(engine, client, now):
    poster = Poster(client, engine=engine, per_channel_interval=0.05)
    report = send_weekly_digest(engine, client, team_id=TEAM, now=now + timedelta(minutes=1),
                                poster=poster)  # fmt: skip
    assert not report.failed


def posted(slack, channel) -> str:
    calls = [c for c in slack.calls_to("chat.postMessage") if c["channel"] == channel]
    assert calls, f"nothing posted to {channel}"
    return json.dumps([c["blocks"] for c in calls], ensure_ascii=False)


SUPPORT_FIGURES = (
    "2 detractors received · close-the-loop 50% (1 of 2 followed up in time) · "
    "median 10.0 h to first contact · 1 open · 1 overdue :warning: · 1 recovered"
)


def test_channel_copy_shows_the_figures_and_no_customer_text(engine, slack, client, world):
    with session_scope(engine) as s:
        assert s.get(Followup, 1).recovered_at is not None  # Quinn came back as a promoter
    send(engine, client, world)
    channel = posted(slack, SUPPORT_CHANNEL)
    assert "*Customer voice this week*" in channel
    assert SUPPORT_FIGURES in channel
    # Figures only: no follow-up numbers, customers or comments in a channel.
    for private in ("F-2", "Ann", "lost all my points", "Quinn", "Much better now"):
        assert private not in channel
    billing = posted(slack, BILLING_CHANNEL)
    assert (
        "1 detractor received · close-the-loop not known yet (still within the window) · "
        "1 open · 0 overdue · 0 recovered"
    ) in billing


def test_heads_copy_lists_overdue_followups_escaped_without_pings(engine, slack, client, world):
    send(engine, client, world)
    heads = posted(slack, ALICE)
    assert SUPPORT_FIGURES in heads
    assert "1 overdue follow-up" in heads  # the "needs you" summary line
    assert "*:telephone_receiver: Overdue follow-ups*" in heads
    line = next(part for part in heads.split("\\n") if "*F-2*" in part)
    assert line.startswith("• *F-2* 2/10 · Ann &lt;@U0EVIL0001&gt; Customer — “&lt;!channel&gt;")
    assert "lost all my points, &lt;https://evil.example|click&gt;” · 12 h overdue" in line
    assert "F-3" not in heads and "F-4" not in heads  # closed; not due yet
    everything = json.dumps([c.args for c in slack.calls_to("chat.postMessage")])
    assert "<@U0EVIL0001>" not in everything and "<!channel>" not in everything
    assert "<https://evil.example" not in everything
    # Billing's head: a detractor not yet due is counted, not listed.
    bob = posted(slack, BOB)
    assert "Overdue follow-ups" not in bob and "1 detractor received" in bob


def test_department_without_feedback_has_no_section(engine, slack, client, world):
    send(engine, client, world)
    for legal in (posted(slack, LEGAL_CHANNEL), posted(slack, CAROL)):
        assert "Customer voice" not in legal and "detractor" not in legal
    lead = posted(slack, LEADERSHIP)
    voice = lead[lead.index("Customer voice by department") :]
    voice = voice[: voice.index('"}')]
    assert "Legal" not in voice


def test_leadership_digest_has_a_line_per_department_next_to_its_nps(engine, slack, client, world):
    send(engine, client, world)
    lead = posted(slack, LEADERSHIP)
    assert "*Customer voice by department (this week)*" in lead
    assert f"• *Support* — NPS 44 pts · {SUPPORT_FIGURES}" in lead
    assert "• *Billing* — 1 detractor received" in lead  # no NPS value: none shown
    assert "Ann" not in lead and "lost all my points" not in lead and "F-2" not in lead


def test_a_digest_sent_twice_posts_the_figures_once(engine, slack, client, world):
    send(engine, client, world)
    send(engine, client, world)
    support = [c for c in slack.calls_to("chat.postMessage") if c["channel"] == SUPPORT_CHANNEL]
    assert len(support) == 1
