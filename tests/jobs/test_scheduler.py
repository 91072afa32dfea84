"""The scheduler: DST-proof weekly slots, catch-up, settings changes, one leader at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from jobs import scheduler as sched
from jobs.schedule_times import due_weekly, last_weekly_slot, parse_hhmm
from jobs.scheduler import LoyaltyScheduler, Runtime, run_due_jobs
from jobs.scheduler_lock import FileLock, PostgresAdvisoryLock, lock_for
from slackapp.web_client import make_web_client
from storage.db import make_engine, session_scope
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE
from tests.support import factories

TEAM = factories.TEAM
NY = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parents[2]


def walk(start: datetime, end: datetime, step: timedelta, tz, weekday, at):
    """Tick like the scheduler does; return the instants at which a new period fired."""
    fired, seen = [], set()
    now = start
    while now <= end:
        period = due_weekly(now, tz, weekday, parse_hhmm(at))
        if period and period not in seen:
            seen.add(period)
            fired.append(now)
        now += step
    return fired


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 2, 25, tzinfo=UTC),  # spring forward: Sunday 8 March 2026
        datetime(2026, 10, 21, tzinfo=UTC),  # fall back: Sunday 1 November 2026
    ],
)
def test_weekly_slot_in_new_york_fires_once_at_local_time_across_dst(start):
    fired = walk(start, start + timedelta(days=28), timedelta(minutes=5), NY, 4, "16:00")
    assert len(fired) == 4  # one per week, no double and no gap around the change
    for instant in fired:
        local = instant.astimezone(NY)
        assert (local.weekday(), local.hour, local.minute) == (4, 16, 0)
    offsets = {instant.astimezone(NY).utcoffset() for instant in fired}
    assert offsets == {timedelta(hours=-5), timedelta(hours=-4)}  # both sides of the change


def test_slot_inside_the_spring_forward_gap_fires_once_just_after_it():
    # 02:30 on 8 March 2026 does not exist in New York; the slot fires an hour on, once.
    start = datetime(2026, 3, 7, tzinfo=UTC)
    fired = walk(start, start + timedelta(days=3), timedelta(minutes=5), NY, 6, "02:30")
    assert [f.astimezone(NY).strftime("%a %H:%M %Z") for f in fired] == ["Sun 03:30 EDT"]
    # And in the autumn the repeated 01:30 fires on its first occurrence only.
    start = datetime(2026, 10, 31, tzinfo=UTC)
    fired = walk(start, start + timedelta(days=3), timedelta(minutes=5), NY, 6, "01:30")
    assert [f.astimezone(NY).strftime("%a %H:%M %Z") for f in fired] == ["Sun 01:30 EDT"]


def test_catch_up_within_a_day_not_after():
    slot = last_weekly_slot(datetime(2026, 11, 27, 22, tzinfo=UTC), NY, 4, parse_hhmm("16:00"))
    assert slot == datetime(2026, 11, 27, 21, tzinfo=UTC)
    assert due_weekly(slot + timedelta(hours=23), NY, 4, parse_hhmm("16:00")) == "2026-W48"
    assert due_weekly(slot + timedelta(hours=25), NY, 4, parse_hhmm("16:00")) is None


def _runtime(settings, engine):
    return Runtime(settings=settings, engine=engine, client=make_web_client(settings))


def _posts(slack, channel):
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == channel]


def _setup(engine, **values):
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values=values)


def test_tick_sends_the_digest_at_local_time_across_dst_exactly_once(engine, settings, slack):
    factories.department(engine, "Support", heads=(), channel="C0SUPPORT1")
    _setup(engine, timezone="America/New_York", digest_weekday=4, digest_time="16:00")
    rt = _runtime(settings, engine)
    # Fridays on both sides of the 1 November 2026 change: 30 Oct (EDT), 6 Nov (EST).
    for friday in (datetime(2026, 10, 30, tzinfo=NY), datetime(2026, 11, 6, tzinfo=NY)):
        before = len(_posts(slack, "C0SUPPORT1"))
        for hh, mm in ((15, 55), (16, 0), (16, 1), (18, 0), (23, 59)):
            run_due_jobs(rt, now=friday.replace(hour=hh, minute=mm).astimezone(UTC))
            expected = before + (0 if (hh, mm) < (16, 0) else 1)
            assert len(_posts(slack, "C0SUPPORT1")) == expected, (friday, hh, mm)


def test_catch_up_after_downtime_and_settings_apply_without_restart(engine, settings, slack):
    factories.department(engine, "Support", heads=(), channel="C0SUPPORT1")
    _setup(engine, timezone="UTC", digest_weekday=4, digest_time="16:00")
    rt = _runtime(settings, engine)
    # Down at Friday 27 Nov 16:00; started Saturday 10:00: still within the day of grace.
    run_due_jobs(rt, now=datetime(2026, 11, 28, 10, tzinfo=UTC))
    assert len(_posts(slack, "C0SUPPORT1")) == 1
    # Down for the next slot too long (restarted Saturday 17:00): skipped, not sent late.
    run_due_jobs(rt, now=datetime(2026, 12, 5, 17, tzinfo=UTC))
    assert len(_posts(slack, "C0SUPPORT1")) == 1
    # An admin moves the digest to Monday 09:00 in Slack; the next tick uses it.
    _setup(engine, digest_weekday=0, digest_time="09:00")
    run_due_jobs(rt, now=datetime(2026, 12, 7, 8, 59, tzinfo=UTC))
    assert len(_posts(slack, "C0SUPPORT1")) == 1
    run_due_jobs(rt, now=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    assert len(_posts(slack, "C0SUPPORT1")) == 2


def test_jobs_persist_in_our_table_with_fixed_ids(engine, settings):
    for _ in range(2):  # replace_existing: starting twice keeps one row per job
        aps = sched.build_apscheduler(settings, engine)
        aps.start(paused=True)
        aps.shutdown(wait=False)
    with engine.connect() as conn:
        ids = sorted(r[0] for r in conn.execute(text("SELECT id FROM apscheduler_jobs")))
    assert ids == sorted([sched.TICK_ID, sched.KPI_SYNC_ID, sched.DAILY_ID])
    aps = sched.build_apscheduler(settings, engine)
    job = aps.get_job(sched.TICK_ID)
    assert job.coalesce is True and job.func is sched.tick
    assert aps.get_job(sched.DAILY_ID).misfire_grace_time == 86400


def test_only_one_scheduler_leads_and_the_other_takes_over(db_url, settings):
    """Two schedulers with their own engines against one database (threads of one process)."""
    engines = [make_engine(db_url), make_engine(db_url)]
    first = LoyaltyScheduler(settings, engines[0], tick_seconds=3600)
    second = LoyaltyScheduler(settings, engines[1], tick_seconds=3600)
    results = []
    barrier = threading.Barrier(2)

    def race(s):
        barrier.wait()
        results.append(s.step())

    threads = [threading.Thread(target=race, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(results) == [False, True]
        leader, follower = (first, second) if first.is_leader else (second, first)
        assert follower.step() is False
        leader.shutdown()
        assert follower.step() is True
        follower.shutdown()
    finally:
        for s in (first, second):
            s.shutdown()
        for e in engines:
            e.dispose()


def test_lock_kind_follows_the_database(engine, db_url):
    lock = lock_for(engine)
    if db_url.startswith("postgresql"):
        assert isinstance(lock, PostgresAdvisoryLock)
    else:
        assert isinstance(lock, FileLock) and str(lock.path).endswith(".scheduler.lock")


def test_postgres_lock_lost_with_the_connection_is_reacquired(engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    lock, other = PostgresAdvisoryLock(engine), PostgresAdvisoryLock(make_engine(db_url))
    try:
        assert lock.acquire() and lock.held() and not other.acquire()
        with engine.connect() as conn:  # the database "restarts" under the leader
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert lock.held() is False
        assert lock.acquire() is True and other.acquire() is False
    finally:
        lock.release()
        other.release()
        other.engine.dispose()


SCHEDULER_SCRIPT = """
import logging, sys
from loyalty.cli import main
sys.argv = ["loyalty", "scheduler"]
main()
"""


def test_two_scheduler_processes_post_each_digest_once(db_url, engine, slack):
    """Two `loyalty scheduler` processes at once, each with its own engine, one database."""
    factories.department(engine, "Support", heads=(ALICE,), channel="C0SUPPORT1")
    factories.department(engine, "Sales", heads=(), channel="C0SALES001")
    now = datetime.now(UTC)
    # The digest slot was a few minutes ago, in UTC: both processes consider it due at start.
    slot = now - timedelta(minutes=5)
    _setup(
        engine,
        timezone="UTC",
        digest_weekday=slot.weekday(),
        digest_time=slot.strftime("%H:%M"),
        leadership_channel="C0LEADERS1",
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "LOYALTY_TIMEZONE": "UTC",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_SCRIPT],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    try:
        slack.wait_for("chat.postMessage", 4, timeout=60)  # 2 channels, Alice, leadership
        time.sleep(3)  # give a second (wrong) sender every chance to post too
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        outputs = []
        for p in procs:
            try:
                outputs.append(p.communicate(timeout=20)[0].decode())
            except subprocess.TimeoutExpired:
                p.kill()
                outputs.append(p.communicate()[0].decode())
    for channel in ("C0SUPPORT1", "C0SALES001", ALICE, "C0LEADERS1"):
        assert len(_posts(slack, channel)) == 1, (channel, outputs)
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    leaders = [o for o in outputs if "now runs the scheduled jobs" in o]
    assert len(leaders) == 1, outputs


def test_possibly_lost_messages_are_reported_to_admins_once(engine, settings, slack):
    from jobs import run_once
    from jobs.run_once import RunKey
    from jobs.scheduler import report_stale_claims
    from storage.models import utcnow

    factories.department(engine, "Support", heads=(ALICE,))
    key = RunKey(TEAM, "digest", "dept:1:channel:0", "2026-W48")
    assert run_once.claim(engine, key)  # …and the process died before recording
    settings.loyalty_admins = ADMIN
    rt = _runtime(settings, engine)
    assert report_stale_claims(rt, now=utcnow()) == 0  # too recent: may still be in flight
    later = utcnow() + timedelta(hours=1)
    assert report_stale_claims(rt, now=later) == 1
    assert report_stale_claims(rt, now=later) == 0
    alerts = _posts(slack, ADMIN)
    assert len(alerts) == 1 and "dept:1:channel:0" in alerts[0]["text"]
    assert run_once.status_of(engine, key) == "uncertain"
    assert run_once.claim(engine, key) is False  # still never resent automatically


def test_loyalty_run_starts_the_scheduler_in_process(app, engine, slack):
    """`loyalty run` calls start_background_scheduler(app): it leads, catches up at once."""
    from jobs.scheduler import start_background_scheduler

    factories.department(engine, "Support", heads=(), channel="C0SUPPORT1")
    slot = datetime.now(UTC) - timedelta(minutes=2)
    _setup(
        engine, timezone="UTC", digest_weekday=slot.weekday(), digest_time=slot.strftime("%H:%M")
    )
    scheduler = start_background_scheduler(app)
    try:
        slack.wait_for(
            "chat.postMessage", 1, timeout=30, where=lambda c: c["channel"] == "C0SUPPORT1"
        )
        assert scheduler.is_leader
    finally:
        scheduler.shutdown(wait=True)
    assert not scheduler.is_leader


def test_unfinished_digest_is_retried_every_ten_minutes_not_every_tick(engine, settings, slack):
    factories.department(engine, "Support", heads=(), channel="C0SUPPORT1")
    _setup(engine, timezone="UTC", digest_weekday=4, digest_time="16:00")
    slack.http_error("chat.postMessage", status=500, times=3, match={"channel": "C0SUPPORT1"})
    rt = _runtime(settings, engine)
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    run_due_jobs(rt, now=friday)
    attempts = len([c for c in slack.calls if c.method == "chat.postMessage"])
    assert attempts == 3 and _posts(slack, "C0SUPPORT1") == []  # 1 try + 2 client retries
    run_due_jobs(rt, now=friday + timedelta(minutes=1))
    assert len([c for c in slack.calls if c.method == "chat.postMessage"]) == attempts
    run_due_jobs(rt, now=friday + timedelta(minutes=10))
    assert len(_posts(slack, "C0SUPPORT1")) == 1
    run_due_jobs(rt, now=friday + timedelta(minutes=30))
    assert len(_posts(slack, "C0SUPPORT1")) == 1


def test_deactivated_head_is_not_retried(engine, settings, slack):
    from jobs.weekly_digest import digest_done

    factories.department(engine, "Support", heads=("U0GONE0001",), channel="C0SUPPORT1")
    _setup(engine, timezone="UTC", digest_weekday=4, digest_time="16:00")
    slack.api_error("chat.postMessage", "user_disabled", match={"channel": "U0GONE0001"})
    rt = _runtime(settings, engine)
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    run_due_jobs(rt, now=friday)
    assert len(_posts(slack, "C0SUPPORT1")) == 1
    assert digest_done(engine, team_id=TEAM, period="2026-W48")
