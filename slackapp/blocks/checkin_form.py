"""The check-in modal for one key result, the form for all of a person's key results (one row
each, in pages), and the Undo buttons on check-in confirmations."""

from __future__ import annotations

import json
import math
from enum import StrEnum

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
    OPTIONS_MAX,
    VIEW_BLOCKS_MAX,
    context,
    cut,
    divider,
    escape,
    md,
    modal,
    notice_modal,
    plain,
)
from slackapp.blocks.undo import UndoAction
from storage.models import KeyResult
from storage.numbers import format_number
from storage.objectives import kr_progress


class CheckinAction(StrEnum):
    # Without a value: the form for all of one's key results; with a KR number: that one's modal.
    OPEN = "checkin_open"


class CheckinView(StrEnum):
    ONE = "checkin_submit"  # the modal for one key result
    ALL = "checkin_all_submit"  # the form for all of them


FIELDS = ("value", "confidence", "note", "blocker")
CONFIDENCE_HINT = "1–3 off track · 4–6 at risk · 7–10 on track"
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


def _confidence_input(block_id: str, label: str, *, optional: bool, initial=None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label, 2000),
        optional=optional,
        hint=plain(CONFIDENCE_HINT, 2000),
        element=StaticSelectElement(
            action_id="value", options=_confidence_options(), initial_option=initial
        ),
    )


def _long_text_input(block_id: str, label: str, hint: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label, 2000),
        optional=True,
        hint=plain(hint, 2000) if hint else None,
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
    )


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
        _confidence_input(row_block_id(n, "confidence"), f"KR-{n} confidence", optional=True),
        _long_text_input(row_block_id(n, "note"), f"KR-{n} note"),
        _long_text_input(row_block_id(n, "blocker"), f"KR-{n} blocked on / need help from"),
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
        callback_id=CheckinView.ALL,
        submit="Save" if last else "Save & next",
        private_metadata=json.dumps({"page": page}),
        blocks=blocks[:VIEW_BLOCKS_MAX],
    )


def undo_button(checkin_id: int) -> ButtonElement:
    return ButtonElement(text="Undo", action_id=UndoAction.CHECKIN, value=str(checkin_id))


def confirmation_blocks(lines: list[tuple[str, int]]) -> list[Block]:
    """One section per recorded check-in (its text, its id), each with its own Undo button."""
    if len(lines) == 1:
        text, checkin_id = lines[0]
        return [SectionBlock(text=md(text)), ActionsBlock(elements=[undo_button(checkin_id)])]
    return [SectionBlock(text=md(text), accessory=undo_button(cid)) for text, cid in lines]


# ---- the modal for one key result ------------------------------------------------------------


def kr_option(kr: KeyResult) -> Option:
    return Option(value=str(kr.number), text=cut(f"KR-{kr.number} {kr.title}", 75))


def _kr_options(krs: list[KeyResult], selected: KeyResult | None) -> list[Option]:
    """The owner's key results, with the chosen one kept even past Slack's option limit."""
    options = [kr_option(k) for k in krs[:OPTIONS_MAX]]
    if selected is not None and all(o.value != str(selected.number) for o in options):
        options = [kr_option(selected), *options[: OPTIONS_MAX - 1]]
    return options


def checkin_modal(krs: list[KeyResult], selected: KeyResult | None = None) -> View:
    if selected is None and len(krs) == 1:
        selected = krs[0]
    initial_conf = None
    if selected is not None and selected.last_confidence:
        initial_conf = _confidence_options()[10 - selected.last_confidence]
    kpi_hint = (
        f"KR-{selected.number} takes its value from the KPI `{selected.kpi_name}`: leave it blank."
        if selected is not None and selected.kpi_name
        else "Numbers like 45, -3, 1,234.5 or 12%. Leave blank for a KPI-bound key result."
    )
    blocker_hint = (
        "Stays open in /okr show and the digest until a later check-in leaves this blank. "
        "Heads can turn it into an ask of another department."
    )
    kr_select = StaticSelectElement(
        action_id="value",
        options=_kr_options(krs, selected),
        initial_option=kr_option(selected) if selected else None,
    )
    value = PlainTextInputElement(action_id="value", max_length=40)
    return modal(
        "Check in",
        callback_id=CheckinView.ONE,
        submit="Save",
        blocks=[
            InputBlock(block_id="kr", label=plain("Key result"), element=kr_select),
            InputBlock(
                block_id="value",
                label=plain("Current value"),
                optional=True,
                hint=plain(kpi_hint, 2000),
                element=value,
            ),
            _confidence_input("confidence", "Confidence", optional=False, initial=initial_conf),
            _long_text_input("note", "Note"),
            _long_text_input("blocker", "Blocked on / need help from", blocker_hint),
        ],
    )


def read_checkin_modal(values: dict) -> dict[str, str | None]:
    """What `checkin_modal` was submitted with: the key result's number (None if none was
    chosen) and each field's text ("" when left empty)."""

    def element(block_id: str) -> dict:
        return values.get(block_id, {}).get("value", {})

    return {
        "kr": (element("kr").get("selected_option") or {}).get("value"),
        "value": (element("value").get("value") or "").strip(),
        "confidence": (element("confidence").get("selected_option") or {}).get("value") or "",
        "note": element("note").get("value") or "",
        "blocker": element("blocker").get("value") or "",
    }


def no_key_results_modal() -> View:
    return notice_modal(
        "Check in",
        "You don't own any active key results yet. A department head assigns them in `/okr new`.",
    )
