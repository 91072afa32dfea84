"""Block Kit for the quarterly review: prompts, the scoring modal, reminders, the summary with
its retro replies, and recorded decisions."""

from __future__ import annotations

import json
import math
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    OPTIONS_MAX,
    VIEW_BLOCKS_MAX,
    as_dicts,
    context,
    cut,
    escape,
    header,
    modal,
    notice_modal,
    plain,
    progress_bar,
    section,
)
from slackapp.blocks.decisions import COMPANY_LABEL
from slackapp.blocks.digest import Message, line_sections, split_messages
from storage.models import DECISION_MAX, NOTE_MAX, REASON_MAX, Department, ReviewStatus
from storage.numbers import format_number
from storage.reviews import (
    SCORE_GAP_MAX,
    DepartmentReview,
    KeyResultEvidence,
    ObjectiveEvidence,
    ReviewSummary,
    open_objectives,
)


class ReviewAction(StrEnum):
    START = "review_start"  # a head's (or the admins') prompt
    RECORD_DECISION = "review_record_decision"  # on the leadership summary


class ReviewCallback(StrEnum):
    SUBMIT = "review_submit"
    DECISION = "review_decision_submit"


class ReviewField(StrEnum):
    """The review form's inputs, one of each per objective (`objective_block`)."""

    SCORE = "score"
    REASON = "reason"
    WORKED = "worked"
    DID_NOT = "didnt"
    CARRY = "carry"


class DecisionField(StrEnum):
    """The decision form's inputs."""

    TEXT = "text"
    DEPARTMENT = "department"
    START_OBJECTIVE = "start_objective"


def objective_block(field: ReviewField, objective_id: int) -> str:
    """The block id of one objective's input in the review form."""
    return f"{field}_{objective_id}"


def block_objective(block_id: str, field: ReviewField) -> int | None:
    """The objective id in a block id `objective_block` made for `field`, else None."""
    prefix = f"{field}_"
    rest = block_id[len(prefix) :] if block_id.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


# Per objective: the evidence, score, reason, what worked, what did not, carry-over.
BLOCKS_PER_OBJECTIVE = 6
HEAD_BLOCKS = 2  # the introduction and the page line
PER_PAGE = (VIEW_BLOCKS_MAX - HEAD_BLOCKS) // BLOCKS_PER_OBJECTIVE  # 16
KR_TITLE_CUT = 80


def review_label(d: DepartmentReview) -> str:
    return COMPANY_LABEL if d.is_company else d.department.name


def start_button(quarter: str, ref: str | int) -> ButtonElement:
    """`ref`: a department id, or `company`."""
    return ButtonElement(
        text=plain("Start review", 75),
        action_id=ReviewAction.START,
        value=f"{quarter}|{ref}",
        style="primary",
    )


def head_prompt(quarter: str, d: DepartmentReview, *, reminder: bool = False) -> Message:
    n = len(open_objectives(d))
    what = "the company objectives'" if d.is_company else f"*{escape(d.department.name)}*'s"
    lead = (
        f":hourglass: Reminder: {what} {quarter} review is still open"
        if reminder
        else f":clipboard: Time for {what} {quarter} review"
    )
    text = (
        f"{lead} — {n} objective{'s' if n != 1 else ''} to score from 0.0 to 1.0 against the "
        "measured progress, with what worked, what did not, and whether to carry it over to "
        "next quarter."
    )
    blocks: list[Block] = [
        section(text),
        ActionsBlock(block_id="review", elements=[start_button(quarter, d.ref)]),
    ]
    return Message(text=cut(text, 3000), blocks=as_dicts(blocks))


def leadership_prompt(quarter: str, reviews: list[DepartmentReview]) -> list[Message]:
    blocks: list[Block] = [header(f"{quarter} quarterly review")]
    if not reviews:
        blocks.append(
            section(f"No department has objectives in {quarter}, so there is nothing to review.")
        )
        return split_messages(blocks, f"{quarter} quarterly review")
    blocks.append(
        section(
            "Department heads have been asked to score their objectives, and the admins the "
            "company objectives. A summary follows here when every review is in (or two weeks "
            "after the quarter ends)."
        )
    )
    lines = []
    for d in reviews:
        n = len(d.objectives)
        note = ""
        if d.is_company:
            note = " · _scored by the admins_"
        elif not d.head_ids:
            note = " · _no head: an admin can run it_"
        lines.append(f"• *{escape(review_label(d))}* — {n} objective{'s' if n != 1 else ''}{note}")
    blocks += line_sections("Reviews", lines)
    return split_messages(blocks, f"{quarter} quarterly review has started")


