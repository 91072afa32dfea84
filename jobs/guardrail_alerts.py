"""After each KPI sync: one alert per guardrail that turned unhealthy, one recovery note per
guardrail that turned healthy again, in the channel of the department it watches.

The state change itself is recorded by `storage.guardrails.evaluate` inside the sync's
transaction. Each change has a number (the guardrail's `changes`), and its message and chart
are posted under the run key (team, "guardrail", g<id>, <number>) — claimed before posting —
so two schedulers, a retried sync or a restart post it once. Re-syncing the same data records
no change, so nothing is posted. A message Slack refused for certain is retried after the next
sync (for a day); a guardrail that changed again since then posts only its newest change.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from slackapp.blocks.common import as_dicts
from slackapp.blocks.insights import guardrail_message
from storage.db import session_scope
from storage.guardrails import (
    ALERT,
    RECOVERY,
    Transition,
    bound_key_results,
    changed_since,
)
from storage.kpi_values import kpi_unit, series
from storage.models import Department, GuardrailState, KpiGuardrail, Team, utcnow

log = logging.getLogger(__name__)

JOB = "guardrail"
RETRY_WINDOW = timedelta(days=1)
CHART_DAYS = 90


def _transition(g: KpiGuardrail) -> Transition:
    return Transition(
        guardrail_id=g.id,
        kpi_name=g.kpi_name,
        scope=g.scope,
        op=g.op,
        threshold=g.threshold,
        kind=ALERT if g.state == GuardrailState.UNHEALTHY else RECOVERY,
        seq=g.changes,
        day=g.evaluated_day,
        value=g.evaluated_value,
    )


def plan_guardrail_messages(engine: Engine, *, team_id: str) -> list[Outgoing]:
    """Messages for the newest change of every guardrail that changed in the last day."""
    since = utcnow() - RETRY_WINDOW
    out: list[Outgoing] = []
    with session_scope(engine) as s:
        team = s.get(Team, team_id)
        rails = changed_since(s, team_id=team_id, since=since)
        for g in rails:
            dept = s.get(Department, g.scope) if g.scope else None
            leadership = team.leadership_channel if team else None
            # A department without a channel: its guardrail alerts go to the leadership channel.
            channel = (dept.channel_id if dept else None) or leadership
            if not channel:
                log.info("guardrail %s changed but has no channel to post in", g.id)
                continue
            where = dept.name if dept else "company-wide"
            unit = (kpi_unit(s, team_id=team_id, kpi_name=g.kpi_name) or ("", ""))[0]
            t = _transition(g)
            bound = bound_key_results(s, team_id=team_id, kpi_name=g.kpi_name, scope=g.scope)
            text, blocks = guardrail_message(t, where=where, unit=unit, bound=bound)
            points = series(
                s,
                team_id=team_id,
                kpi_name=g.kpi_name,
                since=t.day - timedelta(days=CHART_DAYS),
            ).get(where, [])
            scope = f"g{g.id}"
            out.append(
                Outgoing(
                    channel=channel,
                    text=text,
                    blocks=as_dicts(blocks),
                    key=RunKey(team_id, JOB, scope, str(t.seq)),
                    label=f"guardrail {t.kind} for {g.kpi_name} ({where})",
                )
            )
            out.append(
                Outgoing(
                    channel=channel,
                    text=f"{g.kpi_name} chart",
                    key=RunKey(team_id, JOB, f"{scope}:chart", str(t.seq)),
                    send=_chart_sender(channel, g.kpi_name, where, g.threshold, points),
                    label=f"guardrail chart for {g.kpi_name} ({where})",
                )
            )
    return out


def _chart_sender(channel: str, name: str, where: str, threshold: float, points):
    def send(client: WebClient):
        from slackapp.charts import kpi_trend_png
        from slackapp.slack_upload import upload_png

        png = kpi_trend_png(
            {where: points, "guardrail": [(p[0], threshold) for p in points]},
            f"{name} ({where}) — last {CHART_DAYS} days",
        )
        return upload_png(
            client,
            channel_id=channel,
            png=png,
            filename=f"guardrail-{name}.png",
            title=f"{name} ({where}) against its guardrail",
        )

    return send


def post_guardrail_changes(
    engine: Engine, client: WebClient, *, team_id: str, poster: Poster | None = None
) -> PostReport:
    messages = plan_guardrail_messages(engine, team_id=team_id)
    if not messages:
        return PostReport()
    report = (poster or Poster(client, engine=engine)).post_all(messages)
    log.info(
        "guardrail messages for %s: %d sent, %d already sent, %d failed",
        team_id,
        len(report.sent),
        len(report.skipped),
        len(report.failed),
    )
    return report
