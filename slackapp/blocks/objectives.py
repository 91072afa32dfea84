"""Block Kit for objectives and key results: lists, detail, progress bars."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from slack_sdk.models.blocks import Block

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    context,
    cut,
    divider,
    escape,
    header,
    paging_buttons,
    progress_bar,
    section,
)
from slackapp.blocks.insights import kr_flags
from storage.kr_insights import KrInsight
from storage.models import CheckIn, KeyResult, ObjectiveStatus
from storage.numbers import format_number
from storage.objectives import ObjectiveView, kr_progress
from storage.paging import pages_for
from storage.progress import AT_RISK, OFF_TRACK, ON_TRACK, status

STATUS_EMOJI = {
    ON_TRACK: ":large_green_circle:",
    AT_RISK: ":large_yellow_circle:",
    OFF_TRACK: ":red_circle:",
}
PAGE_SIZE = 15


class ListAction(StrEnum):
    """`/okr list`'s paging buttons."""

    PREV = "okr_list_prev"
    NEXT = "okr_list_next"


def kr_status(kr: KeyResult, quarter: str, now: datetime | None = None) -> str:
    return status(
        baseline=kr.baseline,
        target=kr.target,
        current=kr.current_value,
        confidence=kr.last_confidence,
        quarter=quarter,
        now=now or datetime.now(UTC),
    )


def kr_line(
    kr: KeyResult,
    quarter: str,
    now: datetime | None = None,
    insight: KrInsight | None = None,
    *,
    with_forecast: bool = True,
) -> str:
    share = kr_progress(kr)
    st = insight.status if insight else kr_status(kr, quarter, now)
    kpi = f" · KPI `{escape(kr.kpi_name)}`" if kr.kpi_name else ""
    flags = kr_flags(kr, insight, with_forecast=with_forecast)
    return (
        f"*KR-{kr.number}* {escape(cut(kr.title, 120))}{kpi}\n"
        f"`{progress_bar(share)}` {share:.0%} · {format_number(kr.current_value, kr.unit)} "
        f"of {format_number(kr.target, kr.unit)} (from {format_number(kr.baseline, kr.unit)}) · "
        f"{STATUS_EMOJI[st]} {st} · <@{kr.owner_id}>" + (f"\n{flags}" if flags else "")
    )


def objective_summary(
    view: ObjectiveView, now: datetime | None = None, insights: dict | None = None
) -> str:
    o = view.objective
    head = (
        f"*O-{o.number}* {escape(cut(o.title, 150))}\n"
        f"{escape(department_name(view))} · {o.quarter} · <@{o.owner_id}> · "
        f"{progress_text(view, now)}"
    )
    if o.status != ObjectiveStatus.ACTIVE:
        score = f" · score {o.final_score:.2f}" if o.final_score is not None else ""
        head += f" · _{o.status.replace('_', ' ')}{score}_"
    insights = insights or {}
    krs = [
        f"• {kr_line(kr, o.quarter, now, insights.get(kr.id), with_forecast=False)}"
        for kr in view.key_results
    ]
    return cut("\n".join([head, *krs]), 3000)


def progress_text(view: ObjectiveView, now: datetime | None = None) -> str:
    """Bar, rolled-up percentage and, while active, the status that progress gives."""
    text = f"`{progress_bar(view.progress)}` {view.progress:.0%}"
    if view.objective.status == ObjectiveStatus.ACTIVE and view.tree is not None:
        st = view.tree.status(view.objective.id, now or datetime.now(UTC))
        text += f" {STATUS_EMOJI[st]} {st}"
    return text


def department_name(view: ObjectiveView) -> str:
    return view.department.name if view.department else "Company-wide"


def alignment_lines(view: ObjectiveView, limit: int = 20) -> str:
    """What the objective contributes to (a closed parent says so) and what contributes to it."""
    lines = []
    for direction, label in (("parents", "Contributes to"), ("children", "Contributions")):
        linked = view.linked(direction)
        if not linked:
            continue
        items = []
        for node, weight in linked[:limit]:
            state = (
                f", {node.status.replace('_', ' ')}"
                if node.status != ObjectiveStatus.ACTIVE
                else ""
            )
            share = view.tree.progress(node.id)
            items.append(
                f"*O-{node.number}* {escape(cut(node.title, 60))} ({share:.0%}, weight "
                f"{format_number(weight)}{state})"
            )
        more = f" and {len(linked) - limit} more" if len(linked) > limit else ""
        lines.append(f"*{label}:* " + " · ".join(items) + more)
    if view.tree is not None and view.linked("children"):
        lines.append(
            f"_Rolled up from its own key results ({view.own_progress:.0%}) and the "
            "contributing objectives, by weight._"
        )
    return "\n".join(lines)


def page_count(total: int) -> int:
    return pages_for(total, PAGE_SIZE)


