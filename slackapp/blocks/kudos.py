"""Block Kit for recognition: the public post, recipients' DMs, the kudos modal, the full-text
modal, praise-draft prompts and the App Home leaderboard."""

from __future__ import annotations

import json
import re
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.behaviors import behavior_option
from slackapp.blocks.common import (
    OPTIONS_MAX,
    SECTION_TEXT_MAX,
    VIEW_BLOCKS_MAX,
    context,
    cut,
    escape,
    header,
    modal,
    plain,
    section,
)
from storage.kudos import MAX_RECIPIENTS, KudosItem
from storage.leaderboards import Leaderboard
from storage.models import Behavior, PraiseDraft


class KudosAction(StrEnum):
    """The buttons of recognition messages, App Home and praise prompts."""

    READ_ALL = "kudos_read_all"
    OPEN = "kudos_open"  # App Home "Give kudos"
    DRAFT_CONFIRM = "praise_draft_confirm"
    DRAFT_DISMISS = "praise_draft_dismiss"
    PRIVACY = "leaderboard_privacy_toggle"
    REACTION_OPEN = "reaction_kudos_open"  # the prompt after a recognition emoji


class KudosCallback(StrEnum):
    """The kudos modal and the message shortcut that opens it on a message."""

    SUBMIT = "kudos_submit"
    PRAISE_SHORTCUT = "recognize_customer_praise"


class KudosField(StrEnum):
    """The kudos modal's inputs, named as storage names the fields in its errors."""

    RECIPIENTS = "recipients"
    PRAISE = "praise"
    BEHAVIOR = "behavior"


PREVIEW_CHARS = 700  # praise shown in a post before "Read all"
PRAISE_INPUT_MAX = 3000  # Slack's plain_text_input limit

_USER_TOKEN = re.compile(r"&lt;@([UW][A-Z0-9]+)(?:\|[^&]*)?&gt;")
_CHANNEL_TOKEN = re.compile(r"&lt;#([CG][A-Z0-9]+)(?:\|[^&]*)?&gt;")


def render_praise(text: str, limit: int) -> str:
    """Praise as mrkdwn: literal text (no @here pings, no links smuggled in), but the person and
    channel mentions the giver typed still display as names. Quoted, cut to `limit`."""
    body = escape(cut((text or "").strip(), limit))
    body = _USER_TOKEN.sub(r"<@\1>", body)
    body = _CHANNEL_TOKEN.sub(r"<#\1>", body)
    return "\n".join("> " + line for line in body.splitlines() or [""])


def people(user_ids: list[str]) -> str:
    names = [f"<@{u}>" for u in user_ids]
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def is_cut(item: KudosItem, limit: int = PREVIEW_CHARS) -> bool:
    return len(item.recognition.text.strip()) > limit


def _safe_link(link: str | None) -> str | None:
    if link and re.match(r"^https://[^\s<>|]+$", link):
        return link
    return None


def recognition_blocks(
    item: KudosItem, *, behavior: Behavior | None = None, for_recipient: bool = False
) -> list[Block]:
    rec = item.recognition
    title = (
        f":star2: <@{rec.giver_id}> recognized you!"
        if for_recipient
        else f":star2: *Kudos to {people(item.recipient_ids)}* from <@{rec.giver_id}>"
    )
    body = render_praise(rec.text, PREVIEW_CHARS)
    blocks: list[Block] = [section(f"{title}\n{body}")]
    notes = []
    if behavior is not None:
        notes.append(f":dart: Shows *B-{behavior.number}* {escape(cut(behavior.description, 150))}")
    link = _safe_link(rec.link)
    if link:
        notes.append(f":link: <{link}|Original message>")
    if rec.source == "sheet":
        notes.append(":bar_chart: From the customer praise sheet")
    if notes:
        blocks.append(context("  ·  ".join(notes)))
    if is_cut(item):
        blocks.append(
            ActionsBlock(
                block_id="kudos_more",
                elements=[
                    ButtonElement(
                        text="Read all", action_id=KudosAction.READ_ALL, value=str(rec.id)
                    )
                ],
            )
        )
    return blocks


def recognition_text(item: KudosItem) -> str:
    """Notification fallback text (no pings beyond the people named)."""
    return cut(
        f"Kudos to {people(item.recipient_ids)} from <@{item.recognition.giver_id}>: "
        f"{escape(item.recognition.text)}",
        300,
    )


