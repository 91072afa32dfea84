"""Block Kit for commitments `C-7`: the heads' Accept/Decline DM, the decline modal, the
asker's notices, `/okr asks` and the digest lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    context,
    cut,
    escape,
    header,
    line_sections,
    modal,
    plain,
    section,
)
from storage.commitments import PENDING
from storage.models import NOTE_MAX, Commitment, CommitmentStatus, Department


class CommitmentAction(StrEnum):
    """The owing heads' buttons on an ask."""

    ACCEPT = "commitment_accept"
    DECLINE = "commitment_decline"


class CommitmentCallback(StrEnum):
    ASK = "commitment_ask_submit"
    DECLINE = "commitment_decline_submit"


class CommitmentField(StrEnum):
    """The inputs of the ask and decline forms."""

    DEPARTMENT = "department"
    WHAT = "what"
    DUE_DATE = "due_date"
    KEY_RESULT = "kr"
    REASON = "reason"


LIST_MAX = 40  # lines in one `/okr asks` reply


def status_text(c: Commitment, today: date) -> str:
    if c.status in PENDING and c.due_date < today:
        return ":rotating_light: overdue"
    return "waiting for an answer" if c.status == CommitmentStatus.OPEN else str(c.status)


def commitment_line(
    c: Commitment, names: dict[int, str], today: date, who: Callable[[str], str] | None = None
) -> str:
    """`who` names a person (a digest mentions each person once, then uses names)."""
    who = who or (lambda user_id: f"<@{user_id}>")
    asker = who(c.asker_id)  # named in reading order: the first reference is the mention
    owner = f" · owner {who(c.owner_id)}" if c.owner_id else ""
    kr = " · for a key result" if c.key_result_id else ""
    return (
        f"*C-{c.number}* {escape(cut(c.what, 200))} — owed by "
        f"*{escape(names.get(c.department_id, '?'))}* to {asker} · due "
        f"{c.due_date.isoformat()} · {status_text(c, today)}{owner}{kr}"
    )


def ask_dm(c: Commitment, department_name: str, kr_ref: str | None) -> list[Block]:
    """To each head of the owing department: what is asked, with Accept and Decline."""
    kr = f" (for {kr_ref})" if kr_ref else ""
    return [
        section(
            f":handshake: <@{c.asker_id}> asks *{escape(department_name)}* for: "
            f"{escape(cut(c.what, 2500))}{kr}\nDue *{c.due_date.isoformat()}* · *C-{c.number}*"
        ),
        ActionsBlock(
            block_id=f"commitment_{c.number}",
            elements=[
                ButtonElement(
                    text="Accept",
                    action_id=CommitmentAction.ACCEPT,
                    value=f"C-{c.number}",
                    style="primary",
                ),
                ButtonElement(
                    text="Decline…", action_id=CommitmentAction.DECLINE, value=f"C-{c.number}"
                ),
            ],
        ),
    ]


def decided_dm(c: Commitment, department_name: str, by_you: bool) -> list[Block]:
    """What the heads' DM becomes once someone answered."""
    who = "You" if by_you else f"<@{c.decided_by}>"
    verb = "accepted" if c.status != CommitmentStatus.DECLINED else "declined"
    return [
        section(
            f"*C-{c.number}* {escape(cut(c.what, 2500))} — asked of "
            f"*{escape(department_name)}* by <@{c.asker_id}>, due {c.due_date.isoformat()}."
        ),
        context(f"{who} {verb} it."),
    ]


def decline_modal(ref: str, what: str) -> View:
    return modal(
        f"Decline {ref}",
        [
            section(escape(cut(what, 2900))),
            InputBlock(
                block_id=CommitmentField.REASON,
                label=plain("Why? The asker sees this."),
                element=PlainTextInputElement(
                    action_id="value", multiline=True, max_length=NOTE_MAX
                ),
            ),
        ],
        callback_id=CommitmentCallback.DECLINE,
        submit="Decline",
        private_metadata=ref,
    )


def asker_notice(c: Commitment, department_name: str, event: str) -> str:
    """The DM to the asker at each change."""
    dept = escape(department_name)
    what = escape(cut(c.what, 500))
    if event == "accepted":
        return (
            f":white_check_mark: *{dept}* accepted *C-{c.number}* {what}; <@{c.owner_id}> owns it."
        )
    if event == "declined":
        return (
            f":no_entry_sign: *{dept}* declined *C-{c.number}* {what}: "
            f"_{escape(cut(c.decline_reason or '', 1500))}_ (<@{c.decided_by}>)"
        )
    if event == "reassigned":
        return f":arrows_counterclockwise: *C-{c.number}* {what} is now owned by <@{c.owner_id}>."
    note = f": _{escape(cut(c.done_note, 1500))}_" if c.done_note else ""
    return f":tada: *C-{c.number}* {what} is done (<@{c.done_by}>){note}."


def asks_list(
    rows: list[Commitment], names: dict[int, str], *, title: str, today: date
) -> list[Block]:
    blocks: list[Block] = [header(title)]
    if not rows:
        blocks.append(
            section(
                "No open commitments. Ask with `/okr ask <department> <what…> by <YYYY-MM-DD>`."
            )
        )
        return blocks
    blocks += line_sections(None, [commitment_line(c, names, today) for c in rows[:LIST_MAX]])
    if len(rows) > LIST_MAX:
        blocks.append(context(f"…and {len(rows) - LIST_MAX} more, oldest first."))
    return blocks[:MESSAGE_BLOCKS_MAX]


def _department_option(d: Department) -> Option:
    return Option(value=str(d.id), text=cut(d.name, OPTION_TEXT_MAX))


def ask_modal(
    departments: list[Department],
    *,
    what: str = "",
    department: Department | None = None,
    due: date | None = None,
    kr_ref: str | None = None,
    what_max: int = 1000,
) -> View:
    """The `/okr ask` form: whom to ask (editable guess), what, by when, for which key result."""
    options = [_department_option(d) for d in departments[:OPTIONS_MAX]]
    initial = _department_option(department) if department is not None else None
    if initial is not None and all(o.value != initial.value for o in options):
        options = [initial, *options[: OPTIONS_MAX - 1]]
    return modal(
        "Ask a department",
        [
            InputBlock(
                block_id=CommitmentField.DEPARTMENT,
                label=plain("Ask which department"),
                element=StaticSelectElement(
                    action_id="value", options=options, initial_option=initial
                ),
            ),
            InputBlock(
                block_id=CommitmentField.WHAT,
                label=plain("What do you need?"),
                element=PlainTextInputElement(
                    action_id="value",
                    multiline=True,
                    max_length=what_max,
                    initial_value=cut(what, what_max) or None,
                ),
            ),
            InputBlock(
                block_id=CommitmentField.DUE_DATE,
                label=plain("By when"),
                element=DatePickerElement(
                    action_id="value", initial_date=due.isoformat() if due else None
                ),
            ),
            InputBlock(
                block_id=CommitmentField.KEY_RESULT,
                label=plain("For key result"),
                optional=True,
                hint=plain("Like KR-34: the commitment then shows next to it.", 2000),
                element=PlainTextInputElement(
                    action_id="value", max_length=20, initial_value=kr_ref or None
                ),
            ),
        ],
        callback_id=CommitmentCallback.ASK,
        submit="Ask",
    )