def objective_list(
    chunk: list[ObjectiveView],
    *,
    total: int,
    title: str,
    page: int = 1,
    scope_value: str = "me",
    insights: dict | None = None,
) -> list[Block]:
    """One page of objectives (already sliced), within the 50-block limit, with paging buttons."""
    pages = page_count(total)
    blocks: list[Block] = [header(title)]
    if not chunk:
        blocks.append(section("No active objectives here yet. Create one with `/okr new`."))
        return blocks
    for v in chunk:
        blocks.append(section(objective_summary(v, insights=insights)))
    blocks.append(context(f"Page {page} of {pages} · {total} objective{'s' if total != 1 else ''}"))
    blocks += paging_buttons(
        page, pages, scope_value, prev_id=ListAction.PREV, next_id=ListAction.NEXT
    )
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    return blocks


def latest_lines(kr: KeyResult, recent: list[CheckIn], comments: list | None = None) -> str:
    """The key result's latest note, its open blocker and the newest comments on it."""
    lines = []
    latest = recent[0] if recent else None
    if latest is not None and latest.note:
        lines.append(f"*Latest note:* {escape(cut(latest.note, 500))}")
    if latest is not None and latest.blocker:
        lines.append(
            f":construction: *Blocked on:* {escape(cut(latest.blocker, 500))} "
            f"(since {latest.created_at:%Y-%m-%d})"
        )
    for c in comments or []:
        lines.append(
            f":speech_balloon: *Comment* {c.created_at:%Y-%m-%d} <@{c.author_id}>: "
            f"{escape(cut(c.text, 600))}"
        )
    return cut("\n".join(lines), 3000)


def objective_detail(
    view: ObjectiveView,
    history: dict[int, list[CheckIn]],
    insights: dict | None = None,
    comments: dict[int, list] | None = None,
) -> list[Block]:
    o = view.objective
    blocks: list[Block] = [
        header(f"O-{o.number} {o.title}"),
        section(
            f"*Department:* {escape(department_name(view))}   *Quarter:* {o.quarter}   "
            f"*Owner:* <@{o.owner_id}>   *Due:* {o.due_date.isoformat()}\n"
            f"*Status:* {o.status.replace('_', ' ')}   *Progress:* {progress_text(view)}"
            + (f"   *Score:* {o.final_score:.2f}" if o.final_score is not None else "")
        ),
    ]
    if o.description:
        blocks.append(section(escape(cut(o.description, 2900))))
    alignment = alignment_lines(view)
    if alignment:
        blocks.append(section(cut(alignment, 3000)))
    for kr in view.key_results:
        blocks.append(divider())
        blocks.append(section(kr_line(kr, o.quarter, insight=(insights or {}).get(kr.id))))
        recent = history.get(kr.id, [])[:3]
        latest = latest_lines(kr, recent, (comments or {}).get(kr.id))
        if latest:
            blocks.append(section(latest))
        if recent:
            lines = [
                f"{c.created_at:%Y-%m-%d} <@{c.author_id}>: "
                f"{format_number(c.value, kr.unit) if c.value is not None else 'KPI'} · "
                f"{c.confidence}/10" + (f" — {escape(cut(c.note, 200))}" if c.note else "")
                for c in recent
            ]
            blocks.append(context("\n".join(lines)))
    return blocks[:MESSAGE_BLOCKS_MAX]


FILTERED_MAX = 40  # key result lines in one filtered list


def filtered_list(
    found: list[tuple[ObjectiveView, KeyResult]],
    *,
    title: str,
    insights: dict,
    blockers: dict[int, CheckIn],
) -> list[Block]:
    """`/okr list at-risk|off-track|stale|blocked`: each key result with its objective and,
    when blocked, what on."""
    blocks: list[Block] = [header(title)]
    if not found:
        blocks.append(section("_Nothing here right now._ :tada:"))
        return blocks
    lines = []
    for view, kr in found[:FILTERED_MAX]:
        o = view.objective
        line = (
            f"{kr_line(kr, o.quarter, insight=insights.get(kr.id), with_forecast=False)}\n"
            f"      in *O-{o.number}* {escape(cut(o.title, 80))} · {escape(department_name(view))}"
        )
        blocker = blockers.get(kr.id)
        if blocker is not None:
            line += f"\n      :construction: {escape(cut(blocker.blocker, 300))}"
        lines.append(line)
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(cut(line, 2900))
    if chunk:
        blocks.append(section("\n".join(chunk)))
    more = len(found) - FILTERED_MAX
    blocks.append(
        context(
            f"{len(found)} key result{'s' if len(found) != 1 else ''}"
            + (
                f"; the first {FILTERED_MAX} are shown — narrow it to a department."
                if more > 0
                else ""
            )
        )
    )
    return blocks[:MESSAGE_BLOCKS_MAX]
