"""Block Kit for commitments `C-7`: the heads' Accept/Decline DM, the decline modal, the
asker's notices, `/okr asks` and the digest lines."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    context,
    cut,
    escape,
    header,
    modal,
    plain,
    section,
)
from storage.models import NOTE_MAX, Commitment

ACCEPT, DECLINE = "commitment_accept", "commitment_decline"
DECLINE_CALLBACK = "commitment_decline_submit"
LIST_MAX = 40  # lines in one `/okr asks` reply


def status_text(c: Commitment, today: date) -> str:
    if c.status in ("open", "accepted") and c.due_date < today:
        return ":rotating_light: overdue"
    return {"open": "waiting for an answer", "accepted": "accepted", "declined": "declined",
            "done": "done"}[c.status]  # fmt: skip


def commitment_line(c: Commitment, names: dict[int, str], today: date) -> str:
    owner = f" · owner <@{c.owner_id}>" if c.owner_id else ""
    kr = " · for a key result" if c.key_result_id else ""
    return (
        f"*C-{c.number}* {escape(cut(c.what, 200))} — owed by "
        f"*{escape(names.get(c.department_id, '?'))}* to <@{c.asker_id}> · due "
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
                    text="Accept", action_id=ACCEPT, value=f"C-{c.number}", style="primary"
                ),  # fmt: skip
                ButtonElement(text="Decline…", action_id=DECLINE, value=f"C-{c.number}"),
            ],
        ),
    ]


def decided_dm(c: Commitment, department_name: str, by_you: bool) -> list[Block]:
    """What the heads' DM becomes once someone answered."""
    who = "You" if by_you else f"<@{c.decided_by}>"
    verb = "accepted" if c.status != "declined" else "declined"
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
                block_id="reason",
                label=plain("Why? The asker sees this."),
                element=PlainTextInputElement(
                    action_id="value", multiline=True, max_length=NOTE_MAX
                ),  # fmt: skip
            ),
        ],
        callback_id=DECLINE_CALLBACK,
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
    chunk: list[str] = []
    size = 0
    for c in rows[:LIST_MAX]:
        line = commitment_line(c, names, today)
        if chunk and size + len(line) + 1 > SECTION_TEXT_MAX:
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    blocks.append(section("\n".join(chunk)))
    if len(rows) > LIST_MAX:
        blocks.append(context(f"…and {len(rows) - LIST_MAX} more, oldest first."))
    return blocks[:MESSAGE_BLOCKS_MAX]
