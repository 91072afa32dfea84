"""The scheduler: APScheduler 3 with its job store in the app's database, one leader at a time.

Jobs (module-level functions, fixed ids, `replace_existing=True`, `coalesce=True`):

- `loyalty.tick` every minute: reads every team's settings (digest day/time, reminder day/time,
  review lead days, timezone — as changed with `/okr setup`, no restart needed) and runs what is
  due: the weekly digest, check-in reminders (each owner's own timezone), the quarterly review
  cycle, and customer voice (overdue follow-ups, unannounced detractors, staff praise from
  promoters: jobs/feedback_jobs.py). A weekly slot stays due for `WEEKLY_GRACE` (a day), so a
  scheduler that was down at 16:00 Friday catches up when it starts; run keys
  (`jobs.run_once`) make every tick after the first a no-op for that period.
- `loyalty.kpi_sync` on `KPI_SYNC_CRON` (hourly by default).
- `loyalty.daily` once a day: data retention purge (uninstalled teams, old customer feedback),
  the customer-voice KPIs and the report of possibly-lost messages.

Only the process holding the scheduler lock (`jobs.scheduler_lock`) runs APScheduler at all —
APScheduler 3 must not share a job store between running schedulers — so two `loyalty
scheduler` processes are safe: the second waits and takes over if the first dies.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from jobs import run_once
from jobs.run_once import RunKey
from jobs.schedule_times import WEEKLY_GRACE, due_weekly, parse_hhmm, zone
from jobs.scheduler_lock import SchedulerLock, lock_for
from storage.db import session_scope
from storage.lifecycle import active_team_ids
from storage.models import JobRunStatus, Team, utcnow
from storage.teams import admin_ids, team_zone

if TYPE_CHECKING:
    from slackapp.app import SlackApp

log = logging.getLogger(__name__)

TICK_ID, KPI_SYNC_ID, DAILY_ID = "loyalty.tick", "loyalty.kpi_sync", "loyalty.daily"
TICK_SECONDS = 60
LOCK_POLL_SECONDS = 5.0
JOBSTORE_TABLE = "apscheduler_jobs"  # created by migration 0003_scheduler
RETRY_EVERY = timedelta(minutes=10)  # an unfinished weekly digest is retried this often


@dataclass
class Runtime:
    """What job functions need; set when this process becomes the leader (not pickled)."""

    settings: object
    engine: Engine
    app: SlackApp | None = None
    client: WebClient | None = None

    last_attempts: dict = field(default_factory=dict)

    def may_attempt(self, what: tuple, now: datetime) -> bool:
        """Rebuilding a big digest every minute after a failed message would be wasteful:
        an unfinished run is retried every RETRY_EVERY (in-memory; a restart retries at once)."""
        last = self.last_attempts.get(what)
        if last is not None and timedelta(0) <= now - last < RETRY_EVERY:
            return False
        self.last_attempts[what] = now
        return True

    def active_teams(self) -> list[tuple[str, WebClient]]:
        """(team id, its Slack client) of each installed team that has a client."""
        with session_scope(self.engine) as session:
            team_ids = active_team_ids(session)
        clients = [(team_id, self.client_for(team_id)) for team_id in team_ids]
        return [(team_id, client) for team_id, client in clients if client is not None]

    def client_for(self, team_id: str) -> WebClient | None:
        if self.app is not None:
            return self.app.bot_client(team_id)
        return self.client


_runtime: Runtime | None = None


def run_due_jobs(rt: Runtime, *, now: datetime) -> None:
    """One tick: for every team, whatever is due at `now`. One team's failure spares the rest."""
    from jobs.checkin_reminders import send_due_reminders
    from jobs.commitment_overdue import send_overdue_notices
    from jobs.feedback_jobs import run_feedback_jobs
    from jobs.quarterly_review import run_review_cycle

    default_tz = rt.settings.loyalty_timezone
    for team_id, client in rt.active_teams():
        with session_scope(rt.engine) as session:
            team = session.get(Team, team_id)
            admins = admin_ids(session, team_id=team_id, configured=rt.settings.admin_ids)
        _digest_if_due(rt, client, team=team, admins=admins, now=now)
        _guarded(
            "reminders",
            send_due_reminders,
            rt.engine,
            client,
            team_id=team_id,
            now=now,
            default_timezone=default_tz,
        )
        _guarded(
            "commitments",
            send_overdue_notices,
            rt.engine,
            client,
            team_id=team_id,
            now=now,
            default_timezone=default_tz,
        )
        _guarded(
            "customer voice",
            run_feedback_jobs,
            rt.engine,
            client,
            team_id=team_id,
            now=now,
            configured_admins=rt.settings.admin_ids,
        )
        _guarded(
            "review",
            run_review_cycle,
            rt.engine,
            client,
            team_id=team_id,
            now=now,
            default_timezone=default_tz,
            admins=admins,
        )


