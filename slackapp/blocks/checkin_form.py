"""The check-in form for all of a person's key results (one row each, in pages), and the Undo
buttons on check-in confirmations."""

from __future__ import annotations

import json
import math

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    VIEW_BLOCKS_MAX,
    context,
    cut,
    divider,
    escape,
    md,
    modal,
    plain,
)
from storage.models import KeyResult
from storage.numbers import format_number
from storage.objectives import kr_progress

FORM_CALLBACK_ID = "checkin_all_submit"
CHECKIN_UNDO_ACTION = "checkin_undo"
FIELDS = ("value", "confidence", "note", "blocker")
BLOCKS_PER_ROW = 6  # heading, value, confidence, note, blocker, divider
# Rows per page, leaving room for the page's own notice on top.
ROWS_PER_PAGE = (VIEW_BLOCKS_MAX - 2) // BLOCKS_PER_ROW


def row_block_id(number: int, field: str) -> str:
    """Same shape as the objective form's per-KR blocks, so domain errors `kr.<n>.<field>` map
    to it."""
    return f"kr{number}_{field}"


def page_count(total_rows: int) -> int:
    return max(1, math.ceil(total_rows / ROWS_PER_PAGE))


def _confidence_options() -> list[Option]:
    return [Option(value=str(i), text=f"{i}/10") for i in range(10, 0, -1)]


def _row_heading(kr: KeyResult) -> SectionBlock:
    title = f"*KR-{kr.number}* {escape(cut(kr.title, 200))}"
    if kr.kpi_name:
        now = (
            f"From the KPI `{escape(kr.kpi_name)}`: now {format_number(kr.current_value, kr.unit)} "
            f"of {format_number(kr.target, kr.unit)} — give a confidence, note or blocker only."
        )
    else:
        now = (
            f"Now {format_number(kr.current_value, kr.unit)} of "
            f"{format_number(kr.target, kr.unit)} ({kr_progress(kr):.0%})"
        )
    if kr.last_confidence:
        now += f" · last confidence {kr.last_confidence}/10"
    return SectionBlock(block_id=f"kr{kr.number}_about", text=md(f"{title}\n{now}"))


def _row_blocks(kr: KeyResult) -> list[Block]:
    n = kr.number
    blocks: list[Block] = [_row_heading(kr)]
    if not kr.kpi_name:
        blocks.append(
            InputBlock(
                block_id=row_block_id(n, "value"),
                label=plain(f"KR-{n} new value" + (f" ({kr.unit})" if kr.unit else ""), 2000),
                optional=True,
                element=PlainTextInputElement(
                    action_id="value",
                    max_length=40,
                    placeholder=plain("e.g. 45, 1,234.5 or 12%", 150),
                ),
            )
        )
    blocks += [
        InputBlock(
            block_id=row_block_id(n, "confidence"),
            label=plain(f"KR-{n} confidence", 2000),
            optional=True,
            hint=plain("1–3 off track · 4–6 at risk · 7–10 on track", 2000),
            element=StaticSelectElement(action_id="value", options=_confidence_options()),
        ),
        InputBlock(
            block_id=row_block_id(n, "note"),
            label=plain(f"KR-{n} note", 2000),
            optional=True,
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
        ),
        InputBlock(
            block_id=row_block_id(n, "blocker"),
            label=plain(f"KR-{n} blocked on / need help from", 2000),
            optional=True,
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
        ),
        divider(),
    ]
    return blocks


def checkin_form(krs: list[KeyResult], page: int = 0, saved_note: str = "") -> View:
    """Page `page` (from 0) of the form for `krs`; pages after the first are reached by saving
    the one before ("Save & next")."""
    pages = page_count(len(krs))
    page = min(max(page, 0), pages - 1)
    rows = krs[page * ROWS_PER_PAGE : (page + 1) * ROWS_PER_PAGE]
    intro = (
        "Fill in the key results you have news on; a row left empty records nothing. "
        "Leave the value blank to keep it and update only the confidence, note or blocker."
    )
    if pages > 1:
        intro = f"*Page {page + 1} of {pages}* — saving a page saves its rows. {intro}"
    if saved_note:
        intro = f"{saved_note}\n{intro}"
    blocks: list[Block] = [context(intro)]
    for kr in rows:
        blocks += _row_blocks(kr)
    last = page == pages - 1
    return modal(
        "Check in" if pages == 1 else f"Check in {page + 1}/{pages}",
        callback_id=FORM_CALLBACK_ID,
        submit="Save" if last else "Save & next",
        private_metadata=json.dumps({"page": page}),
        blocks=blocks[:VIEW_BLOCKS_MAX],
    )


def undo_button(checkin_id: int) -> ButtonElement:
    return ButtonElement(text="Undo", action_id=CHECKIN_UNDO_ACTION, value=str(checkin_id))


def confirmation_blocks(lines: list[tuple[str, int]]) -> list[Block]:
    """One section per recorded check-in (its text, its id), each with its own Undo button."""
    if len(lines) == 1:
        text, checkin_id = lines[0]
        return [SectionBlock(text=md(text)), ActionsBlock(elements=[undo_button(checkin_id)])]
    return [SectionBlock(text=md(text), accessory=undo_button(cid)) for text, cid in lines]
