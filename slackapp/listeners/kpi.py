"""`/kpi` (latest values), `/kpi <name>` (trend + PNG chart) and `/okr bind|unbind`."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, escape
from slackapp.blocks.kpi import kpi_detail, kpi_overview
from slackapp.blocks.share import with_share_button
from slackapp.charts import kpi_trend_png
from slackapp.command_answer import CommandAnswer
from slackapp.commands import CommandContext
from slackapp.context import Deps
from slackapp.listeners import kpi_targets
from slackapp.replies import UsageError, guarded, reply
from slackapp.roles import Caller
from slackapp.slack_upload import upload_png
from storage import kpi_values
from storage.departments import department_by_id
from storage.errors import DomainError
from storage.guardrails import guardrails
from storage.kpis import header_key, kpi_names
from storage.numbers import format_number
from storage.teams import team_kpi_spreadsheet

log = logging.getLogger(__name__)

USAGE = (
    "`/kpi` — every KPI's latest value · `/kpi nps` — one KPI's trend with a chart · "
    "`/kpi target nps above 40 [department]` — a guardrail (`off` removes it)"
)
CHART_DAYS = 180
# Errors meaning "the bot may not post in this channel": the chart goes to the user's DM.
CANNOT_POST = {
    "not_in_channel",
    "channel_not_found",
    "is_archived",
    "restricted_action",
    "access_denied",
}


def _sync_state(session, settings, team_id):
    last = kpi_values.last_run(session, team_id=team_id)
    last_ok = kpi_values.last_run(session, team_id=team_id, ok=True)
    stale = kpi_values.is_stale(
        last_ok.finished_at if last_ok else None, cron=settings.kpi_sync_cron
    )
    return last, last_ok, stale


def _share_chart(client, *, channel_id: str, user_id: str, png: bytes, name: str) -> str:
    """Upload to the command's channel; if the bot can't post there, to the user's DM."""
    kwargs = dict(png=png, filename=f"kpi-{name}.png", title=f"KPI {name} trend")
    try:
        upload_png(client, channel_id=channel_id, **kwargs)
        return "Chart posted in this channel."
    except SlackApiError as exc:
        if exc.response.get("error") not in CANNOT_POST:
            raise
    dm = client.conversations_open(users=user_id)["channel"]["id"]
    upload_png(client, channel_id=dm, **kwargs)
    return "I can't post in this channel, so I sent you the chart in a direct message."


def respond_kpi(
    deps: Deps, caller: Caller, client, respond: CommandAnswer, command, *, team_id: str
) -> None:
    text = (command.get("text") or "").strip()
    if text and text.split()[0].lower() == "target":
        kpi_targets.target_from_text(deps, caller, respond, text.partition(" ")[2], team_id=team_id)
        return
    with deps.session() as s:
        last, last_ok, stale = _sync_state(s, deps.settings, team_id)
        if not text:
            values = kpi_values.latest_values(s, team_id=team_id)
            guards = {(g.kpi_name, g.scope): g for g in guardrails(s, team_id=team_id)}
            blocks = kpi_overview(
                values,
                last=last,
                last_ok=last_ok,
                stale=stale,
                guards=guards,
                sheet_connected=team_kpi_spreadsheet(
                    s,
                    team_id=team_id,
                    multi_workspace=deps.settings.oauth_enabled,
                    configured=deps.settings.kpi_spreadsheet,
                )
                is not None,
                sheet_set_in_slack=deps.settings.oauth_enabled,
            )
            respond(text="Loyalty KPIs", blocks=as_dicts(blocks), response_type="ephemeral")
            return
        name, values, series = _named_kpi(s, team_id, text)
    note = None
    if values:
        respond.acknowledge()  # drawing and uploading the chart take longer than a read
        png = kpi_trend_png(series, f"{name} — last {CHART_DAYS} days")
        try:
            note = _share_chart(
                client,
                channel_id=command["channel_id"],
                user_id=command["user_id"],
                png=png,
                name=name,
            )
        except SlackApiError as exc:
            log.warning("KPI chart upload failed: %s", exc.response.get("error"))
            note = f"The chart could not be uploaded ({exc.response.get('error')})."
    blocks = kpi_detail(
        name, values, series, last=last, last_ok=last_ok, stale=stale, chart_note=note
    )
    respond(
        text=f"KPI {name}",
        blocks=with_share_button(as_dicts(blocks), "kpi", name),
        response_type="ephemeral",
    )


