"""Weekly digests: content, splitting, exactly-once sending, and Slack faults."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from jobs import run_once
from jobs.posting import Poster
from jobs.run_once import RunKey
from jobs.weekly_digest import digest_done, plan_digest, send_weekly_digest
from slackapp.web_client import make_web_client
from storage.behaviors import create_behavior, log_behavior
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.digest_queries import build_digest_data
from storage.feedback import FeedbackIn, store_feedback
from storage.kudos import create_recognition
from storage.models import JobRun, KpiValue, utcnow
from storage.objectives import KeyResultInput
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support import factories
from tests.support.sql_count import counted_statements

TEAM = factories.TEAM
LEADERSHIP = "C0LEADERS1"


def set_leadership(engine, channel=LEADERSHIP):
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": channel})


def add_kpis(engine, now, scope=0, name="nps", values=(40.0, 44.0)):
    with session_scope(engine) as s:
        for weeks_ago, value in zip((1, 0), values, strict=True):
            s.add(
                KpiValue(
                    team_id=TEAM,
                    kpi_name=name,
                    scope=scope,
                    department_id=scope or None,
                    day=(now - timedelta(weeks=weeks_ago)).date(),
                    value=value,
                )
            )


def fast_poster(client, engine, **kw):
    # Tests keep the per-channel pacing real but short; the bench measures the 1 s pacing.
    return Poster(client, engine=engine, per_channel_interval=kw.pop("interval", 0.05), **kw)


@pytest.fixture
def client(settings):
    return make_web_client(settings)


@pytest.fixture
def company(engine):
    """Support (head Alice, channel, an objective checked in this week), Sales (head Bob, no
    objectives), Ops (no head), Legal (no channel)."""
    support = factories.department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    factories.department(engine, "Sales", heads=(BOB,), channel="C0SALES001")
    factories.department(engine, "Ops", heads=(), channel="C0OPS00001")
    legal = factories.department(engine, "Legal", heads=(CAROL,), channel=None)
    obj, krs = factories.objective(
        engine,
        support,
        title="Win back detractors",
        krs=[
            KeyResultInput(
                title="Call detractors", baseline=0, target=100, unit="%", owner_id=CAROL
            ),
            KeyResultInput(title="NPS up", baseline=30, target=50, unit="pts"),
        ],
    )
    factories.objective(engine, legal, title="Faster contract answers", owner=CAROL)
    with session_scope(engine) as s:
        record_checkin(
            s,
            team_id=TEAM,
            user_id=CAROL,
            is_admin=False,
            ref=f"KR-{krs[0].number}",
            value=40,
            confidence=8,
            note="",
        )
    with session_scope(engine) as s:
        behavior = create_behavior(
            s,
            team_id=TEAM,
            actor_id=ALICE,
            is_admin=False,
            department=support,
            description="Call every detractor within 48 hours",
            weekly_target=5,
        )
        log_behavior(
            s, team_id=TEAM, user_id=CAROL, is_admin=False, ref=f"B-{behavior.number}", count=3
        )
        create_recognition(
            s,
            team_id=TEAM,
            giver_id=ALICE,
            recipient_ids=[CAROL],
            text="The customer said Carol turned their day around",
        )
    set_leadership(engine)
    add_kpis(engine, utcnow())
    return {"support": support, "objective": obj, "krs": krs, "behavior": behavior}


def posts(slack, channel=None):
    calls = slack.calls_to("chat.postMessage")
    return [c for c in calls if channel is None or c["channel"] == channel]


def all_text(calls) -> str:
    return json.dumps([c.args.get("blocks") for c in calls], ensure_ascii=False)


def test_digests_reach_channels_heads_and_leadership_once(engine, slack, client, company):
    now = utcnow()
    report = send_weekly_digest(
        engine, client, team_id=TEAM, now=now, poster=fast_poster(client, engine)
    )
    assert not report.failed
    support = posts(slack, "C0SUPPORT1")
    assert len(support) == 1
    body = all_text(support)
    assert "Win back detractors" in body and "Call detractors" in body
    assert "What moved this week" in body and "→ 40%" in body  # baseline → 40 this week
    behavior = company["behavior"]
    assert f"*B-{behavior.number}* Call every detractor within 48 hours: 3 / 5 this week" in body
    assert "Carol turned their day around" in body and f"<@{CAROL}>" in body
    # Sales has no objectives: its digest says so rather than staying silent.
    assert "No active objectives" in all_text(posts(slack, "C0SALES001"))
    assert len(posts(slack, "C0OPS00001")) == 1  # no head: channel only
    # Heads get DMs; Legal has no channel but its head still gets one.
    assert {c["channel"] for c in posts(slack)} >= {ALICE, BOB, CAROL}
    leadership = posts(slack, LEADERSHIP)
    lead_text = all_text(leadership)
    assert "Support" in lead_text and "Sales" in lead_text and "nps" in lead_text
    assert "+4" in lead_text  # NPS 40 → 44 week over week
    uploads = slack.calls_to("files.completeUploadExternal")
    assert len(uploads) == 1 and uploads[0]["channel_id"] == LEADERSHIP
    assert digest_done(engine, team_id=TEAM, period=report.sent[0].key.period)

    total = len(posts(slack))
    again = send_weekly_digest(
        engine,
        client,
        team_id=TEAM,
        now=now + timedelta(minutes=5),
        poster=fast_poster(client, engine),
    )
    assert again.sent == [] and len(again.skipped) == len(report.sent)
    assert len(posts(slack)) == total
    assert len(slack.calls_to("files.completeUploadExternal")) == 1


def test_head_dm_escalates_two_missed_weeks(engine, slack, client, company):
    now = utcnow() + timedelta(days=15)  # nobody checked in for two weeks
    send_weekly_digest(engine, client, team_id=TEAM, now=now, poster=fast_poster(client, engine))
    head_dm = all_text(posts(slack, ALICE))
    channel = all_text(posts(slack, "C0SUPPORT1"))
    assert "Two weeks in a row" in head_dm and "Call detractors" in head_dm
    assert "Two weeks in a row" not in channel
    # The channel says how many check-ins were missed; who missed them is in the heads' copy.
    assert "Missed check-ins" in channel and "2 key results missed their check-in" in channel
    assert "2+ weeks" not in channel and "2+ weeks" in head_dm


def test_long_digest_is_split_within_limits_and_loses_nothing(engine, slack, client):
    dept = factories.department(engine, "Support", heads=(ALICE,))
    for i in range(60):
        factories.objective(engine, dept, title=f"Objective number {i} " + "x" * 150)
    now = utcnow()
    plan = plan_digest(engine, team_id=TEAM, now=now, period="2026-W48")
    channel_msgs = [m for m in plan.messages if m.channel == "C0SUPPORT1"]
    assert len(channel_msgs) >= 2
    for m in channel_msgs:
        assert len(m.blocks) <= 50
        for b in m.blocks:
            if b["type"] == "section":
                assert len(b["text"]["text"]) <= 3000
    joined = json.dumps([m.blocks for m in channel_msgs])
    for i in range(60):
        assert f"Objective number {i} " in joined
    assert "Part 1 of" in joined


def test_not_in_channel_reported_to_admins_once_others_continue(engine, slack, client, company):
    slack.not_in_channels.add("C0SUPPORT1")
    now = utcnow()
    for minutes in (0, 1):
        send_weekly_digest(
            engine,
            client,
            team_id=TEAM,
            now=now + timedelta(minutes=minutes),
            admins=[ADMIN],
            poster=fast_poster(client, engine),
        )
    alerts = posts(slack, ADMIN)
    assert len(alerts) == 1 and "C0SUPPORT1" in alerts[0]["text"]
    assert len(posts(slack, "C0SALES001")) == 1 and len(posts(slack, "C0OPS00001")) == 1
    assert len(posts(slack, LEADERSHIP)) == 1


def test_429_storm_is_waited_out_and_nothing_is_lost(engine, slack, client, company):
    slack.rate_limit("chat.postMessage", retry_after=1, times=4)
    report = send_weekly_digest(
        engine, client, team_id=TEAM, now=utcnow(), poster=fast_poster(client, engine)
    )
    assert report.rate_limited >= 4 and not report.failed
    sent = posts(slack)
    keys = [(c["channel"], c["text"]) for c in sent]
    assert len(keys) == len(set(keys)) == len(report.sent) - 1  # minus the chart upload


def test_retry_after_2_is_honoured_before_resending(engine, slack, client):
    factories.department(engine, "Support", heads=(), channel="C0SUPPORT1")
    slack.rate_limit("chat.postMessage", retry_after=2, times=1, match={"channel": "C0SUPPORT1"})
    report = send_weekly_digest(
        engine, client, team_id=TEAM, now=utcnow(), poster=fast_poster(client, engine)
    )
    attempts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert [c.status for c in attempts] == [429, 200] and report.rate_limited == 1
    assert attempts[1].at - attempts[0].at >= 2.0


def test_500_on_one_channel_is_retried_next_run_once(engine, slack, client, company):
    # More 500s than the client's own retries: this run gives up on that channel only.
    slack.http_error("chat.postMessage", status=500, times=3, match={"channel": "C0SALES001"})
    now = utcnow()
    first = send_weekly_digest(
        engine, client, team_id=TEAM, now=now, poster=fast_poster(client, engine)
    )
    assert [m.channel for m, _ in first.failed] == ["C0SALES001"]
    assert len(posts(slack, "C0SUPPORT1")) == 1
    period = first.sent[0].key.period
    assert not digest_done(engine, team_id=TEAM, period=period)
    second = send_weekly_digest(
        engine,
        client,
        team_id=TEAM,
        now=now + timedelta(minutes=1),
        poster=fast_poster(client, engine),
    )
    assert [m.channel for m in second.sent] == ["C0SALES001"]
    assert len(posts(slack, "C0SALES001")) == 1 and len(posts(slack, "C0SUPPORT1")) == 1
    assert digest_done(engine, team_id=TEAM, period=period)


KILL_SCRIPT = """
import os, signal, sys
from datetime import datetime
from jobs import run_once
from jobs.posting import Poster
from jobs.weekly_digest import send_weekly_digest
from slackapp.web_client import make_web_client
from slackapp.settings import Settings
from storage.db import make_engine

