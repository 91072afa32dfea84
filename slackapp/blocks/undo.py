"""Undo buttons under a confirmation (the author's own check-in, behavior log or kudos)."""

from __future__ import annotations

from enum import StrEnum

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from slackapp.blocks.common import section


class UndoAction(StrEnum):
    CHECKIN = "checkin_undo"
    BEHAVIOR_LOG = "behavior_log_undo"
    KUDOS = "kudos_undo"


def with_undo(text: str, action_id: str, value: int) -> list[Block]:
    """The confirmation, then its Undo button carrying the id of what it undoes."""
    return [
        section(text),
        ActionsBlock(elements=[ButtonElement(text="Undo", action_id=action_id, value=str(value))]),
    ]
