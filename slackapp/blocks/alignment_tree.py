"""Block Kit for `/okr tree`: company objectives, what contributes to them, "Not aligned yet".

A quarter of 500 departments has thousands of lines: they are paged (LINES_PER_PAGE a page,
packed into sections under the 3,000-character limit), with Previous/Next buttons. Links make a
graph, not a tree: an objective with several parents is shown in full once and as one "also
under" line elsewhere, so a tree has one line per top-level objective and per link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from slack_sdk.models.blocks import Block

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    context,
    cut,
    escape,
    header,
    paging_buttons,
    progress_bar,
    section,
)
from slackapp.blocks.objectives import STATUS_EMOJI
from storage.models import ObjectiveStatus
from storage.numbers import format_number
from storage.paging import pages_for
from storage.rollup import QuarterTree

LINES_PER_PAGE = 40
INDENT = "\u2003\u2003"  # em spaces survive Slack's whitespace trimming
MAX_INDENT = 6
COMPANY_WIDE = "Company-wide"


class TreeAction(StrEnum):
    PREV = "okr_tree_prev"
    NEXT = "okr_tree_next"


@dataclass(slots=True)
class TreeLine:
    depth: int  # -1: a heading
    oid: int | None = None
    weight: float | None = None  # the link's weight, under a parent
    heading: str = ""
    # A further appearance of an objective shown in full elsewhere in this tree: one line that
    # says under which parent (None: it is a top-level objective of the tree).
    again: bool = False
    full_under: int | None = None


def department_label(department_id: int | None, names: dict[int, str]) -> str:
    return COMPANY_WIDE if department_id is None else names.get(department_id, "?")


def node_line(tree: QuarterTree, oid: int, names: dict[int, str], now: datetime) -> str:
    n = tree.nodes[oid]
    share = tree.progress(oid)
    st = tree.status(oid, now)
    closed = f" · _{n.status.replace('_', ' ')}_" if n.status != ObjectiveStatus.ACTIVE else ""
    return (
        f"*O-{n.number}* {escape(cut(n.title, 80))} · {escape(department_label(n.department_id, names))}"
        f" · `{progress_bar(share)}` {share:.0%} {STATUS_EMOJI[st]} {st}{closed}"
    )


def indent(depth: int) -> str:
    """Indentation for a depth: past MAX_INDENT levels a chain would push its lines off the
    screen (and over the line length), so deeper levels keep that indent and say their depth."""
    if depth <= 0:
        return ""
    if depth <= MAX_INDENT:
        return INDENT * depth + "↳ "
    return INDENT * MAX_INDENT + f"↳ _level {depth}_ · "


def render_line(line: TreeLine, tree: QuarterTree, names: dict[int, str], now: datetime) -> str:
    if line.oid is None:
        return line.heading
    w = f" · weight {format_number(line.weight)}" if line.weight is not None else ""
    if line.again:
        n = tree.nodes[line.oid]
        where = (
            f"also under *O-{tree.nodes[line.full_under].number}*, shown in full there"
            if line.full_under is not None
            else "shown in full above"
        )
        return (
            f"{indent(line.depth)}*O-{n.number}* {escape(cut(n.title, 80))} · "
            f"{tree.progress(line.oid):.0%}{w} · {where}"
        )
    return indent(line.depth) + node_line(tree, line.oid, names, now) + w


def tree_lines(tree: QuarterTree, *, root: int | None = None) -> list[TreeLine]:
    """Depth-first from each root (children by number), each objective shown in full the first
    time it is met and as one "also under" line after that: one line per root and per link,
    however many paths the links make. An explicit stack, not recursion: a chain of links may
    be thousands deep. Only the page shown is rendered to text."""
    out: list[TreeLine] = []
    full_under: dict[int, int | None] = {}  # objective → the parent it is shown in full under
    nodes = tree.nodes

    def walk(start: int) -> None:
        stack: list[tuple[int, int, float | None, int | None]] = [(start, 0, None, None)]
        while stack:
            oid, depth, weight, parent = stack.pop()
            if oid in full_under:
                out.append(TreeLine(depth, oid, weight, again=True, full_under=full_under[oid]))
                continue
            full_under[oid] = parent
            out.append(TreeLine(depth, oid, weight))
            children = nodes[oid].children
            if len(children) > 1:
                # Pushed highest number first: the lowest is walked (and shown in full) first.
                children = sorted(children, key=lambda c: nodes[c[0]].number, reverse=True)
            for child, w in children:
                stack.append((child, depth + 1, w, oid))

    if root is not None:
        walk(root)
        return out
    company = tree.company_ids()
    if company:
        out.append(TreeLine(-1, heading="*Company objectives*"))
    for oid in company:
        walk(oid)
    unaligned = tree.unaligned_ids()
    if unaligned:
        out.append(TreeLine(-1, heading="*Not aligned yet*"))
    for oid in unaligned:
        walk(oid)
    return out


def page_count(lines: list[TreeLine]) -> int:
    return pages_for(len(lines), LINES_PER_PAGE)


def tree_page(
    lines: list[TreeLine],
    tree: QuarterTree,
    names: dict[int, str],
    *,
    title: str,
    page: int,
    scope_value: str,
    empty: str,
    now: datetime | None = None,
) -> list[Block]:
    """One page of the tree, within the message limits (blocks, section text)."""
    now = now or datetime.now(UTC)
    pages = page_count(lines)
    page = min(max(1, page), pages)
    blocks: list[Block] = [header(title)]
    if not lines:
        blocks.append(section(empty))
        return blocks
    chunk, size = [], 0
    for line in lines[(page - 1) * LINES_PER_PAGE : page * LINES_PER_PAGE]:
        text = cut(render_line(line, tree, names, now), 600)
        if chunk and size + len(text) + 1 > SECTION_TEXT_MAX:
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    shown = sum(1 for line in lines if line.oid is not None)
    blocks.append(context(f"Page {page} of {pages} · {shown} lines"))
    blocks += paging_buttons(
        page, pages, scope_value, prev_id=TreeAction.PREV, next_id=TreeAction.NEXT
    )
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    return blocks
