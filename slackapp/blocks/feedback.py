"""Block Kit for customer voice: the heads' new-detractor DM (Take it / Assign… / Close…),
its modals, `/feedback show|list|routes`, the *Log customer feedback* modal and the feedback
part of the setup form. Customers' words are always escaped: a comment holding `<!channel>` or
`<@U…>` shows as text and pings nobody."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    SECTION_TEXT_MAX,
    context,
    cut,
    escape,
    header,
    line_sections,
    modal,
    plain,
    quote,
    section,
)
from storage.feedback import COMMENT_MAX, CUSTOMER_MAX
from storage.followups import OUTCOMES
from storage.models import NOTE_MAX, Feedback, FeedbackRoute, Followup, FollowUpStatus


class FeedbackAction(StrEnum):
    """The heads' buttons on a follow-up (App Home shows *Close…* too)."""

    TAKE = "followup_take"
    ASSIGN = "followup_assign"
    CLOSE = "followup_close"


class FeedbackCallback(StrEnum):
    ASSIGN = "followup_assign_submit"
    CLOSE = "followup_close_submit"
    LOG = "feedback_log_submit"
    LOG_SHORTCUT = "log_customer_feedback"  # the message shortcut that opens the log form


class FeedbackField(StrEnum):
    """The inputs of the follow-up, log and setup forms."""

    OWNER = "owner"
    OUTCOME = "outcome"
    NOTE = "note"
    CUSTOMER = "customer"
    SCORE = "score"
    COMMENT = "comment"
    DEPARTMENT = "department"
    DEFAULT_DEPARTMENT = "feedback_default_department"
    FOLLOWUP_HOURS = "feedback_followup_hours"


OUTCOME_LABELS = {
    "contacted": "Contacted the customer",
    "resolved": "Resolved their problem",
    "unreachable": "Could not reach them",
    "not-needed": "No follow-up needed",
}


def _when(at: datetime | None) -> str:
    if at is None:
        return "—"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def status_text(fu: Followup, now: datetime) -> str:
    if fu.status == FollowUpStatus.CLOSED:
        recovered = " · :tada: recovered" if fu.recovered_at else ""
        return f"closed ({fu.outcome}) by <@{fu.closed_by}>{recovered}"
    overdue = ":rotating_light: overdue · " if fu.due_at < now else ""
    if fu.owner_id:
        return f"{overdue}owned by <@{fu.owner_id}>"
    return f"{overdue}waiting for someone to take it"


def followup_line(fu: Followup, fb: Feedback | None, dept_name: str, now: datetime) -> str:
    who = escape(cut(fb.customer, 60)) if fb else "(erased)"
    said = f" — _{escape(cut(' '.join(fb.comment.split()), 120))}_" if fb and fb.comment else ""
    return (
        f"*F-{fu.number}* {fu.score}/10 · {who}{said} · *{escape(dept_name)}* · due "
        f"{_when(fu.due_at)} · {status_text(fu, now)}"
    )


def _summary(fu: Followup, fb: Feedback | None, dept_name: str) -> str:
    who = escape(cut(fb.customer, CUSTOMER_MAX)) if fb else "(erased)"
    lines = [
        f":rotating_light: *New detractor — F-{fu.number}* · score *{fu.score}/10* · "
        f"*{escape(dept_name)}*",
        f"*Customer:* {who}",
    ]
    if fb and fb.comment:
        lines.append(quote(fb.comment, 2000))
    if fb and fb.staff:
        lines.append(f"*Staff named:* {escape(cut(fb.staff, 100))}")
    lines.append(f"Received {_when(fu.received_at)} · follow up by *{_when(fu.due_at)}*")
    if fb and fb.link and fb.link.startswith(("https://", "http://")):
        lines.append(f"<{fb.link.replace('|', '%7C').replace('>', '%3E')}|Source message>")
    return cut("\n".join(lines), SECTION_TEXT_MAX)


