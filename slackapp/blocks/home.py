"""App Home view (spec §3): one views.publish, at most 100 blocks."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.views import View

from slackapp.blocks.common import VIEW_BLOCKS_MAX, context, cut, divider, escape, header, section
from slackapp.blocks.objectives import kr_line, objective_summary
from storage.home import HomeData
from storage.numbers import format_number
from storage.objectives import due_for_checkin

MAX_KRS = 15
MAX_KPIS = 12


def home_view(
    data: HomeData,
    *,
    user_id: str,
    extra_buttons: list[ButtonElement] | None = None,
    extra_sections: list[Block] | None = None,
    now: datetime | None = None,
) -> View:
    now = now or datetime.now(UTC)
    blocks: list[Block] = [
        header("Loyalty OKRs"),
        ActionsBlock(
            block_id="home_actions",
            elements=[
                ButtonElement(text="Check in", action_id="checkin_open", style="primary"),
                ButtonElement(text="New objective", action_id="home_new_objective"),
                *(extra_buttons or []),
            ],
        ),
        divider(),
        header("Your key results"),
    ]
    if not data.key_results:
        blocks.append(
            section("You don't own any active key results. Heads assign them in `/okr new`.")
        )
    for kr, obj in data.key_results[:MAX_KRS]:
        due = due_for_checkin(kr, now)
        flag = "\n:bell: *Check-in due*" if due else ""
        blocks.append(
            section(
                f"{kr_line(kr, obj.quarter, now)}\n_O-{obj.number} {escape(cut(obj.title, 100))}_{flag}",
                accessory=ButtonElement(
                    text="Check in", action_id="checkin_open", value=str(kr.number)
                ),
            )
        )
    if len(data.key_results) > MAX_KRS:
        blocks.append(context(f"…and {len(data.key_results) - MAX_KRS} more: `/okr list me`."))

    blocks += [divider(), header("Your department's objectives")]
    if not data.department_objectives:
        blocks.append(section("No active objectives in your departments."))
    for view in data.department_objectives:
        blocks.append(section(objective_summary(view, now)))
    if data.more_objectives:
        blocks.append(context(f"…and {data.more_objectives} more: `/okr list me`."))

    blocks += [divider(), header("Company KPIs")]
    if not data.kpis:
        blocks.append(section("No KPI values yet. They arrive from the KPI sheet (`/kpi`)."))
    else:
        lines = []
        for latest in data.kpis[:MAX_KPIS]:
            change = ""
            if latest.change is not None:
                delta = latest.change
                change = (
                    f" ({'+' if delta >= 0 else ''}{format_number(delta)} "
                    f"since {latest.previous_day:%b %d})"
                )
            lines.append(
                f"*{escape(latest.kpi_name)}* {format_number(latest.value)}{change} · {latest.day:%b %d}"
            )
        blocks.append(section("\n".join(lines)))

    blocks += [divider(), header("Recent kudos")]
    if not data.kudos:
        blocks.append(
            section("No kudos yet. Recognize someone with `/kudos @name what the customer said`.")
        )
    for rec, recipients in data.kudos:
        who = " ".join(f"<@{u}>" for u in recipients[:10])
        blocks.append(
            section(f":star: {who} — from <@{rec.giver_id}>\n{escape(cut(rec.text, 280))}")
        )
    for extra in extra_sections or []:
        blocks.append(extra)
    if len(blocks) > VIEW_BLOCKS_MAX:
        blocks = blocks[: VIEW_BLOCKS_MAX - 1] + [context("More is available with `/okr list me`.")]
    return View(type="home", blocks=blocks)
