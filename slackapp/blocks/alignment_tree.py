"""Block Kit for `/okr tree`: company objectives, what contributes to them, "Not aligned yet".

A quarter of 500 departments has thousands of lines: they are paged (LINES_PER_PAGE a page,
packed into sections under the 3,000-character limit), with Previous/Next buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    context,
    cut,
    escape,
    header,
    progress_bar,
    section,
)
from slackapp.blocks.objectives import STATUS_EMOJI
from storage.numbers import format_number
from storage.paging import pages_for
from storage.rollup import QuarterTree

LINES_PER_PAGE = 40
INDENT = "\u2003\u2003"  # em spaces survive Slack's whitespace trimming
COMPANY_WIDE = "Company-wide"
TREE_PREV, TREE_NEXT = "okr_tree_prev", "okr_tree_next"


@dataclass
class TreeLine:
    depth: int  # -1: a heading
    oid: int | None = None
    weight: float | None = None  # the link's weight, under a parent
    heading: str = ""


def department_label(department_id: int | None, names: dict[int, str]) -> str:
    return COMPANY_WIDE if department_id is None else names.get(department_id, "?")


def node_line(tree: QuarterTree, oid: int, names: dict[int, str], now: datetime) -> str:
    n = tree.nodes[oid]
    share = tree.progress(oid)
    st = tree.status(oid, now)
    closed = f" · _{n.status.replace('_', ' ')}_" if n.status != "active" else ""
    return (
        f"*O-{n.number}* {escape(cut(n.title, 80))} · {escape(department_label(n.department_id, names))}"
        f" · `{progress_bar(share)}` {share:.0%} {STATUS_EMOJI[st]} {st}{closed}"
    )


def render_line(line: TreeLine, tree: QuarterTree, names: dict[int, str], now: datetime) -> str:
    if line.oid is None:
        return line.heading
    prefix = INDENT * line.depth + ("↳ " if line.depth else "")
    w = f" · weight {format_number(line.weight)}" if line.weight is not None else ""
    return prefix + node_line(tree, line.oid, names, now) + w


def tree_lines(tree: QuarterTree, *, root: int | None = None) -> list[TreeLine]:
    """Depth-first: each root, then what contributes to it (indented, with the link weight);
    only the page shown is rendered to text."""
    out: list[TreeLine] = []

    def walk(oid: int, depth: int, weight: float | None, path: frozenset) -> None:
        out.append(TreeLine(depth, oid, weight))
        children = sorted(tree.nodes[oid].children, key=lambda c: tree.nodes[c[0]].number)
        for child, cw in children:
            if child not in path:
                walk(child, depth + 1, cw, path | {child})

    if root is not None:
        walk(root, 0, None, frozenset({root}))
        return out
    company = tree.company_ids()
    if company:
        out.append(TreeLine(-1, heading="*Company objectives*"))
    for oid in company:
        walk(oid, 0, None, frozenset({oid}))
    unaligned = tree.unaligned_ids()
    if unaligned:
        out.append(TreeLine(-1, heading="*Not aligned yet*"))
    for oid in unaligned:
        walk(oid, 0, None, frozenset({oid}))
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
    buttons = []
    if page > 1:
        buttons.append(
            ButtonElement(text="‹ Previous", action_id=TREE_PREV, value=f"{scope_value}|{page - 1}")
        )
    if page < pages:
        buttons.append(
            ButtonElement(text="Next ›", action_id=TREE_NEXT, value=f"{scope_value}|{page + 1}")
        )
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    return blocks
