"""App Home view: one views.publish, at most 100 blocks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.views import View

from slackapp.blocks.checkin_form import CheckinAction
from slackapp.blocks.commitments import commitment_line
from slackapp.blocks.common import (
    VIEW_BLOCKS_MAX,
    context,
    cut,
    divider,
    escape,
    header,
    progress_bar,
    section,
)
from slackapp.blocks.insights import away_text
from slackapp.blocks.kpi import change_text
from slackapp.blocks.objectives import STATUS_EMOJI, kr_line, objective_summary
from storage.behaviors import BehaviorProgress
from storage.home import HomeData
from storage.kpi_values import LatestValue
from storage.numbers import format_number
from storage.objectives import due_for_checkin

MAX_KRS = 15
MAX_KPIS = 12
MAX_COMPANY = 5
MAX_DEPARTMENTS_SHOWN = 12
MAX_BEHAVIOR_DEPARTMENTS = 3
MAX_BEHAVIORS = 10


class HomeAction(StrEnum):
    LOG_BEHAVIOR = "home_behavior_log"
    NEW_OBJECTIVE = "home_new_objective"


NEW_OBJECTIVE_HINT = (
    "Objectives are created by department heads and admins: ask your department head to add one."
)


def company_section(data: HomeData, now: datetime) -> list[Block]:
    """This quarter's company objectives, each with its contributing departments' progress."""
    if not data.company:
        return []
    blocks: list[Block] = [divider(), header("Company objectives")]
    tree, names = data.tree, data.department_names
    for c in data.company[:MAX_COMPANY]:
        node = tree.nodes[c.id]
        st = tree.status(c.id, now)
        depts = sorted(c.departments, key=lambda d: d[1])
        shown = [
            f"{escape(names.get(d, '?'))} `{progress_bar(p, 5)}` {p:.0%}"
            for d, p in depts[:MAX_DEPARTMENTS_SHOWN]
        ]
        more = (
            f" · +{len(depts) - MAX_DEPARTMENTS_SHOWN} more"
            if len(depts) > MAX_DEPARTMENTS_SHOWN
            else ""
        )
        contributing = " · ".join(shown) + more if shown else "_Nothing contributes yet._"
        blocks.append(
            section(
                cut(
                    f"*O-{node.number}* {escape(cut(node.title, 150))} · "
                    f"`{progress_bar(c.progress)}` {c.progress:.0%} {STATUS_EMOJI[st]} {st}\n"
                    f"{contributing}",
                    3000,
                )
            )
        )
    if len(data.company) > MAX_COMPANY:
        blocks.append(context(f"…and {len(data.company) - MAX_COMPANY} more: `/okr tree`."))
    return blocks


def commitments_section(data: HomeData, today: date) -> list[Block]:
    """What the person owes: their own commitments, and asks their department has not answered."""
    if not data.commitments_owed:
        return []
    blocks: list[Block] = [divider(), header("Commitments you owe")]
    for c in data.commitments_owed:
        blocks.append(section(cut(commitment_line(c, data.department_names, today), 3000)))
    if data.more_commitments:
        blocks.append(context(f"…and {data.more_commitments} more: `/okr asks mine`."))
    return blocks


def behavior_line(p: BehaviorProgress) -> str:
    label = f"*B-{p.behavior.number}* {escape(cut(p.behavior.description, 150))}"
    if p.target > 0:
        return f"{label}\n`{progress_bar(p.share)}` {p.logged}/{p.target} this week"
    return f"{label}\n{p.logged} logged this week"


def behaviors_section(data: HomeData) -> list[Block]:
    """This week's behaviors of the person's departments, each with a Log button."""
    if not data.behaviors:
        return []
    blocks: list[Block] = [divider(), header("Behaviors this week")]
    shown = 0
    for dept, progress in data.behaviors[:MAX_BEHAVIOR_DEPARTMENTS]:
        if shown >= MAX_BEHAVIORS:
            break
        blocks.append(context(f"*{escape(cut(dept.name, 150))}*"))
        for p in progress[: MAX_BEHAVIORS - shown]:
            shown += 1
            blocks.append(
                section(
                    behavior_line(p),
                    accessory=ButtonElement(
                        text="Log",
                        action_id=HomeAction.LOG_BEHAVIOR,
                        value=str(p.behavior.number),
                    ),
                )
            )
    total = sum(len(p) for _, p in data.behaviors)
    if total > shown:
        blocks.append(context(f"…and {total - shown} more: `/behavior list`."))
    return blocks


def kpi_line(latest: LatestValue) -> str:
    """`*nps* 42 pts (Nov 30) · ▲ +3 pts since Nov 23`; a change the wrong way for the KPI is
    marked."""
    return (
        f"*{escape(latest.kpi_name)}* {format_number(latest.value, latest.unit)} "
        f"({latest.day:%b %d}) · {change_text(latest)}"
    )


def _top(
    data: HomeData, extra_buttons: list[ButtonElement], may_create_objectives: bool
) -> list[Block]:
    """ "Away until …" first, then the title and the main buttons."""
    blocks: list[Block] = []
    if data.away_until is not None:  # first thing they see while away
        blocks.append(
            section(
                f"{away_text(data.away_until)} — no check-in reminders until then. "
                "`/checkin back` ends it early."
            )
        )
    buttons = [ButtonElement(text="Check in", action_id=CheckinAction.OPEN, style="primary")]
    if may_create_objectives:
        buttons.append(ButtonElement(text="New objective", action_id=HomeAction.NEW_OBJECTIVE))
    blocks += [
        header("Loyalty OKRs"),
        ActionsBlock(block_id="home_actions", elements=[*buttons, *extra_buttons]),
    ]
    if not may_create_objectives:
        blocks.append(context(NEW_OBJECTIVE_HINT))
    return blocks


def key_results_section(data: HomeData, now: datetime) -> list[Block]:
    """The person's own key results, each with its Check in button."""
    blocks: list[Block] = [divider(), header("Your key results")]
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
                    text="Check in", action_id=CheckinAction.OPEN, value=str(kr.number)
                ),
            )
        )
    if len(data.key_results) > MAX_KRS:
        blocks.append(context(f"…and {len(data.key_results) - MAX_KRS} more: `/okr list me`."))
    return blocks


