"""Block Kit for the quarterly review: prompts, the scoring modal, reminders and the summary."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    VIEW_BLOCKS_MAX,
    context,
    cut,
    escape,
    header,
    modal,
    notice_modal,
    plain,
    section,
)
from slackapp.blocks.digest import Message, line_sections, split_messages
from storage.numbers import format_number
from storage.reviews import DepartmentReview, ReviewSummary, open_objectives

START_ACTION = "review_start"
CALLBACK_ID = "review_submit"
BLOCKS_PER_OBJECTIVE = 5
MAX_PER_MODAL = (VIEW_BLOCKS_MAX - 2) // BLOCKS_PER_OBJECTIVE  # 19; the rest on reopening
SCORES = [f"{i / 10:.1f}" for i in range(10, -1, -1)]


def start_button(quarter: str, department_id: int) -> ButtonElement:
    return ButtonElement(
        text=plain("Start review", 75),
        action_id=START_ACTION,
        value=f"{quarter}|{department_id}",
        style="primary",
    )


def head_prompt(quarter: str, d: DepartmentReview, *, reminder: bool = False) -> Message:
    n = len(open_objectives(d))
    lead = (
        f":hourglass: Reminder: *{escape(d.department.name)}*'s {quarter} review is still open"
        if reminder
        else f":clipboard: Time for *{escape(d.department.name)}*'s {quarter} review"
    )
    text = (
        f"{lead} — {n} objective{'s' if n != 1 else ''} to score from 0.0 to 1.0, with what "
        "worked, what did not, and whether to carry it over to next quarter."
    )
    blocks: list[Block] = [
        section(text),
        ActionsBlock(block_id="review", elements=[start_button(quarter, d.department.id)]),
    ]
    return Message(text=cut(text, 3000), blocks=[b.to_dict() for b in blocks])


def leadership_prompt(quarter: str, reviews: list[DepartmentReview]) -> list[Message]:
    blocks: list[Block] = [header(f"{quarter} quarterly review")]
    if not reviews:
        blocks.append(
            section(f"No department has objectives in {quarter}, so there is nothing to review.")
        )
        return split_messages(blocks, f"{quarter} quarterly review")
    blocks.append(
        section(
            "Department heads have been asked to score their objectives. A summary follows here "
            "when every review is in (or two weeks after the quarter ends)."
        )
    )
    lines = [
        f"• *{escape(d.department.name)}* — {len(d.objectives)} objective"
        f"{'s' if len(d.objectives) != 1 else ''}"
        + ("" if d.head_ids else " · _no head: an admin can run it_")
        for d in reviews
    ]
    blocks += line_sections("Departments", lines)
    return split_messages(blocks, f"{quarter} quarterly review has started")


def review_modal(quarter: str, d: DepartmentReview) -> View:
    todo = open_objectives(d)
    shown = todo[:MAX_PER_MODAL]
    blocks: list[Block] = [
        section(
            f"*{escape(d.department.name)}* · {quarter}: score each objective from 0.0 "
            "(nothing achieved) to 1.0 (fully achieved)."
        )
    ]
    if len(todo) > len(shown):
        blocks.append(
            context(
                f"{len(shown)} of {len(todo)} objectives here; press Start review again after "
                "submitting for the rest."
            )
        )
    options = [Option(value=s, text=s) for s in SCORES]
    for o in shown:
        blocks += [
            section(f"*O-{o.number}* {escape(cut(o.title, 200))}"),
            InputBlock(
                block_id=f"score_{o.id}",
                label=plain(f"Score for O-{o.number}", 2000),
                element=StaticSelectElement(action_id="value", options=options),
            ),
            InputBlock(
                block_id=f"worked_{o.id}",
                label=plain("What worked", 2000),
                optional=True,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            ),
            InputBlock(
                block_id=f"didnt_{o.id}",
                label=plain("What did not", 2000),
                optional=True,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            ),
            InputBlock(
                block_id=f"carry_{o.id}",
                label=plain("Next quarter", 2000),
                optional=True,
                element=CheckboxesElement(
                    action_id="value",
                    options=[Option(value="carry", text="Carry over (copy with its key results)")],
                ),
            ),
        ]
    return modal(
        f"Review {quarter}",
        blocks,
        callback_id=CALLBACK_ID,
        submit="Submit",
        private_metadata=json.dumps({"quarter": quarter, "department_id": d.department.id}),
    )


def nothing_to_review_modal(quarter: str, d: DepartmentReview) -> View:
    return notice_modal(
        f"Review {quarter}",
        f"*{escape(d.department.name)}*'s {quarter} review is complete: every objective "
        "has a score. :white_check_mark:",
    )


def summary_messages(summary: ReviewSummary) -> list[Message]:
    blocks: list[Block] = [header(f"{summary.quarter} quarterly review: summary")]
    if not summary.departments:
        blocks.append(section(f"No objectives were set in {summary.quarter}."))
    missing = [d.department.name for d in summary.departments if d.review.status != "submitted"]
    if missing:
        blocks.append(context("Not submitted in time: " + ", ".join(escape(n) for n in missing)))
    for d in summary.departments:
        avg = d.average
        lines = [
            f"*{escape(d.department.name)}* — average score "
            + (f"{avg:.2f}" if avg is not None else "—")
        ]
        for o in d.objectives:
            item = d.items.get(o.id)
            if item is None:
                lines.append(f"• O-{o.number} {escape(cut(o.title, 120))}: _not scored_")
                continue
            carry = " · carried over" if item.carry_over else ""
            lines.append(f"• O-{o.number} {escape(cut(o.title, 120))}: *{item.score:.1f}*{carry}")
            if item.what_worked:
                lines.append(f"   ✓ {escape(cut(item.what_worked, 300))}")
            if item.what_did_not:
                lines.append(f"   ✗ {escape(cut(item.what_did_not, 300))}")
        blocks += line_sections(None, lines)
    kpi_lines = []
    for k in summary.kpis:
        this = format_number(k.this_quarter)
        last = format_number(k.last_quarter)
        change = ""
        if k.this_quarter is not None and k.last_quarter is not None:
            change = f" ({k.this_quarter - k.last_quarter:+,.2f})".replace(".00)", ")")
        kpi_lines.append(f"• *{escape(k.name)}*: {last} → {this}{change}")
    blocks += line_sections(
        "KPIs quarter over quarter", kpi_lines or ["_No company-wide KPI values._"]
    )
    if summary.commitments:
        names = summary.department_names
        blocks += line_sections(
            "Commitments kept and missed",
            [
                f"• *{escape(names.get(dept_id, '?'))}* — {km.kept} kept · {km.missed} missed"
                for dept_id, km in sorted(
                    summary.commitments.items(), key=lambda p: names.get(p[0], "").casefold()
                )
            ],
        )
    people = [f"• <@{uid}> — {n} kudos" for uid, n in summary.most_recognized]
    blocks += line_sections("Most recognized", people or ["_No kudos this quarter._"])
    return split_messages(blocks, f"{summary.quarter} quarterly review summary")