def escaped_chunks(text: str, limit: int) -> list[str]:
    """`text` escaped for mrkdwn, in pieces of at most `limit` characters. Escaping makes `&`,
    `<` and `>` longer, so pieces are measured after escaping, and an entity such as `&amp;`
    always stays whole: joined and unescaped, the pieces give back the text exactly."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current or not chunks:
        chunks.append("".join(current))
    return chunks


def full_text_modal(item: KudosItem) -> View:
    """The whole praise, in as many sections as it takes (within the 100-block limit)."""
    chunks = escaped_chunks(item.recognition.text, SECTION_TEXT_MAX)
    blocks: list[Block] = [
        section(f"Kudos to {people(item.recipient_ids)} from <@{item.recognition.giver_id}>")
    ]
    room = VIEW_BLOCKS_MAX - 2
    for chunk in chunks[:room]:
        blocks.append(section(chunk))
    if len(chunks) > room:
        blocks.append(context("The rest is too long to show in Slack."))
    return modal("Kudos", blocks)


def _behavior_input(behaviors: list[Behavior], require_behavior: bool) -> list[Block]:
    """The behavior the kudos shows: a choice, or why there is none when one is required."""
    if behaviors:
        return [
            InputBlock(
                block_id=KudosField.BEHAVIOR,
                label=plain("Behavior it shows"),
                optional=not require_behavior,
                element=StaticSelectElement(
                    action_id="value",
                    options=[behavior_option(b) for b in behaviors[:OPTIONS_MAX]],
                ),
            )
        ]
    if require_behavior:
        return [
            context(
                ":warning: This workspace asks every kudos to name a behavior, but none are "
                "defined yet. A department head adds them with `/behavior add`."
            )
        ]
    return []


def kudos_modal(
    *,
    behaviors: list[Behavior],
    require_behavior: bool,
    praise: str = "",
    recipients: list[str] | None = None,
    quoted: str | None = None,
    link: str | None = None,
    metadata: dict | None = None,
    title: str = "Give kudos",
) -> View:
    blocks: list[Block] = []
    if quoted is not None:
        blocks.append(section("*The message*\n" + render_praise(quoted, 2500)))
        if _safe_link(link):
            blocks.append(context(f":link: <{link}|Open the original message>"))
    blocks += [
        InputBlock(
            block_id=KudosField.RECIPIENTS,
            label=plain("Who made this happen?"),
            hint=plain(f"Up to {MAX_RECIPIENTS} people.", 2000),
            element=UserMultiSelectElement(
                action_id="value",
                initial_users=recipients or None,
                max_selected_items=MAX_RECIPIENTS,
            ),
        ),
        InputBlock(
            block_id=KudosField.PRAISE,
            label=plain("What the customer said or what they did"),
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=PRAISE_INPUT_MAX,
                initial_value=cut(praise, PRAISE_INPUT_MAX) or None,
            ),
        ),
        *_behavior_input(behaviors, require_behavior),
    ]
    return modal(
        title,
        blocks,
        callback_id=KudosCallback.SUBMIT,
        submit="Recognize",
        private_metadata=json.dumps(metadata or {}),
    )


def draft_prompt_blocks(draft: PraiseDraft) -> list[Block]:
    when = f" on {draft.praise_date:%b %d, %Y}" if draft.praise_date else ""
    customer = escape(cut(draft.customer.strip(), 100)) or "A customer"
    return [
        section(
            f":speech_balloon: *Customer praise for <@{draft.staff_user_id}>*{when}\n"
            f"_{customer}_ wrote:\n{render_praise(draft.comment, 2500)}"
        ),
        context(
            "From the customer praise sheet. Confirm to post it as kudos; each praise is decided once."
        ),
        ActionsBlock(
            block_id=f"praise_draft_{draft.id}",
            elements=[
                ButtonElement(
                    text="Confirm kudos",
                    action_id=KudosAction.DRAFT_CONFIRM,
                    value=str(draft.id),
                    style="primary",
                ),
                ButtonElement(
                    text="Dismiss", action_id=KudosAction.DRAFT_DISMISS, value=str(draft.id)
                ),
            ],
        ),
    ]


def leaderboard_blocks(
    board: Leaderboard, *, quarter: str, hidden: bool, max_departments: int = 8
) -> list[Block]:
    blocks: list[Block] = [header(f"Recognition leaderboard — {quarter}")]
    if board.top:
        medals = [":first_place_medal:", ":second_place_medal:", ":third_place_medal:"]
        lines = [
            f"{medals[i] if i < 3 else f'{i + 1}.'} <@{uid}> — {n} kudos"
            for i, (uid, n) in enumerate(board.top)
        ]
        blocks.append(section("*Most recognized*\n" + "\n".join(lines)))
    else:
        blocks.append(section("No kudos this quarter yet — be the first with `/kudos`."))
    if board.per_department:
        lines = []
        for dept, kudos, heads, per_head in board.per_department[:max_departments]:
            recognized = board.recognized_per_department.get(dept.id, 0)
            share = f"{recognized / heads:.0%}" if heads else "—"
            lines.append(
                f"*{escape(cut(dept.name, 60))}*: {kudos} kudos · {heads} people · "
                f"{per_head:.1f} per person · {share} recognized"
            )
        more = len(board.per_department) - max_departments
        if more > 0:
            lines.append(f"…and {more} more departments")
        blocks.append(section("*Fairness: per department, per head-count*\n" + "\n".join(lines)))
    blocks.append(
        context(
            f"{board.members_recognized} of {board.members_total} department members "
            f"({board.share_recognized:.0%}) were recognized at least once this quarter."
        )
    )
    blocks.append(
        ActionsBlock(
            block_id="leaderboard_privacy",
            elements=[
                ButtonElement(
                    text="Show me on leaderboards" if hidden else "Hide me from leaderboards",
                    action_id=KudosAction.PRIVACY,
                    value="show" if hidden else "hide",
                )
            ],
        )
    )
    if hidden:
        blocks.append(context("You're hidden from leaderboards. Your kudos still reach you."))
    return blocks