def _kr_evidence(k: KeyResultEvidence) -> str:
    kr = k.key_result
    unit = kr.unit or ""
    line = (
        f"• KR-{kr.number} {escape(cut(kr.title, KR_TITLE_CUT))}: "
        f"{format_number(kr.baseline, unit)} → {format_number(kr.current_value, unit)} / "
        f"{format_number(kr.target, unit)}"
    )
    if k.forecast is not None:
        line += (
            f" · forecast {format_number(round(k.forecast.value, 2), unit)} "
            f"({k.forecast.progress:.0%}) at quarter end"
        )
    else:
        line += " · no trend yet"
    if kr.last_confidence is not None:
        line += f" · confidence {kr.last_confidence}/10"
    return line


def evidence_text(e: ObjectiveEvidence) -> str:
    o = e.objective
    lines = [
        f"*O-{o.number}* {escape(cut(o.title, 200))}",
        f"`{progress_bar(e.progress)}` {e.progress:.0%} measured (rolled up)",
    ]
    lines += [_kr_evidence(k) for k in e.key_results] or ["_No key results._"]
    return "\n".join(lines)


def page_position(d: DepartmentReview) -> tuple[int, int]:
    """(this page, pages): pages already scored count as behind."""
    total = max(1, math.ceil(len(d.objectives) / PER_PAGE))
    left = max(1, math.ceil(len(open_objectives(d)) / PER_PAGE))
    return total - left + 1, total


def _page_head(quarter: str, d: DepartmentReview, todo_count: int) -> list[Block]:
    page, pages = page_position(d)
    what = "company objectives" if d.is_company else f"*{escape(d.department.name)}*"
    more = " · *Save & next* keeps this page's scores and opens the next" if pages > page else ""
    return [
        section(
            f"{what} · {quarter}: score each objective from 0.0 (nothing achieved) to 1.0 "
            "(fully achieved). The score starts at the measured progress; one more than "
            f"{SCORE_GAP_MAX:.1f} away from it needs a one-line reason."
        ),
        context(
            f"Page {page} of {pages} · {todo_count} objective{'s' if todo_count != 1 else ''} "
            f"left to score{more}"
        ),
    ]


def _text_input(field: ReviewField, objective_id: int, label: str, max_length: int, **kw):
    return InputBlock(
        block_id=objective_block(field, objective_id),
        label=plain(label, 2000),
        optional=True,
        element=PlainTextInputElement(action_id="value", max_length=max_length, **kw),
    )


def _objective_inputs(e: ObjectiveEvidence) -> list[Block]:
    """The evidence, then the score, reason, what worked, what did not and carry-over."""
    oid = e.objective.id
    return [
        section(evidence_text(e)),
        InputBlock(
            block_id=objective_block(ReviewField.SCORE, oid),
            label=plain(f"Score for O-{e.objective.number} (0.0–1.0)", 2000),
            element=PlainTextInputElement(
                action_id="value", initial_value=f"{e.suggested_score:.1f}", max_length=10
            ),
        ),
        _text_input(
            ReviewField.REASON,
            oid,
            "Why this score (needed when far from the measured progress)",
            REASON_MAX,
        ),
        _text_input(ReviewField.WORKED, oid, "What worked", NOTE_MAX, multiline=True),
        _text_input(ReviewField.DID_NOT, oid, "What did not", NOTE_MAX, multiline=True),
        InputBlock(
            block_id=objective_block(ReviewField.CARRY, oid),
            label=plain("Next quarter", 2000),
            optional=True,
            element=CheckboxesElement(
                action_id="value",
                options=[Option(value="carry", text="Carry over (copy with its key results)")],
            ),
        ),
    ]


def review_modal(quarter: str, d: DepartmentReview, evidence: list[ObjectiveEvidence]) -> View:
    """One page of the open objectives (`evidence`: at least those of this page, in order).
    More than a page: the submit button saves this page and shows the next."""
    todo = open_objectives(d)
    shown = todo[:PER_PAGE]
    by_id = {e.objective.id: e for e in evidence}
    blocks = _page_head(quarter, d, len(todo))
    for o in shown:
        e = by_id.get(o.id) or ObjectiveEvidence(o, d.progress.get(o.id, 0.0), [])
        blocks += _objective_inputs(e)
    return modal(
        f"Review {quarter}",
        blocks,
        callback_id=ReviewCallback.SUBMIT,
        submit="Save & next" if len(todo) > len(shown) else "Submit",
        private_metadata=json.dumps(
            {"quarter": quarter, "department_id": d.ref if d.is_company else d.department_id}
        ),
    )


