"""Block Kit for `/kpi` and `/kpi <name>`."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    context,
    cut,
    divider,
    escape,
    header,
    section,
)
from slackapp.blocks.insights import guardrail_state_text
from storage.kpi_values import LatestValue
from storage.models import KpiGuardrail, KpiSyncRun
from storage.numbers import format_number

WARNING_CELLS_SHOWN = 5
TREND_POINTS_SHOWN = 8


def _when(ts: datetime | None) -> str:
    if ts is None:
        return "never"
    epoch = int(ts.timestamp())
    fallback = ts.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}>"


def change_text(v: LatestValue) -> str:
    if v.change is None:
        return "no value a week earlier"
    if v.change == 0:
        return f"unchanged since {v.previous_day:%b %d}"
    good = (v.change > 0) == (v.direction == "increase")
    arrow = ":arrow_up_small:" if v.change > 0 else ":arrow_down_small:"
    mark = "" if good else " :warning:"
    sign = "+" if v.change > 0 else "−"
    return (
        f"{arrow} {sign}{format_number(abs(v.change), v.unit)} since {v.previous_day:%b %d}{mark}"
    )


def value_line(v: LatestValue, guard: KpiGuardrail | None = None) -> str:
    where = escape(v.department) if v.department else "company-wide"
    line = f"• {where}: *{format_number(v.value, v.unit)}* ({v.day:%b %d}) · {change_text(v)}"
    if guard is not None:
        line += f" · {guardrail_state_text(guard)}"
    return line


def rejected_lines(report: str) -> list[str]:
    """The cells listed under "Rejected (N):" in a stored sync report."""
    out, inside = [], False
    for line in report.splitlines():
        if line.startswith("Rejected ("):
            inside = True
        elif inside and line.startswith("  ") and not line.strip().startswith("…"):
            out.append(line.strip())
        elif inside:
            break
    return out


def _sync_context(
    last: KpiSyncRun | None, last_ok: KpiSyncRun | None, *, stale: bool
) -> list[Block]:
    blocks: list[Block] = []
    ok_at = last_ok.finished_at if last_ok else None
    blocks.append(context(f"Last successful sync: {_when(ok_at)}"))
    warnings = []
    if stale:
        warnings.append(
            ":hourglass: These values may be stale: no successful sync for more than two sync periods."
        )
    if last is not None and not last.ok:
        warnings.append(f":x: The last sync failed: {escape(cut(last.error or '', 500))}")
    shown_run = last_ok if (last is not None and not last.ok) else last
    if shown_run is not None and shown_run.rejected:
        lines = rejected_lines(shown_run.report or "")
        rejected = lines[: min(shown_run.rejected, WARNING_CELLS_SHOWN)]
        text = f":warning: {shown_run.rejected} cell(s) in the sheet had invalid values in the last sync"
        if rejected:
            text += ":\n" + "\n".join(f"• {escape(cut(ln, 300))}" for ln in rejected)
        if shown_run.rejected > len(rejected):
            text += "\n…run `loyalty kpi sync` for the full report."
        warnings.append(text)
    for w in warnings:
        blocks.append(section(cut(w, SECTION_TEXT_MAX)))
    return blocks


NO_SHEET = (
    "No Google Sheet is connected, so there are no KPI values to show. To connect one, an admin "
    "shares the sheet with a Google service account and sets `KPI_SPREADSHEET` and "
    "`GOOGLE_SERVICE_ACCOUNT_FILE` where the app runs (README § KPIs from Google Sheets), then "
    "restarts it; values then sync every hour."
)


# With several workspaces each connects its own sheet in the setup form.
NO_WORKSPACE_SHEET = (
    "No Google Sheet is connected to this workspace, so there are no KPI values to show. To "
    "connect one, a workspace admin opens `/okr setup`, shares the sheet with the service "
    "account email shown there, and pastes the sheet's address under *KPI spreadsheet*; values "
    "then sync every hour."
)


def kpi_overview(
    values: list[LatestValue],
    *,
    last: KpiSyncRun | None,
    last_ok: KpiSyncRun | None,
    stale: bool,
    guards: dict | None = None,
    sheet_connected: bool = True,
    sheet_set_in_slack: bool = False,
) -> list[Block]:
    """`guards`: (kpi name, scope) → KpiGuardrail, shown as healthy/unhealthy.
    `sheet_set_in_slack`: the workspace connects its sheet in `/okr setup` (several
    workspaces), not through the server's settings."""
    guards = guards or {}
    blocks: list[Block] = [header("Loyalty KPIs")]
    if not sheet_connected and not values:
        return blocks + [section(NO_WORKSPACE_SHEET if sheet_set_in_slack else NO_SHEET)]
    if not values:
        blocks.append(
            section(
                "No KPI values yet. An admin sets the Google Sheet up (see the README) and the "
                "hourly sync fills this in; `loyalty kpi sync` runs one now."
            )
        )
    by_kpi: dict[str, list[LatestValue]] = {}
    for v in values:
        by_kpi.setdefault(v.kpi_name, []).append(v)
    room = MESSAGE_BLOCKS_MAX - 1 - 5  # header, and sync context + warnings at the end
    names = list(by_kpi)
    for name in names[:room]:
        lines = [f"*{escape(name)}*"] + [
            value_line(v, guards.get((v.kpi_name, v.scope))) for v in by_kpi[name]
        ]
        blocks.append(section(cut("\n".join(lines), SECTION_TEXT_MAX)))
    if len(names) > room:
        blocks.append(context(f"…and {len(names) - room} more KPIs: `/kpi <name>` shows any one."))
    blocks.extend(_sync_context(last, last_ok, stale=stale))
    return blocks[:MESSAGE_BLOCKS_MAX]


def kpi_detail(
    name: str,
    values: list[LatestValue],
    series: dict[str, list[tuple]],
    *,
    last: KpiSyncRun | None,
    last_ok: KpiSyncRun | None,
    stale: bool,
    chart_note: str | None,
) -> list[Block]:
    unit = values[0].unit if values else ""
    blocks: list[Block] = [header(f"KPI {name}")]
    if not values:
        blocks.append(section(f"No values for `{escape(name)}` yet."))
    room = MESSAGE_BLOCKS_MAX - 8
    for v in values[:room]:
        points = series.get(v.department or "company-wide", [])[-TREND_POINTS_SHOWN:]
        trend = " → ".join(format_number(p[1], unit) for p in points)
        lines = [value_line(v)]
        if len(points) > 1:
            lines.append(f"   trend ({points[0][0]:%b %d} – {points[-1][0]:%b %d}): {trend}")
        blocks.append(section(cut("\n".join(lines), SECTION_TEXT_MAX)))
    if chart_note:
        blocks.append(context(chart_note))
    blocks.append(divider())
    blocks.extend(_sync_context(last, last_ok, stale=stale))
    return blocks[:MESSAGE_BLOCKS_MAX]