def _owned_buttons(value: str) -> list[ButtonElement]:
    return [
        ButtonElement(text="Assign…", action_id=FeedbackAction.ASSIGN, value=value),
        ButtonElement(text="Close…", action_id=FeedbackAction.CLOSE, value=value),
    ]


def followup_dm(fu: Followup, fb: Feedback | None, dept_name: str) -> list[Block]:
    """To each head of the department: the detractor's words with the three buttons."""
    value = f"F-{fu.number}"
    return [
        section(_summary(fu, fb, dept_name)),
        ActionsBlock(
            block_id=f"followup_{fu.number}",
            elements=[
                ButtonElement(
                    text="Take it", action_id=FeedbackAction.TAKE, value=value, style="primary"
                ),
                *_owned_buttons(value),
            ],
        ),
    ]


def followup_after(fu: Followup, fb: Feedback | None, dept_name: str, what: str) -> list[Block]:
    """What the DM becomes once someone acted: the words stay, the buttons that no longer
    apply go (an owned follow-up can still be closed or reassigned)."""
    blocks: list[Block] = [section(_summary(fu, fb, dept_name)), context(what)]
    if fu.status != FollowUpStatus.CLOSED:
        value = f"F-{fu.number}"
        blocks.append(
            ActionsBlock(
                block_id=f"followup_{fu.number}",
                elements=_owned_buttons(value),
            )
        )
    return blocks


def followup_detail(
    fu: Followup, fb: Feedback | None, dept_name: str, now: datetime
) -> list[Block]:
    lines = [
        f"*F-{fu.number}* · score *{fu.score}/10* · *{escape(dept_name)}*",
        f"*Customer:* {escape(cut(fb.customer, CUSTOMER_MAX)) if fb else '(erased)'}",
    ]
    if fb and fb.comment:
        lines.append(quote(fb.comment, 1500))
    source = fb.source if fb else "erased"
    lines.append(f"Received {_when(fu.received_at)} ({source}) · due {_when(fu.due_at)}")
    lines.append(f"Status: {status_text(fu, now)}")
    if fu.first_contact_at:
        lines.append(f"First contact {_when(fu.first_contact_at)}")
    if fu.note:
        lines.append(f"Note: _{escape(cut(fu.note, 800))}_")
    blocks: list[Block] = [section(cut("\n".join(lines), SECTION_TEXT_MAX))]
    if fu.status != FollowUpStatus.CLOSED:
        blocks.append(followup_dm(fu, fb, dept_name)[1])
    return blocks


def followup_list(title: str, lines: list[str], total: int, empty: str) -> list[Block]:
    blocks: list[Block] = [header(title)]
    if not lines:
        blocks.append(section(empty))
        return blocks
    blocks += line_sections(None, lines)
    if total > len(lines):
        blocks.append(context(f"…and {total - len(lines)} more."))
    return blocks[:MESSAGE_BLOCKS_MAX]


def routes_list(rows: list[tuple[FeedbackRoute, str]], default_name: str | None) -> list[Block]:
    lines = [f"• `{escape(r.keyword)}` → *{escape(name)}*" for r, name in rows]
    fallback = (
        f"Anything else goes to *{escape(default_name)}* (the default department in `/okr setup`)."
        if default_name
        else "Anything else goes to the admins until a default department is chosen in `/okr setup`."
    )
    return followup_list(
        "Feedback routing",
        lines + [fallback] if lines else [],
        len(lines) + (1 if lines else 0),
        "No routing rules yet: `/feedback route <keyword…> to <department>`. " + fallback,
    )


def assign_modal(ref: str, summary: str) -> View:
    return modal(
        f"Assign {ref}",
        [
            section(summary),
            InputBlock(
                block_id=FeedbackField.OWNER,
                label=plain("Who follows up with the customer?"),
                element=UserSelectElement(action_id="value"),
            ),
        ],
        callback_id=FeedbackCallback.ASSIGN,
        submit="Assign",
        private_metadata=ref,
    )