def nothing_to_review_modal(quarter: str, d: DepartmentReview) -> View:
    what = "The company objectives'" if d.is_company else f"*{escape(d.department.name)}*'s"
    return notice_modal(
        f"Review {quarter}",
        f"{what} {quarter} review is complete: every objective has a score. :white_check_mark:",
    )


def _kpi_line(k, *, bold: bool = False) -> str:
    """`nps: 30 → 42 (+12)`: the last value of the previous quarter, then of this one."""
    this = format_number(k.this_quarter)
    last = format_number(k.last_quarter)
    change = ""
    if k.this_quarter is not None and k.last_quarter is not None:
        delta = k.this_quarter - k.last_quarter
        change = f" ({'+' if delta >= 0 else '-'}{format_number(round(abs(delta), 2))})"
    name = f"*{escape(k.name)}*" if bold else escape(k.name)
    return f"{name}: {last} → {this}{change}"


def _score(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def decision_button(team_id: str, quarter: str) -> ButtonElement:
    return ButtonElement(
        text=plain("Record decision", 75),
        action_id=ReviewAction.RECORD_DECISION,
        value=f"{team_id}|{quarter}",
    )


def close_the_loop_text(voice) -> str:
    """A quarter's follow-ups in one line: the close-the-loop rate and who was won back."""
    rate = voice.close_the_loop_rate
    rate_text = (
        f"close-the-loop rate {rate:.0f}% ({voice.followed_up_in_window} of {voice.decided} "
        "detractors followed up in time)"
        if rate is not None
        else f"{voice.detractors} detractor{'s' if voice.detractors != 1 else ''}, none due yet"
    )
    return f"{rate_text} · {voice.recovered} recovered"


def _company_lines(company: DepartmentReview) -> list[str]:
    lines = []
    for o in company.objectives:
        item = company.items.get(o.id)
        score = f"score *{item.score:.1f}*" if item else "_not scored_"
        lines.append(
            f"• O-{o.number} {escape(cut(o.title, 120))}: "
            f"`{progress_bar(company.measured(o.id))}` {company.measured(o.id):.0%} · {score}"
        )
    return lines


def _department_lines(summary: ReviewSummary, d: DepartmentReview) -> list[str]:
    """One department's paragraph: scores against the data, commitments, customer follow-ups,
    KPIs and carry-overs."""
    dept_id = d.department.id
    scored, total = len(d.items), len(d.objectives)
    line = (
        f"*{escape(d.department.name)}* — {scored} of {total} objective"
        f"{'s' if total != 1 else ''} scored · average score {_score(d.average)} vs "
        f"measured progress {_score(d.mean_measured)}"
    )
    if d.scored_above_data:
        line += " · :warning: _scored above the data_"
    lines = [line]
    km = summary.commitments.get(dept_id)
    if km is not None:
        lines.append(f"   Commitments: {km.kept} kept · {km.missed} missed")
    voice = summary.close_the_loop.get(dept_id)
    if voice is not None:
        lines.append(f"   Customer follow-ups: {close_the_loop_text(voice)}")
    dept_kpis = summary.department_kpis.get(dept_id) or []
    if dept_kpis:
        lines.append("   KPIs: " + " · ".join(_kpi_line(k) for k in dept_kpis))
    carried = sum(1 for i in d.items.values() if i.carry_over)
    if carried:
        lines.append(f"   {carried} carried over to next quarter")
    return lines


def _other_commitments(summary: ReviewSummary) -> list[Block]:
    """Departments that owed commitments but had nothing to review."""
    names = summary.department_names
    reviewed = {d.department_id for d in summary.departments}
    others = {k: v for k, v in summary.commitments.items() if k not in reviewed}
    if not others:
        return []
    return line_sections(
        "Commitments kept and missed",
        [
            f"• *{escape(names.get(dept_id, '?'))}* — {km.kept} kept · {km.missed} missed"
            for dept_id, km in sorted(others.items(), key=lambda p: names.get(p[0], "").casefold())
        ],
    )


def summary_messages(summary: ReviewSummary) -> list[Message]:
    """The leadership post: company objectives first, then one paragraph per department, the
    company KPIs, the most recognized staff, and the Record decision button. The retros follow
    as thread replies (retro_messages)."""
    blocks: list[Block] = [header(f"{summary.quarter} quarterly review: summary")]
    if not summary.departments:
        blocks.append(section(f"No objectives were set in {summary.quarter}."))
    missing = [
        review_label(d) for d in summary.departments if d.review.status != ReviewStatus.SUBMITTED
    ]
    if missing:
        blocks.append(context("Not submitted in time: " + ", ".join(escape(n) for n in missing)))
    if summary.company is not None:
        blocks += line_sections("Company objectives", _company_lines(summary.company))
    for d in summary.departments:
        if not d.is_company:
            blocks += line_sections(None, _department_lines(summary, d))
    blocks += _other_commitments(summary)
    kpi_lines = [f"• {_kpi_line(k, bold=True)}" for k in summary.kpis]
    blocks += line_sections(
        "KPIs quarter over quarter (company-wide)",
        kpi_lines or ["_No company-wide KPI values._"],
    )
    people = [f"• <@{uid}> — {n} kudos" for uid, n in summary.most_recognized]
    blocks += line_sections("Most recognized", people or ["_No kudos this quarter._"])
    if summary.departments:
        blocks.append(context("Each review's retro is in this thread."))
    blocks.append(
        ActionsBlock(
            block_id="review_decision",
            elements=[decision_button(summary.team_id, summary.quarter)],
        )
    )
    return split_messages(blocks, f"{summary.quarter} quarterly review summary")


def retro_messages(summary: ReviewSummary) -> list[tuple[str, Message]]:
    """(review ref, message) per review with anything scored: each objective's score, why it
    departs from the data, what worked, what did not, and carry-over."""
    out = []
    for d in summary.departments:
        if not d.items:
            continue
        label = review_label(d)
        lines = []
        for o in d.objectives:
            item = d.items.get(o.id)
            if item is None:
                lines.append(f"• O-{o.number} {escape(cut(o.title, 120))}: _not scored_")
                continue
            carry = " · carried over" if item.carry_over else ""
            lines.append(
                f"• O-{o.number} {escape(cut(o.title, 120))}: *{item.score:.1f}* "
                f"(measured {d.measured(o.id):.0%}){carry}"
            )
            if item.score_reason:
                lines.append(f"   Why: {escape(item.score_reason)}")
            if item.what_worked:
                lines.append(f"   ✓ {escape(cut(item.what_worked, 600))}")
            if item.what_did_not:
                lines.append(f"   ✗ {escape(cut(item.what_did_not, 600))}")
        blocks = [*line_sections(f"Retro: {escape(label)}", lines)]
        for i, m in enumerate(split_messages(blocks, f"{summary.quarter} retro: {label}")):
            out.append((f"{d.ref}:{i}", m))
    return out


# ---- decisions -------------------------------------------------------------------------------
COMPANY_CHOICE = "company"


def decision_modal(quarter: str, departments: list[Department]) -> View:
    options = [Option(value=COMPANY_CHOICE, text=COMPANY_LABEL)] + [
        Option(value=str(d.id), text=cut(d.name, 75)) for d in departments
    ]
    if len(options) <= OPTIONS_MAX:
        owner = StaticSelectElement(action_id="value", options=options, initial_option=options[0])
    else:  # more than a static select holds: search as you type (the objective form's search)
        owner = ExternalDataSelectElement(
            action_id="department_search",
            placeholder=plain("Type to search departments", 150),
            min_query_length=0,
            initial_option=options[0],
        )
    blocks: list[Block] = [
        section(f"A decision from the {quarter} review, for everyone to see and act on."),
        InputBlock(
            block_id=DecisionField.TEXT,
            label=plain("Decision", 2000),
            element=PlainTextInputElement(
                action_id="value", multiline=True, max_length=DECISION_MAX
            ),
        ),
        InputBlock(block_id=DecisionField.DEPARTMENT, label=plain("Owned by", 2000), element=owner),
        InputBlock(
            block_id=DecisionField.START_OBJECTIVE,
            label=plain("Next quarter", 2000),
            optional=True,
            element=CheckboxesElement(
                action_id="value",
                options=[Option(value="start", text="Start a company objective for next quarter")],
            ),
        ),
    ]
    return modal(
        "Record decision",
        blocks,
        callback_id=ReviewCallback.DECISION,
        submit="Record",
        private_metadata=json.dumps({"quarter": quarter}),
    )


def decisions_reply(quarter: str, lines: list[str]) -> list[dict]:
    blocks: list[Block] = [header(f"Decisions from the {quarter} review")]
    if lines:
        blocks += line_sections(None, lines)
    else:
        blocks.append(
            section(
                f"No decisions were recorded for {quarter}. Admins record them with *Record "
                "decision* on the review summary."
            )
        )
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        shown = MESSAGE_BLOCKS_MAX - 1
        blocks = blocks[:shown] + [
            context("More decisions than one message holds: `loyalty export` has them all.")
        ]
    return as_dicts(blocks)
