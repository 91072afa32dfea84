"""The weekly digests: per department (channel post + a DM to each head) and for leadership.

Every message has its own run key, so a run interrupted half-way resumes where it stopped and
a second run (retry, restart, second scheduler) sends nothing twice.
"""

from __future__ import annotations

import functools
import gc
import logging
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from jobs import run_once
from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from slackapp.blocks.common import as_dicts, section
from slackapp.blocks.digest import department_digests, leadership_digest
from storage.db import session_scope
from storage.departments import get_department
from storage.digest_queries import DigestData, build_digest_data, unnamed_people
from storage.quarters import quarter_of
from storage.teams import admin_ids
from storage.weeks import iso_week

log = logging.getLogger(__name__)

JOB = "digest"
RUN_DONE = "digest_run"  # one row per team and week once every message went out


@dataclass
class DigestPlan:
    data: DigestData
    messages: list[Outgoing] = field(default_factory=list)


def _cyclic_gc_paused(build):
    """A big team's digests are a few hundred thousand objects (rows, per key result digests,
    Block Kit dicts) that all stay alive until the plan is sent: while they pile up, the
    cyclic collector walks the whole heap again and again (about 15% of the build for 500
    departments) and frees nothing. Reference counting still frees everything as usual; the
    collector runs again as soon as the plan is built."""

    @functools.wraps(build)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return build(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@_cyclic_gc_paused
def plan_digest(
    engine: Engine,
    *,
    team_id: str,
    now: datetime,
    period: str,
    department: str | None = None,
    default_timezone: str = "UTC",
) -> DigestPlan:
    """Build every digest message for one team (no Slack calls)."""
    with session_scope(engine) as session:
        ids = None
        if department:
            ids = [get_department(session, team_id=team_id, name=department).id]
        data = build_digest_data(
            session, team_id=team_id, now=now, department_ids=ids, default_timezone=default_timezone
        )
    plan = DigestPlan(data=data)

    def key(scope: str) -> RunKey:
        return RunKey(team_id, JOB, scope, period)

    for d in data.departments:
        if not d.department.channel_id and not d.head_ids:
            continue  # nobody to tell; the leadership digest still lists the department
        plan.messages.extend(_department_messages(d, data, key))
    leadership = data.team.leadership_channel
    if leadership and department is None:
        plan.messages.extend(_leadership_messages(data, leadership, key))
    return plan


def _department_messages(d, data: DigestData, key) -> list[Outgoing]:
    """One department's digest in its channel, and to each of its heads."""
    dept_id = d.department.id
    out: list[Outgoing] = []
    channel_msgs, head_msgs = department_digests(d, data)
    if d.department.channel_id:
        for i, m in enumerate(channel_msgs):
            out.append(
                Outgoing(
                    channel=d.department.channel_id,
                    text=m.text,
                    blocks=m.blocks,
                    key=key(f"dept:{dept_id}:channel:{i}"),
                    label=f"digest for {d.department.name}",
                )
            )
    for head in d.head_ids:
        for i, m in enumerate(head_msgs):
            out.append(
                Outgoing(
                    channel=head,
                    text=m.text,
                    blocks=m.blocks,
                    key=key(f"dept:{dept_id}:head:{head}:{i}"),
                    label=f"digest for {d.department.name} to its head",
                )
            )
    return out


def _leadership_messages(data: DigestData, leadership: str, key) -> list[Outgoing]:
    """The company-wide digest and its KPI trend chart, in the leadership channel."""
    out = [
        Outgoing(
            channel=leadership,
            text=m.text,
            blocks=m.blocks,
            key=key(f"leadership:{i}"),
            label="leadership digest",
        )
        for i, m in enumerate(leadership_digest(data))
    ]
    out.append(
        Outgoing(
            channel=leadership,
            text="KPI trends chart",
            key=key("leadership:chart"),
            send=_chart_sender(data, leadership),
            label="KPI trend chart",
        )
    )
    return out


def _chart_sender(data: DigestData, channel: str):
    def send(client: WebClient):
        from slackapp.charts import kpi_trend_png
        from slackapp.slack_upload import upload_png

        png = kpi_trend_png(data.kpi_series, f"Company KPIs, {data.quarter}")
        return upload_png(
            client,
            channel_id=channel,
            png=png,
            filename=f"kpi-trends-{data.now:%Y-%m-%d}.png",
            title=f"KPI trends to {data.now:%b %d, %Y}",
        )

    return send


def channel_problem_reporter(
    engine: Engine, client: WebClient, *, team_id: str, period: str, admins: list[str]
):
    """Tell the admins once (per channel and period) that a channel refused the app."""

    def report(channel: str, error: str) -> None:
        text = (
            f":warning: I could not post the weekly digest in <#{channel}> (`{error}`). "
            "Invite me there with `/invite @Loyalty OKRs` (or pick another channel), then send "
            "it again with `loyalty digest`. Other departments' digests went out as usual."
        )
        for admin in admins:
            key = RunKey(team_id, "channel_alert", f"{channel}:{admin}", period)
            try:
                run_once.run_once(
                    engine,
                    key,
                    lambda admin=admin: client.chat_postMessage(
                        channel=admin, text=text, blocks=as_dicts([section(text)])
                    ),
                )
            except Exception:  # noqa: BLE001 - the digest itself matters more than the alert
                log.exception("could not tell admin %s about channel %s", admin, channel)

    return report


def send_weekly_digest(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime,
    period: str | None = None,
    department: str | None = None,
    admins: list[str] | None = None,
    default_timezone: str = "UTC",
    poster: Poster | None = None,
) -> PostReport:
    """Send one team's digests for `period` (ISO week by default); safe to call again."""
    period = period or iso_week(now.date())
    remember_names(engine, client, team_id=team_id, now=now)
    plan = plan_digest(
        engine,
        team_id=team_id,
        now=now,
        period=period,
        department=department,
        default_timezone=default_timezone,
    )
    if admins is None:
        with session_scope(engine) as session:
            admins = admin_ids(session, team_id=team_id)
    poster = poster or Poster(client, engine=engine)
    poster.on_problem = channel_problem_reporter(
        engine, client, team_id=team_id, period=period, admins=admins
    )
    report = poster.post_all(plan.messages)
    from jobs.posting import UNDELIVERABLE

    retryable = [
        f
        for f in report.failed
        if f[1] not in report.channel_problems.values() and f[1] not in UNDELIVERABLE
    ]
    if not retryable and department is None:
        run_once.mark(engine, RunKey(team_id, RUN_DONE, "", period))
    log.info(
        "digest %s for %s: %d sent, %d already sent, %d failed",
        period,
        team_id,
        len(report.sent),
        len(report.skipped),
        len(report.failed),
    )
    return report


def remember_names(engine: Engine, client: WebClient, *, team_id: str, now: datetime) -> None:
    """Put the display names of the people the digest names into the user cache (users.info
    once each), so that after its one mention a digest calls them by name. Best effort: a
    person Slack does not describe is named by their id."""
    from slackapp.context import fetch_user

    with session_scope(engine) as session:
        missing = unnamed_people(session, team_id=team_id, quarter=quarter_of(now.date()))
    for user_id in missing:
        try:
            with session_scope(engine) as session:
                fetch_user(session, client, team_id=team_id, user_id=user_id)
        except Exception:  # noqa: BLE001 - a name is a nicety; the digest goes out regardless
            log.warning("could not look up %s for the digest's names", user_id, exc_info=True)


def digest_done(engine: Engine, *, team_id: str, period: str) -> bool:
    return run_once.status_of(engine, RunKey(team_id, RUN_DONE, "", period)) == run_once.DONE


def dry_run_payloads(plan: DigestPlan) -> list[dict]:
    """The exact chat.postMessage arguments the digest would send (and the chart upload)."""
    out = []
    for m in plan.messages:
        if m.send is not None:
            out.append({"files.upload_v2": {"channel": m.channel, "title": m.text}})
        else:
            out.append({"channel": m.channel, "text": m.text, "blocks": m.blocks})
    return out
