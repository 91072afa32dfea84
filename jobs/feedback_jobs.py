"""Customer voice's scheduled work, run by the scheduler's minute tick for each workspace:

- one DM when a follow-up becomes overdue — to its owner, or to its department's heads while
  nobody owns it — exactly once: each DM has its own run record (`jobs.run_once`), so a retried
  tick, a restart or a second scheduler never sends it again;
- the heads' DM for any new follow-up not announced yet (the process that stored it died
  before sending);
- promoters' comments naming staff → praise drafts (staff matched as for the Praise sheet), and
  the heads' DM for new drafts (those and the recovery kudos drafts).

Daily (`loyalty.daily`): the customer-voice KPIs of the past weeks (`refresh_voice_kpis`); the
retention purge of old feedback lives in jobs/data_retention.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from jobs.staff_matching import StaffMatcher
from slackapp.blocks.common import as_dicts, section
from slackapp.blocks.feedback import followup_dm
from slackapp.feedback_notify import announce_followups
from storage.db import session_scope
from storage.feedback import feedback_of, promoters_naming_staff, store_staff_praise
from storage.feedback_figures import refresh_feedback_kpis
from storage.followups import (
    deciders,
    department_name,
    get_followup,
    mark_overdue_notified,
    overdue_unnotified,
)
from storage.models import utcnow

log = logging.getLogger(__name__)

JOB = "followup_overdue"
KPI_WEEKS = 8  # the daily refresh recomputes this many weeks of customer-voice KPIs


def plan_overdue_followups(
    engine: Engine, *, team_id: str, now: datetime, configured_admins=()
) -> list[Outgoing]:
    with session_scope(engine) as session:
        rows = overdue_unnotified(session, team_id=team_id, now=now)
        if not rows:
            return []
        fbs = feedback_of(
            session, team_id=team_id, ids=[r.feedback_id for r in rows if r.feedback_id]
        )
        plans = []
        for fu in rows:
            dept = department_name(session, fu)
            people = (
                [fu.owner_id]
                if fu.owner_id
                else deciders(session, row=fu, configured_admins=configured_admins)
            )
            plans.append((fu, fbs.get(fu.feedback_id), dept, people))
    out = []
    for fu, fb, dept, people in plans:
        blocks = followup_dm(fu, fb, dept)
        who = "You own it" if fu.owner_id else "Nobody has taken it yet"
        head = section(
            f":alarm_clock: *F-{fu.number} is overdue* — the customer should have heard from us "
            f"by now. {who}: call them, then close it with `/feedback close F-{fu.number} "
            "contacted [note]`."
        )
        for user in people:
            out.append(
                Outgoing(
                    channel=user,
                    text=f"F-{fu.number} is overdue",
                    blocks=as_dicts([head, *blocks]),
                    key=RunKey(team_id, JOB, f"F-{fu.number}:{user}", "overdue"),
                    label=f"overdue F-{fu.number}",
                )
            )
    return out


def send_overdue_followups(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime | None = None,
    configured_admins=(),
    poster: Poster | None = None,
) -> PostReport:
    messages = plan_overdue_followups(
        engine, team_id=team_id, now=now or utcnow(), configured_admins=configured_admins
    )
    if not messages:
        return PostReport()
    report = (poster or Poster(client, engine=engine)).post_all(messages)
    failed = {msg.label for msg, _ in report.failed}
    done = {msg.label for msg in report.sent + report.skipped} - failed
    # Everyone was told (now or by an earlier run): the follow-up is not planned again.
    with session_scope(engine) as session:
        for label in done:
            fu = get_followup(session, team_id=team_id, ref=label.rsplit(" ", 1)[1])
            mark_overdue_notified(session, team_id=team_id, followup_id=fu.id)
    return report


def draft_staff_praise(engine: Engine, client: WebClient | None, *, team_id: str) -> int:
    """Promoters whose answer names staff → praise drafts; a failed lookup waits for next time."""
    with session_scope(engine) as session:
        rows = promoters_naming_staff(session, team_id=team_id)
    if not rows:
        return 0
    matcher = StaffMatcher(client)
    matched = []
    for fb in rows:
        try:
            matched.append((fb, matcher.match(fb.staff or "")))
        except (SlackApiError, RuntimeError) as exc:
            log.warning("staff lookup for feedback %s failed (%s); retried later", fb.id, exc)
    if not matched:
        return 0
    with session_scope(engine) as session:
        return store_staff_praise(session, team_id=team_id, matched=matched)


def run_feedback_jobs(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime | None = None,
    configured_admins=(),
) -> None:
    now = now or utcnow()
    announce_followups(engine, client, team_id=team_id, configured_admins=configured_admins)
    send_overdue_followups(
        engine, client, team_id=team_id, now=now, configured_admins=configured_admins
    )
    draft_staff_praise(engine, client, team_id=team_id)
    from jobs.praise_notify import notify_pending_praise

    notify_pending_praise(engine=engine, client=client, team_id=team_id)


def refresh_voice_kpis(engine: Engine, *, team_ids: list[str], now: datetime | None = None) -> int:
    """The daily recompute: waiting answers pass their deadline without anyone acting."""
    now = now or utcnow()
    changed = 0
    for team_id in team_ids:
        try:
            with session_scope(engine) as session:
                changed += refresh_feedback_kpis(
                    session,
                    team_id=team_id,
                    since=(now - timedelta(weeks=KPI_WEEKS)).date(),
                    now=now,
                )
        except Exception:  # noqa: BLE001 - one team's failure spares the others
            log.exception("customer-voice KPIs for team %s failed; retried tomorrow", team_id)
    return changed
