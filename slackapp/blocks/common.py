"""Shared Block Kit helpers: safe text, cutting to Slack's limits, error replies."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from slackapp.blocks.block_json import block_json

SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 100
PLAIN_INPUT_LABEL_MAX = 2000
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000


def cut(text: str | None, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis."""
    text = text or ""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def escape(text: str | None) -> str:
    """Make user text literal in mrkdwn: no pings (<!channel>, <@U…>), no links."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str | None, limit: int = 500) -> str:
    body = escape(cut((text or "").strip() or "(empty)", limit))
    return "\n".join("> " + line for line in body.splitlines() or [""])


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=cut(text, SECTION_TEXT_MAX))


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> PlainTextObject:
    return PlainTextObject(text=cut(text, limit), emoji=True)


def section(text: str, **kwargs) -> SectionBlock:
    return SectionBlock(text=md(text), **kwargs)


def line_sections(title: str | None, lines: list[str]) -> list[Block]:
    """Pack lines into as many sections as needed to stay within 3000 characters each."""
    blocks: list[Block] = []
    # The section being filled, as its lines and its length once joined (0: nothing yet).
    parts = [f"*{title}*"] if title else []
    size = len(parts[0]) if parts else 0
    for line in lines:
        line = cut(line, SECTION_TEXT_MAX - 10)
        if not size:
            parts, size = [line], len(line)
        elif size + 1 + len(line) > SECTION_TEXT_MAX:
            blocks.append(section("\n".join(parts)))
            parts, size = [line], len(line)
        else:
            parts.append(line)
            size += 1 + len(line)
    if size:
        blocks.append(section("\n".join(parts)))
    return blocks


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_MAX))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def divider() -> DividerBlock:
    return DividerBlock()


def progress_bar(share: float, width: int = 10) -> str:
    """A bar of `width` cells for a 0..1 share, e.g. ██████░░░░ for 0.6."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def as_dicts(blocks: list[Block]) -> list[dict]:
    return [block_json(b) for b in blocks]


def error_reply(input_text: str, message: str, usage: str | None = None) -> list[dict]:
    """Ephemeral reply to bad input: quote it, say what is wrong, show correct usage."""
    lines = [f":warning: {message}"]
    if usage:
        lines.append(f"*Usage:* {usage}")
    blocks = [section("\n".join(lines))]
    if input_text is not None:
        blocks.insert(0, context(f"You wrote: `{escape(cut(input_text, 500)) or ' '}`"))
    return as_dicts(blocks)


def modal(
    title: str,
    blocks: list[Block],
    *,
    callback_id: str | None = None,
    submit: str | None = None,
    close: str | None = None,
    private_metadata: str | None = None,
) -> View:
    """Every modal the app opens. A form (with `submit`) closes with Cancel, a notice with
    Close. The title is cut to Slack's 24 characters; private_metadata over Slack's 3,000 is a
    bug here, never silently cut (a cut JSON document would not parse)."""
    if private_metadata is not None and len(private_metadata) > PRIVATE_METADATA_MAX:
        raise ValueError(
            f"private_metadata is {len(private_metadata)} characters; Slack keeps "
            f"{PRIVATE_METADATA_MAX}"
        )
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, MODAL_TITLE_MAX),
        submit=plain(submit, MODAL_BUTTON_MAX) if submit else None,
        close=plain(close or ("Cancel" if submit else "Close"), MODAL_BUTTON_MAX),
        private_metadata=private_metadata,
        blocks=blocks,
    )


def notice_modal(title: str, text: str) -> View:
    """A modal that only says something."""
    return modal(title, [section(text)])


def paging_buttons(page: int, pages: int, scope_value: str, *, prev_id: str, next_id: str) -> list:
    """‹ Previous / Next › under a paged reply (none on a single page); each button's value is
    `scope|page`, what the listener needs to draw that page again."""
    buttons = []
    if page > 1:
        buttons.append(
            ButtonElement(text="‹ Previous", action_id=prev_id, value=f"{scope_value}|{page - 1}")
        )
    if page < pages:
        buttons.append(
            ButtonElement(text="Next ›", action_id=next_id, value=f"{scope_value}|{page + 1}")
        )
    return [ActionsBlock(elements=buttons)] if buttons else []