def _digest_if_due(rt: Runtime, client: WebClient, *, team: Team, admins, now: datetime) -> None:
    """The weekly digest, when its slot is due in the team's timezone and it is not all sent
    yet (an unfinished one is retried every RETRY_EVERY)."""
    from jobs.weekly_digest import digest_done, send_weekly_digest

    team_id, default_tz = team.team_id, rt.settings.loyalty_timezone
    tz = team_zone(team, default_tz)
    period = due_weekly(now, tz, team.digest_weekday, parse_hhmm(team.digest_time, "16:00"))
    if (
        period
        and rt.may_attempt(("digest", team_id, period), now)
        and not digest_done(rt.engine, team_id=team_id, period=period)
    ):
        _guarded(
            "digest",
            send_weekly_digest,
            rt.engine,
            client,
            team_id=team_id,
            now=now,
            period=period,
            admins=admins,
            default_timezone=default_tz,
        )


def _guarded(step: str, fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - retried on the next tick, within the grace period
        log.exception("%s for team %s failed; the next tick retries", step, kwargs.get("team_id"))


def report_stale_claims(rt: Runtime, *, now: datetime) -> int:
    """Tell the admins, once, about messages whose sender died mid-send (maybe not delivered)."""
    stale = run_once.stale_claims(rt.engine, now=now)
    for row in stale:
        key = RunKey(row.team_id, row.job, row.scope, row.period)
        run_once.mark(rt.engine, key, status=JobRunStatus.UNCERTAIN, detail="sender died mid-send")
        client = rt.client_for(row.team_id)
        text = (
            f":warning: The scheduler stopped while sending `{row.job}` ({row.scope}, "
            f"{row.period}); it may not have been delivered and was not resent, to avoid a "
            "duplicate. Resend a digest with `loyalty digest` if it is missing."
        )
        with session_scope(rt.engine) as session:
            admins = admin_ids(session, team_id=row.team_id, configured=rt.settings.admin_ids)
        for admin in admins:
            if client is not None:
                try:
                    client.chat_postMessage(channel=admin, text=text)
                except Exception:  # noqa: BLE001
                    log.exception("could not tell %s about %s", admin, key)
        log.warning("possibly undelivered: %s", key)
    return len(stale)


# ---- job functions (module level: the persistent job store refers to them by name) -----------


def tick() -> None:
    if _runtime is None:
        return
    run_due_jobs(_runtime, now=utcnow())


def kpi_sync() -> None:
    if _runtime is None:
        return
    from jobs.kpi_sync import run_kpi_sync, team_spreadsheet

    for team_id, client in _runtime.active_teams():
        # Google Sheets is optional: a workspace without a spreadsheet (no KPI_SPREADSHEET, or
        # with several workspaces none connected in /okr setup) is skipped without a report.
        if team_spreadsheet(_runtime.engine, _runtime.settings, team_id) is None:
            log.debug("KPI sync skipped for team %s: no spreadsheet connected", team_id)
            continue
        try:
            run_kpi_sync(
                settings=_runtime.settings, engine=_runtime.engine, client=client, team_id=team_id
            )
        except Exception:  # noqa: BLE001
            log.exception("KPI sync for team %s failed; the next run retries", team_id)


def daily() -> None:
    if _runtime is None:
        return
    now = utcnow()
    try:
        from jobs.data_retention import purge_expired_teams

        purge_expired_teams(
            settings=_runtime.settings,
            engine=_runtime.engine,
            now=now,
            client_for=_runtime.client_for,
        )
    except ImportError:
        pass
    except Exception:  # noqa: BLE001
        log.exception("data retention purge failed; retried tomorrow")
    try:
        from jobs.feedback_jobs import refresh_voice_kpis

        refresh_voice_kpis(
            _runtime.engine, team_ids=[t for t, _ in _runtime.active_teams()], now=now
        )
    except Exception:  # noqa: BLE001
        log.exception("customer-voice KPIs failed; retried tomorrow")
    report_stale_claims(_runtime, now=now)


def build_apscheduler(settings, engine: Engine, *, tick_seconds: int = TICK_SECONDS):
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=tick_seconds),
        id=TICK_ID,
        name="digests, reminders and reviews that are due",
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=300,  # a late tick is still useful; weekly slots have their own grace
    )
    tz = zone(getattr(settings, "loyalty_timezone", None))
    scheduler.add_job(
        kpi_sync,
        CronTrigger.from_crontab(settings.kpi_sync_cron, timezone=tz),
        id=KPI_SYNC_ID,
        name="KPI sync from Google Sheets",
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        daily,
        CronTrigger(hour=3, minute=17, timezone=tz),
        id=DAILY_ID,
        name="data retention and undelivered-message report",
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=int(WEEKLY_GRACE.total_seconds()),
    )
    return scheduler


