"""The weekly check-in reminder DM: due key results, each with Check in, and Snooze a week."""

from __future__ import annotations

from enum import StrEnum

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from slackapp.blocks.checkin_form import CheckinAction
from slackapp.blocks.common import as_dicts, context, cut, escape, md, plain, section
from slackapp.blocks.insights import mismatch_text
from storage.models import KeyResult
from storage.numbers import format_number
from storage.objectives import kr_progress


class ReminderAction(StrEnum):
    SNOOZE = "reminder_snooze"  # the "Check in" buttons are CheckinAction.OPEN


KRS_PER_MESSAGE = 40  # one section per KR, plus header and actions: well within 50 blocks


def _due_line(kr: KeyResult, mismatch: str | None) -> SectionBlock:
    """One due key result, with its Check in button."""
    title = f"*KR-{kr.number}* {escape(cut(kr.title, 150))}"
    if kr.kpi_name:
        detail = (
            f"Its value comes from the KPI `{escape(kr.kpi_name)}` — just tell us how "
            "confident you are (1–10)."
        )
    else:
        detail = (
            f"Now {format_number(kr.current_value, kr.unit)} of "
            f"{format_number(kr.target, kr.unit)} ({kr_progress(kr):.0%})."
        )
    if mismatch is not None:
        detail += "\n" + mismatch_text(mismatch, kr.last_confidence)
    return SectionBlock(
        text=md(f"{title}\n{detail}"),
        accessory=ButtonElement(
            text=plain("Check in", 75), action_id=CheckinAction.OPEN, value=str(kr.number)
        ),
    )


def reminder_blocks(
    krs: list[KeyResult], period: str, mismatches: dict[int, tuple[KeyResult, str]] | None = None
) -> list[dict]:
    """`mismatches`: key result id → (key result, overconfident|underconfident) for the owner's
    key results whose confidence disagrees with the data."""
    mismatches = mismatches or {}
    blocks = [
        section(
            ":wave: Time for your weekly check-in. These key results have had no check-in "
            "in the past 7 days:"
        )
    ]
    for kr in krs[:KRS_PER_MESSAGE]:
        blocks.append(_due_line(kr, mismatches[kr.id][1] if kr.id in mismatches else None))
    if len(krs) > KRS_PER_MESSAGE:
        rest = ", ".join(f"KR-{k.number}" for k in krs[KRS_PER_MESSAGE:])
        blocks.append(section(f"Also due: {rest} — `/checkin` lists them all."))
    due_ids = {k.id for k in krs}
    others = [(kr, kind) for kr_id, (kr, kind) in mismatches.items() if kr_id not in due_ids]
    if others:
        lines = [
            f"• *KR-{kr.number}* {escape(cut(kr.title, 120))}: "
            f"{mismatch_text(kind, kr.last_confidence)}"
            for kr, kind in others[:10]
        ]
        blocks.append(
            section(cut("*Confidence that disagrees with the data*\n" + "\n".join(lines), 3000))
        )
    blocks.append(
        ActionsBlock(
            block_id="reminder_actions",
            elements=[
                # No key result named: opens the form listing all of the owner's key results.
                ButtonElement(
                    text=plain("Check in on all", 75), action_id=CheckinAction.OPEN, style="primary"
                ),
                ButtonElement(
                    text=plain("Snooze a week", 75), action_id=ReminderAction.SNOOZE, value=period
                ),
            ],
        )
    )
    blocks.append(context("One reminder a week at most. `/checkin` works any time."))
    return as_dicts(blocks)
