"""`/behavior link B-5 <kpi> [department]` and `/behavior show B-5`: a behavior's weekly counts
against a KPI, best lag by Spearman ρ, with a chart. Correlation, not causation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, context, escape, header, section
from slackapp.blocks.insights import CAUTION, correlation_text
from slackapp.command_answer import CommandAnswer
from slackapp.listeners.kpi_targets import split_kpi_name
from slackapp.replies import UsageError, reply
from slackapp.roles import Caller
from storage.behavior_correlation import correlate, link_behavior
from storage.behaviors import get_behavior
from storage.departments import department_by_id, find_department, require_head
from storage.kpis import kpi_names

log = logging.getLogger(__name__)

LINK_USAGE = "`/behavior link B-5 nps [department]` — compare a behavior with a KPI"
SHOW_USAGE = "`/behavior show B-5` — the behavior against its KPI, with a chart"
VERBS = ("link", "show")


def link_from_text(deps, caller: Caller, respond, rest: str) -> None:
    team_id = caller.team_id
    words = rest.split()
    if len(words) < 2:
        raise UsageError("Say which behavior and which KPI.", usage=LINK_USAGE)
    with deps.session() as s:
        behavior = get_behavior(s, team_id=team_id, ref=words[0])
        known = kpi_names(s, team_id=team_id)
        name, after = split_kpi_name(words[1:], known)
        scope, where = 0, "company-wide"
        if after:
            dept = find_department(s, team_id=team_id, name=" ".join(after))
            if dept is None:
                raise UsageError(
                    f"There is no department named *{escape(' '.join(after))}*.",
                    usage=LINK_USAGE,
                )
            scope, where = dept.id, dept.name
        own = department_by_id(s, team_id=team_id, department_id=behavior.department_id)
        require_head(
            s,
            **caller.as_user(s),
            department=own,
            action=f"link B-{behavior.number} to a KPI",
        )
        link_behavior(
            s,
            team_id=team_id,
            actor_id=caller.user_id,
            behavior=behavior,
            kpi_name=name,
            scope=scope,
            known_names=known,
        )
    reply(
        respond,
        f":link: *B-{behavior.number}* is now compared with `{name}` ({escape(where)}). "
        f"`/behavior show B-{behavior.number}` shows how they move together.",
    )


def show_from_text(
    deps, team_id: str, client, respond: CommandAnswer, command: dict, rest: str
) -> None:
    ref = rest.strip()
    if not ref or " " in ref:
        raise UsageError("Say which behavior, e.g. `B-5`.", usage=SHOW_USAGE)
    today = datetime.now(UTC).date()
    with deps.session() as s:
        behavior = get_behavior(s, team_id=team_id, ref=ref)
        dept = department_by_id(s, team_id=team_id, department_id=behavior.department_id)
        found = correlate(s, team_id=team_id, behaviors=[behavior], today=today)
        scope_name = None
        if found and found[0].link.scope:
            scope_name = department_by_id(
                s, team_id=team_id, department_id=found[0].link.scope
            ).name
    blocks = [
        header(f"B-{behavior.number} {behavior.description}"),
        context(f"{escape(dept.name)} · weekly target {behavior.weekly_target or 'none'}"),
    ]
    if not found:
        blocks.append(
            section(
                "This behavior is not compared with any KPI yet. Link one with "
                f"`/behavior link B-{behavior.number} nps`, or give its objective a KPI-bound "
                "key result."
            )
        )
        respond(text=f"B-{behavior.number}", blocks=as_dicts(blocks), response_type="ephemeral")
        return
    bc = found[0]
    where = escape(scope_name) if scope_name else "company-wide"
    how = "linked" if bc.link.explicit else "through its objective's KPI-bound key result"
    blocks.append(
        section(
            f"*Against `{escape(bc.link.kpi_name)}`* ({where}, {how}), weekly over the last "
            f"year:\n{correlation_text(bc.result)}"
        )
    )
    note = None
    if bc.counts and bc.kpi:
        respond.acknowledge()  # drawing and uploading the chart take longer than a read
        note = _chart(client, command, bc)
    if note:
        blocks.append(context(note))
    blocks.append(context(CAUTION))
    respond(text=f"B-{behavior.number}", blocks=as_dicts(blocks), response_type="ephemeral")


def _chart(client, command: dict, bc) -> str | None:
    from slackapp.charts import kpi_trend_png
    from slackapp.listeners.kpi import _share_chart

    lag = bc.result.lag or 0
    b = bc.link.behavior
    shifted = sorted((week - timedelta(weeks=lag), v) for week, v in bc.kpi.items())
    label = bc.link.kpi_name + (f" ({lag} weeks later)" if lag else "")
    png = kpi_trend_png(
        {f"B-{b.number} logged per week": sorted(bc.counts.items()), label: shifted},
        f"B-{b.number} against {bc.link.kpi_name}",
    )
    try:
        return _share_chart(
            client,
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            png=png,
            name=f"{bc.link.kpi_name}-vs-B-{b.number}",
        )
    except SlackApiError as exc:
        log.warning("behavior chart upload failed: %s", exc.response.get("error"))
        return f"The chart could not be uploaded ({exc.response.get('error')})."