def department_objectives_section(data: HomeData, now: datetime) -> list[Block]:
    blocks: list[Block] = [divider(), header("Your department's objectives")]
    if not data.department_objectives:
        blocks.append(section("No active objectives in your departments."))
    for view in data.department_objectives:
        blocks.append(section(objective_summary(view, now)))
    if data.more_objectives:
        blocks.append(context(f"…and {data.more_objectives} more: `/okr list me`."))
    return blocks


def kpis_and_kudos_section(data: HomeData) -> list[Block]:
    blocks: list[Block] = [divider(), header("Company KPIs")]
    if not data.kpis:
        blocks.append(section("No KPI values yet. They arrive from the KPI sheet (`/kpi`)."))
    else:
        lines = [kpi_line(latest) for latest in data.kpis[:MAX_KPIS]]
        blocks.append(section(cut("\n".join(lines), 3000)))
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
    return blocks


def home_view(
    data: HomeData,
    *,
    user_id: str,
    extra_buttons: list[ButtonElement] | None = None,
    extra_sections: list[Block] | None = None,
    now: datetime | None = None,
    may_create_objectives: bool = True,
) -> View:
    """`may_create_objectives`: heads and admins get the New objective button, others a hint
    saying whom to ask."""
    now = now or datetime.now(UTC)
    blocks = [
        *_top(data, extra_buttons or [], may_create_objectives),
        *key_results_section(data, now),
        *commitments_section(data, now.date()),
        *company_section(data, now),
        *department_objectives_section(data, now),
        *behaviors_section(data),
        *kpis_and_kudos_section(data),
        *(extra_sections or []),
    ]
    if len(blocks) > VIEW_BLOCKS_MAX:
        blocks = blocks[: VIEW_BLOCKS_MAX - 1] + [context("More is available with `/okr list me`.")]
    return View(type="home", blocks=blocks)