class LoyaltyScheduler:
    """Waits for the scheduler lock, then runs APScheduler until the lock is lost or stopped."""

    def __init__(
        self,
        settings,
        engine: Engine,
        *,
        app=None,
        client: WebClient | None = None,
        lock: SchedulerLock | None = None,
        tick_seconds: int = TICK_SECONDS,
        lock_poll_seconds: float = LOCK_POLL_SECONDS,
    ):
        self.runtime = Runtime(settings=settings, engine=engine, app=app, client=client)
        self.lock = lock or lock_for(engine)
        self.tick_seconds = tick_seconds
        self.lock_poll_seconds = lock_poll_seconds
        self._aps = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    def step(self) -> bool:
        """Check the lock once; start or stop firing accordingly. Returns leadership."""
        global _runtime
        if self._aps is not None and not self.lock.held():
            log.warning("scheduler lock lost (database restarted?); pausing until it is back")
            self._stop_aps()
        if self._aps is None and self.lock.acquire():
            log.info("this process now runs the scheduled jobs (scheduler lock acquired)")
            _runtime = self.runtime
            self._aps = build_apscheduler(
                self.runtime.settings, self.runtime.engine, tick_seconds=self.tick_seconds
            )
            self._aps.start()
            # Catch up at once on what was due while no scheduler ran.
            self._aps.modify_job(TICK_ID, next_run_time=datetime.now(UTC))
        return self._aps is not None

    def _stop_aps(self) -> None:
        if self._aps is not None:
            try:
                self._aps.shutdown(wait=False)
            except Exception:  # noqa: BLE001
                pass
            self._aps = None

    def run_forever(self) -> None:
        if not self.step():
            log.info("another scheduler holds the lock; standing by")
        while not self._stop.wait(self.lock_poll_seconds):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - database away: try again next poll
                log.exception("scheduler lock check failed")

    def start(self) -> LoyaltyScheduler:
        self._thread = threading.Thread(
            target=self.run_forever, name="loyalty-scheduler", daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self, wait: bool = False) -> None:
        self._stop.set()
        self._stop_aps()
        self.lock.release()
        if wait and self._thread is not None:
            self._thread.join(timeout=10)


def start_background_scheduler(app) -> LoyaltyScheduler:
    """`loyalty run`: the scheduler in a thread of the Socket Mode process."""
    deps = app.deps
    return LoyaltyScheduler(deps.settings, deps.engine, app=app).start()


def run_blocking_scheduler(settings, engine: Engine, app=None) -> None:
    """`loyalty scheduler`: the scheduler alone, until interrupted."""
    scheduler = LoyaltyScheduler(settings, engine, app=app)
    try:
        scheduler.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
