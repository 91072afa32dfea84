"""The Share in channel button under an ephemeral reply, and the channel copy it posts."""

from __future__ import annotations

from enum import StrEnum

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from slackapp.blocks.block_json import block_json
from slackapp.blocks.common import MESSAGE_BLOCKS_MAX, context


class ShareAction(StrEnum):
    SHARE = "share_in_channel"


KINDS = ("show", "tree", "kpi")
INVITE_HINT = (
    "I'm not in this channel, so I can't share it here. Invite me with `/invite @Loyalty OKRs`, "
    "then press *Share in channel* again."
)


def with_share_button(blocks: list[dict], kind: str, arg: str) -> list[dict]:
    """The reply's blocks with the button last (within the 50-block limit). Its value names
    what to show again, never the content itself: the press rebuilds it from current data."""
    button = ButtonElement(
        text="Share in channel", action_id=ShareAction.SHARE, value=f"{kind}|{arg}"[:2000]
    )
    if len(blocks) < MESSAGE_BLOCKS_MAX:
        return [*blocks, block_json(ActionsBlock(elements=[button]))]
    last = blocks[-1]
    if last.get("type") == "actions" and len(last["elements"]) < 25:
        # A full reply: next to its own buttons (paging), which must not be pushed out.
        return [*blocks[:-1], {**last, "elements": [*last["elements"], block_json(button)]}]
    return [*blocks[: MESSAGE_BLOCKS_MAX - 1], block_json(ActionsBlock(elements=[button]))]


def shared_copy(blocks: list[dict], user_id: str) -> list[dict]:
    """What the channel sees: the reply without its buttons, and who shared it."""
    body = [b for b in blocks if b.get("type") != "actions"]
    return [*body[: MESSAGE_BLOCKS_MAX - 1], block_json(context(f"Shared by <@{user_id}>"))]
