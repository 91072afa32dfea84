"""Spec §9 in the scheduled jobs, on hand-computed examples: the weekly digests (mismatch,
stale, net confidence, away, the quarterly behaviors-vs-KPIs section) and the reminders (away
people paused, mismatch flagged)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update

from jobs.checkin_reminders import send_due_reminders
from jobs.posting import Poster
from jobs.weekly_digest import send_weekly_digest
from slackapp.web_client import make_web_client
from storage.away import set_away
from storage.behavior_correlation import link_behavior
from storage.behaviors import create_behavior
from storage.db import session_scope
from storage.kpis import KNOWN_KPIS
from storage.models import BehaviorLog, CheckIn, KeyResult, KpiValue
from storage.objectives import KeyResultInput
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective

FRIDAY = datetime(2026, 11, 27, 16, tzinfo=UTC)
LEADERSHIP = "C0LEADERS1"


def at(d: date, hour: int = 12) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=UTC)


def checkin(engine, kr, when: datetime, value, confidence):
    with session_scope(engine) as s:
        s.add(CheckIn(team_id=TEAM, key_result_id=kr.id, author_id=kr.owner_id, value=value,
                      confidence=confidence, created_at=when))  # fmt: skip
        s.execute(
            update(KeyResult).where(KeyResult.id == kr.id).values(
                current_value=value, last_confidence=confidence, last_checkin_at=when,
            )
        )  # fmt: skip


def posted(slack, channel) -> str:
    calls = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]
    return json.dumps([c.args.get("blocks") for c in calls], ensure_ascii=False)


def poster(client, engine):
    return Poster(client, engine=engine, per_channel_interval=0.05)


def test_digest_flags_on_a_hand_computed_department(engine, settings, slack):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL))
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP})
    _, (kr1, kr2, _kr3) = objective(
        engine, support, quarter="2026-Q4",
        krs=[KeyResultInput(title="Win back", baseline=0, target=100, owner_id=CAROL),
             KeyResultInput(title="Quiet one", baseline=0, target=100, owner_id=BOB),
             KeyResultInput(title="New one", baseline=0, target=10, owner_id=CAROL)],
    )  # fmt: skip
    # KR1: day 47 → 10, day 56 → 12: slope 2/9 a day, at day 91 12 + 35·2/9 = 19.8 → 20%:
    # off track by forecast while its owner says 8/10 → overconfident. A week ago it was 2/10.
    checkin(engine, kr1, at(date(2026, 11, 17)), 10, 2)
    checkin(engine, kr1, at(date(2026, 11, 26)), 12, 8)
    # KR2: one value (pace rule), 2/10, last check-in 20 days before the digest → stale. Its
    # owner is away, so it is left out of missed check-ins and escalations.
    checkin(engine, kr2, at(date(2026, 11, 7), 16), 5, 2)
    with session_scope(engine) as s:
        set_away(s, team_id=TEAM, user_id=BOB, until=date(2026, 12, 5))
    client = make_web_client(settings)
    report = send_weekly_digest(engine, client, team_id=TEAM, now=FRIDAY,
                                poster=poster(client, engine))  # fmt: skip
    assert not report.failed
    head = posted(slack, ALICE)
    channel = posted(slack, "C0SUPPORT1")
    leaders = posted(slack, LEADERSHIP)
    # Net confidence: now (8, 2, none) → 33% − 33% = 0; a week ago (2, 2, none) → −67.
    for text in (head, channel):
        assert "net confidence +0 (+67 since last week)" in text
        # A digest mentions each person once (their first line); later lines use their name.
        assert text.count(f"<@{BOB}>") == 1 and text.count(f"<@{CAROL}>") == 1
        assert (
            f"*KR-{kr2.number}* Quiet one · @Bob — :hourglass: stale: no check-in for 20 days"
            in text
        )
        assert "no check-in for 2+ weeks" not in text  # Bob is away: no escalation
    assert (
        f"*KR-{kr1.number}* Win back · @Carol — :warning: overconfident: confidence 8/10 "
        "but the data says off track"
    ) in head
    assert "@Bob :palm_tree: away until Sat Dec 05, 2026" in head
    assert "overconfident" not in channel and "away until" not in channel  # heads only
    assert "net confidence +0 (+67 since last week) · 1 confidence mismatch · 1 stale" in leaders
    assert "Behaviors against KPIs" not in leaders  # not the first week of a quarter


def test_quarterly_behaviors_against_kpis_in_first_leadership_digest(engine, settings, slack):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP})
    first = datetime(2026, 10, 2, 16, tzinfo=UTC)  # Friday of the quarter's first week
    monday = date(2026, 9, 28)
    counts = [3, 1, 4, 2, 5, 9, 1, 6, 7, 8, 10, 11]  # weeks −14 … −3
    with session_scope(engine) as s:
        b = create_behavior(s, team_id=TEAM, actor_id=ADMIN, is_admin=True, department=support,
                            description="Call every detractor")  # fmt: skip
        flat = create_behavior(s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                               department=support, description="Send a thank-you note")  # fmt: skip
        for i, n in enumerate(counts):
            week = monday - timedelta(weeks=14 - i)
            s.add(BehaviorLog(team_id=TEAM, behavior_id=b.id, user_id=BOB, count=n,
                              created_at=at(week + timedelta(days=1))))  # fmt: skip
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=0,
                           day=week + timedelta(weeks=2), value=10 + 2 * n))  # fmt: skip
        for behavior in (b, flat):
            link_behavior(s, team_id=TEAM, actor_id=ADMIN, behavior=behavior, kpi_name="nps",
                          scope=0, known_names=KNOWN_KPIS)  # fmt: skip
    client = make_web_client(settings)
    send_weekly_digest(engine, client, team_id=TEAM, now=first, poster=poster(client, engine))
    leaders = posted(slack, LEADERSHIP)
    assert "Behaviors against KPIs this quarter" in leaders
    assert (
        f"*B-{b.number}* Call every detractor vs `nps`: Best lag 2 weeks: Spearman ρ = +1.00 "
        "over 12 weeks"
    ) in leaders
    assert (
        f"*B-{flat.number}* Send a thank-you note vs `nps`: No correlation claimed: nothing has been logged yet."
        in leaders
    )
    assert "Correlation, not causation" in leaders
    slack.reset()
    send_weekly_digest(engine, client, team_id=TEAM, now=first + timedelta(weeks=2),
                       poster=poster(client, engine))  # fmt: skip
    assert "Behaviors against KPIs" not in posted(slack, LEADERSHIP)


def test_reminders_skip_away_owners_and_flag_mismatch(engine, settings, slack):
    monday = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # 10:30 Paris (Bob), 18:30 Tokyo (Carol)
    support = department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL))
    _, (bobs, carols) = objective(
        engine, support, quarter="2026-Q4",
        krs=[KeyResultInput(title="Bob's KR", baseline=0, target=10, owner_id=BOB),
             KeyResultInput(title="Carol's NPS", baseline=30, target=50, owner_id=CAROL,
                            kpi_name="nps")],
    )  # fmt: skip
    # nps falls 30 → 28 in October: forecast below the baseline, 0% → off track; Carol says 9.
    with session_scope(engine) as s:
        for day, value in [(date(2026, 10, 5), 30.0), (date(2026, 11, 2), 28.0)]:
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=0, day=day, value=value))
    checkin(engine, carols, monday - timedelta(days=10), None, 9)
    with session_scope(engine) as s:
        set_away(s, team_id=TEAM, user_id=BOB, until=date(2026, 12, 4))
    client = make_web_client(settings)
    send_due_reminders(engine, client, team_id=TEAM, now=monday, poster=poster(client, engine))
    assert posted(slack, BOB) == "[]"  # away: no reminder
    carol = posted(slack, CAROL)
    assert "overconfident: confidence 9/10 but the data says off track" in carol
    # A week later Bob is back (his away date has passed) and is reminded again.
    send_due_reminders(engine, client, team_id=TEAM, now=monday + timedelta(weeks=1),
                       poster=poster(client, engine))  # fmt: skip
    assert "Bob's KR" in posted(slack, BOB)