db_url, api_url, target, now = sys.argv[1:5]
real_finish = run_once.finish

def finish(engine, key, **kw):
    if key.scope == target:
        os.kill(os.getpid(), signal.SIGKILL)  # posted, not yet recorded
    return real_finish(engine, key, **kw)

run_once.finish = finish
settings = Settings(_env_file=None, database_url=db_url, slack_bot_token="xoxb-x",
                    slack_signing_secret="s", slack_api_url=api_url)
engine = make_engine(db_url)
client = make_web_client(settings)
# One worker, so that the kill catches exactly one message in flight.
send_weekly_digest(engine, client, team_id="T0TEAMA01", now=datetime.fromisoformat(now),
                   poster=Poster(client, engine=engine, max_workers=1))
"""


def test_process_killed_between_posting_and_recording_does_not_post_again(
    engine, db_url, slack, client, company
):
    """At-most-once: the claim committed before posting outlives the killed process."""
    import subprocess
    import sys

    now = utcnow()
    target = f"dept:{company['support'].id}:channel:0"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, db_url, slack.api_url, target, now.isoformat()],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert len(posts(slack, "C0SUPPORT1")) == 1  # it reached Slack before the kill
    # The restarted scheduler finishes the rest and does not post Support's digest again.
    send_weekly_digest(
        engine,
        client,
        team_id=TEAM,
        now=now + timedelta(minutes=1),
        poster=fast_poster(client, engine),
    )
    assert len(posts(slack, "C0SUPPORT1")) == 1
    assert len(posts(slack, "C0SALES001")) == 1 and len(posts(slack, LEADERSHIP)) == 1
    # …and the uncertain message is reported as possibly lost, not silently forgotten.
    stale = run_once.stale_claims(engine, now=utcnow() + timedelta(hours=1))
    assert [r.scope for r in stale] == [target]
    sent = [(c["channel"], c["text"]) for c in posts(slack)]
    assert len(sent) == len(set(sent))


def test_digest_query_count_does_not_grow_with_departments(engine, slack):
    def count_queries(n_departments: int) -> int:
        now = utcnow()
        for i in range(n_departments):
            name = f"Dept {n_departments}-{i}"
            d = factories.department(engine, name, heads=(ALICE,))
            factories.objective(engine, d, title=f"Objective {i}")
            # Customer voice for each: an overdue detractor and a fresh one.
            with session_scope(engine) as s:
                store_feedback(s, team_id=TEAM, actor_id="test", items=[
                    FeedbackIn(source="webhook", source_id=f"{name}-{h}", customer="Ann",
                               score=2, comment="slow", department=name,
                               received_at=now - timedelta(hours=h))
                    for h in (60, 1)])  # fmt: skip
        with counted_statements(engine) as seen, session_scope(engine) as s:
            data = build_digest_data(s, team_id=TEAM, now=utcnow())
        assert len(data.departments) >= n_departments
        assert all(len(d.followups.overdue) == 1 for d in data.departments)
        return len(seen)

    assert count_queries(2) == count_queries(10)


def test_manual_digest_does_not_replace_the_scheduled_one(engine, slack, client, company):
    now = utcnow()
    send_weekly_digest(
        engine,
        client,
        team_id=TEAM,
        now=now,
        period="manual-1",
        department="Support",
        poster=fast_poster(client, engine),
    )
    assert len(posts(slack, "C0SUPPORT1")) == 1 and posts(slack, LEADERSHIP) == []
    send_weekly_digest(engine, client, team_id=TEAM, now=now, poster=fast_poster(client, engine))
    assert len(posts(slack, "C0SUPPORT1")) == 2
    with session_scope(engine) as s:
        periods = set(s.exec(select(JobRun.period).where(JobRun.job == "digest")).all())
    assert "manual-1" in periods and len(periods) == 2


def test_database_restart_mid_job_retries_cleanly(engine, db_url, slack, client, company):
    if not db_url.startswith("postgresql"):
        pytest.skip("terminating server connections is a PostgreSQL fault")
    from sqlalchemy import create_engine, text

    killer = create_engine(db_url, isolation_level="AUTOCOMMIT")
    poster = fast_poster(client, engine, max_workers=1)
    real_post = poster.client.chat_postMessage
    sent = []

    def post_then_restart(**kwargs):
        result = real_post(**kwargs)
        sent.append(kwargs["channel"])
        if len(sent) == 2:  # the database "restarts" between posting and recording
            with killer.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        return result

    poster.client.chat_postMessage = post_then_restart
    now = utcnow()
    send_weekly_digest(engine, client, team_id=TEAM, now=now, poster=poster)
    send_weekly_digest(
        engine,
        client,
        team_id=TEAM,
        now=now + timedelta(minutes=1),
        poster=fast_poster(client, engine),
    )
    killer.dispose()
    channels = [c["channel"] for c in posts(slack)]
    expected = {"C0SUPPORT1", "C0SALES001", "C0OPS00001", LEADERSHIP, ALICE, BOB, CAROL}
    assert set(channels) == expected
    # Each head DM / channel post exactly once (Carol heads Legal: one DM).
    assert sorted(channels) == sorted(expected)
    with session_scope(engine) as s:
        statuses = s.exec(select(JobRun.status).where(JobRun.job == "digest")).all()
    assert set(statuses) == {"done"}


def test_claims_are_exclusive(engine):
    key = RunKey(TEAM, "digest", "dept:1:channel:0", "2026-W48")
    assert run_once.claim(engine, key) is True
    assert run_once.claim(engine, key) is False
    run_once.release(engine, key, error="boom")
    assert run_once.claim(engine, key) is True
    run_once.finish(engine, key)
    assert run_once.claim(engine, key) is False
    assert run_once.status_of(engine, key) == "done"


def _cli(db_url, slack, *args):
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "LOYALTY_", "DATABASE_", "KPI_", "GOOGLE_"))
    }
    env.update(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=slack.api_url)
    return subprocess.run(
        [sys.executable, "-m", "loyalty", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_dry_run_prints_the_exact_block_kit_and_sends_nothing(db_url, engine, slack, company):
    result = _cli(db_url, slack, "digest", "--department", "support", "--dry-run")
    assert result.returncode == 0, result.stderr
    payloads = json.loads(result.stdout)
    assert {p["channel"] for p in payloads} == {"C0SUPPORT1", ALICE}
    channel = next(p for p in payloads if p["channel"] == "C0SUPPORT1")
    assert channel["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly digest: Support", "emoji": True},
    }
    assert slack.calls_to("chat.postMessage") == []
    with session_scope(engine) as s:
        assert s.exec(select(JobRun)).all() == []


def test_cli_digest_sends_now_and_unknown_department_is_one_line(db_url, engine, slack, company):
    result = _cli(db_url, slack, "digest", "--department", "Support")
    assert result.returncode == 0, result.stderr
    assert "Sent 2 message(s)" in result.stdout
    assert len(posts(slack, "C0SUPPORT1")) == 1 and posts(slack, LEADERSHIP) == []
    bad = _cli(db_url, slack, "digest", "--department", "Nope")
    assert bad.returncode == 1 and "Nope" in bad.stderr and "Traceback" not in bad.stderr


def test_recording_rides_out_a_database_outage(engine, slack, client, company, caplog):
    """The database refuses the 'done' write twice (as while restarting): the write is retried,
    the message stays sent once and recorded done."""
    from sqlalchemy.exc import OperationalError

    failures = []

    def flaky(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE JOBRUN") and len(failures) < 2:
            failures.append(statement)
            raise OperationalError(statement, params, Exception("server closed the connection"))

    event.listen(engine, "before_cursor_execute", flaky)
    try:
        report = send_weekly_digest(
            engine, client, team_id=TEAM, now=utcnow(), poster=fast_poster(client, engine)
        )
    finally:
        event.remove(engine, "before_cursor_execute", flaky)
    assert len(failures) == 2 and not report.failed
    assert "database unavailable while recording" in caplog.text
    sent = [(c["channel"], c["text"]) for c in posts(slack)]
    assert len(sent) == len(set(sent))
    with session_scope(engine) as s:
        assert set(s.exec(select(JobRun.status).where(JobRun.job == "digest")).all()) == {"done"}