def close_modal(ref: str, summary: str) -> View:
    options = [Option(value=k, text=v) for k, v in OUTCOME_LABELS.items() if k in OUTCOMES]
    return modal(
        f"Close {ref}",
        [
            section(summary),
            InputBlock(
                block_id=FeedbackField.OUTCOME,
                label=plain("Outcome"),
                element=StaticSelectElement(action_id="value", options=options),
            ),
            InputBlock(
                block_id=FeedbackField.NOTE,
                label=plain("Note (what happened)"),
                optional=True,
                element=PlainTextInputElement(
                    action_id="value", multiline=True, max_length=NOTE_MAX
                ),
            ),
        ],
        callback_id=FeedbackCallback.CLOSE,
        submit="Close",
        private_metadata=ref,
    )


def department_options(names: list[tuple[int, str]]) -> list[Option]:
    return [Option(value=str(i), text=cut(n, OPTION_TEXT_MAX)) for i, n in names[:OPTIONS_MAX]]


def log_modal(comment: str, link: str, departments: list[tuple[int, str]], metadata: str) -> View:
    """*Log customer feedback*: the message's words prefilled, its permalink kept."""
    blocks: list[Block] = [
        context(f"From <{link}|this message>" if link else "From a message"),
        InputBlock(
            block_id=FeedbackField.CUSTOMER,
            label=plain("Customer (name, email or account)"),
            element=PlainTextInputElement(action_id="value", max_length=CUSTOMER_MAX),
        ),
        InputBlock(
            block_id=FeedbackField.SCORE,
            label=plain("Score (0–10)"),
            element=StaticSelectElement(
                action_id="value", options=[Option(value=str(n), text=str(n)) for n in range(11)]
            ),
        ),
        InputBlock(
            block_id=FeedbackField.COMMENT,
            label=plain("What the customer said"),
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=min(COMMENT_MAX, 3000),
                initial_value=cut(comment, 3000) or None,
            ),
        ),
    ]
    options = department_options(departments)
    if options:
        blocks.append(
            InputBlock(
                block_id=FeedbackField.DEPARTMENT,
                label=plain("Department (empty: routed by keywords)"),
                optional=True,
                element=StaticSelectElement(action_id="value", options=options),
            )
        )
    return modal(
        "Log customer feedback",
        blocks,
        callback_id=FeedbackCallback.LOG,
        submit="Log",
        private_metadata=metadata,
    )


# ---- the setup form's customer-voice part ----------------------------------------------------


def setup_blocks(
    departments: list[tuple[int, str]],
    default_department_id: int | None,
    followup_hours: int,
    webhook_text: str,
) -> list[Block]:
    options = department_options(departments)
    initial = next((o for o in options if o.value == str(default_department_id)), None)
    blocks: list[Block] = []
    if options:
        blocks.append(
            InputBlock(
                block_id=FeedbackField.DEFAULT_DEPARTMENT,
                label=plain("Customer feedback: default department"),
                optional=True,
                hint=plain(
                    "Gets feedback that names no department and matches no routing rule.", 2000
                ),
                element=StaticSelectElement(
                    action_id="value", options=options, initial_option=initial
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=FeedbackField.FOLLOWUP_HOURS,
            label=plain("Detractor follow-up window (hours)"),
            hint=plain("Every score of 0–6 must be followed up within this many hours.", 2000),
            element=PlainTextInputElement(
                action_id="value", max_length=3, initial_value=str(followup_hours)
            ),
        )
    )
    blocks.append(context(webhook_text))
    return blocks


def home_followup_blocks(
    rows: list[Followup], feedback: dict[int, Feedback], names: dict[int, str], now: datetime
) -> list[Block]:
    """One section per follow-up with a *Close…* button (App Home)."""
    return [
        section(
            followup_line(
                fu, feedback.get(fu.feedback_id), names.get(fu.department_id, "no department"), now
            ),
            accessory=ButtonElement(
                text="Close…", action_id=FeedbackAction.CLOSE, value=f"F-{fu.number}"
            ),
        )
        for fu in rows
    ]