def _named_kpi(s, team_id: str, text: str):
    """One KPI's name, latest values and chart series; DomainError for a name not known here."""
    name = header_key(text)
    known = kpi_names(s, team_id=team_id)
    if name not in known:
        raise DomainError(f"`{text}` is not a KPI here. Known KPIs: {', '.join(known)}.")
    values = kpi_values.latest_values(s, team_id=team_id, kpi_name=name)
    since = (max(v.day for v in values) - timedelta(days=CHART_DAYS)) if values else None
    series = kpi_values.series(s, team_id=team_id, kpi_name=name, since=since)
    return name, values, series


def kpi_content(deps: Deps, text: str, *, team_id: str) -> tuple[str, list[dict]]:
    """`/kpi <name>`'s text and blocks, without the chart upload (what Share posts)."""
    with deps.session() as s:
        last, last_ok, stale = _sync_state(s, deps.settings, team_id)
        name, values, series = _named_kpi(s, team_id, text)
    blocks = kpi_detail(
        name, values, series, last=last, last_ok=last_ok, stale=stale, chart_note=None
    )
    return f"KPI {name}", as_dicts(blocks)


def handle_kpi(answer: CommandAnswer, command, deps: Deps, caller: Caller, team_id: str, client):
    text = (command.get("text") or "").strip()
    usage = kpi_targets.USAGE if text.lower().startswith("target") else USAGE
    with answer:
        guarded(
            answer,
            f"/kpi {text}".strip(),
            usage,
            lambda: respond_kpi(deps, caller, client, answer, command, team_id=team_id),
        )


def register(app: App) -> None:
    app.command("/kpi")(handle_kpi)


BIND_USAGE = "`/okr bind KR-34 nps [department|company|<department name>]` · `/okr unbind KR-34`"


def bind_from_text(ctx: CommandContext, rest: str) -> None:
    """`/okr bind KR-34 nps [department|company|<department>]` (default: company-wide)."""
    words = rest.split()
    if len(words) < 2:
        raise UsageError("Say which key result and which KPI.", usage=BIND_USAGE)
    ref = words[0]
    deps, team_id = ctx.deps, ctx.team_id
    with deps.session() as s:
        known = kpi_names(s, team_id=team_id)
        # KPI names may be typed with spaces ("churn rate"): take the longest known prefix.
        name, scope_words = header_key(words[1]), words[2:]
        for n in range(len(words) - 1, 1, -1):
            if header_key(" ".join(words[1 : 1 + n])) in known:
                name, scope_words = header_key(" ".join(words[1 : 1 + n])), words[1 + n :]
                break
        kr = kpi_values.bind_key_result(
            s,
            **ctx.caller.as_user(s),
            ref=ref,
            kpi_name=name,
            scope=" ".join(scope_words) or "company",
            known_names=known,
        )
        where = "company-wide"
        if kr.kpi_department_id:
            where = department_by_id(s, team_id=team_id, department_id=kr.kpi_department_id).name
        value = format_number(kr.current_value, kr.unit)
    reply(
        ctx.respond,
        f"KR-{kr.number} now takes its value from the KPI `{name}` ({escape(where)}); "
        f"current value {value}. Check-ins on it ask only for confidence and a note.",
    )


def unbind_from_text(ctx: CommandContext, rest: str) -> None:
    ref = rest.strip()
    if not ref or " " in ref:
        raise UsageError("Say which key result, e.g. `KR-34`.", usage=BIND_USAGE)
    with ctx.deps.session() as s:
        kr = kpi_values.unbind_key_result(s, **ctx.caller.as_user(s), ref=ref)
    reply(ctx.respond, f"KR-{kr.number} is no longer bound to a KPI; check in with a value again.")
