"""Reactions as kudos: the recognition emoji, added by a head or admin to a message in the
customer-feedback channel, offers them a one-click way into the kudos form for that message."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from slackapp.blocks.common import as_dicts, section
from slackapp.blocks.kudos import KudosAction
from slackapp.listeners.kudos import open_kudos_modal
from slackapp.listeners.praise_shortcut import message_text
from slackapp.roles import Caller
from storage.teams import team_or_default

log = logging.getLogger(__name__)


def emoji_name(reaction: str) -> str:
    """`star::skin-tone-3` → `star` (a skin tone is still the same emoji)."""
    return (reaction or "").split("::", 1)[0].strip(":").lower()


def may_recognize(caller: Caller, session) -> bool:
    return caller.is_head(session) or caller.is_admin(session)


def prompt_blocks(channel_id: str, ts: str) -> list[dict]:
    return as_dicts(
        [
            section(
                ":star2: You marked this customer feedback. Recognize the people behind it? "
                "The kudos form opens with the message quoted and linked."
            ),
            ActionsBlock(
                block_id="reaction_kudos",
                elements=[
                    ButtonElement(
                        text="Recognize the people behind it",
                        action_id=KudosAction.REACTION_OPEN,
                        value=json.dumps({"c": channel_id, "ts": ts}),
                        style="primary",
                    )
                ],
            ),
        ]
    )


def handle_reaction_added(event, deps, team_id, caller, client):
    item = event.get("item") or {}
    user_id = event.get("user") or ""
    if item.get("type") != "message" or not user_id:
        return
    channel_id, ts = item.get("channel") or "", item.get("ts") or ""
    with deps.session() as session:
        team = team_or_default(session, team_id=team_id)
        if not team.feedback_channel or channel_id != team.feedback_channel:
            return
        if emoji_name(event.get("reaction")) != emoji_name(team.recognition_emoji or "star"):
            return
        # The caller is the person who reacted.
        if caller.user_id != user_id or not may_recognize(caller, session):
            return
    blocks = prompt_blocks(channel_id, ts)
    text = "Recognize the people behind this customer feedback?"
    try:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=blocks)
    except SlackApiError as exc:  # e.g. not_in_channel: a DM reaches them anyway
        log.info("ephemeral prompt failed (%s); sending a DM", exc.response.get("error"))
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks)


def fetch_message_text(client, channel_id: str, ts: str) -> str:
    """The reacted message's words (conversations.history); empty when they can't be read."""
    try:
        resp = client.conversations_history(
            channel=channel_id, latest=ts, oldest=ts, inclusive=True, limit=1
        )
    except SlackApiError as exc:
        log.info("could not read %s/%s: %s", channel_id, ts, exc.response.get("error"))
        return ""
    messages = resp.get("messages") or []
    return message_text(messages[0]) if messages else ""


def handle_open(ack, body, deps, team_id, caller, client, respond):
    ack()
    try:
        target = json.loads(body["actions"][0].get("value") or "{}")
        channel_id, ts = str(target["c"]), str(target["ts"])
    except (ValueError, KeyError, TypeError):
        return
    with deps.session() as session:
        team = team_or_default(session, team_id=team_id)
        # The button only ever points into the feedback channel; never read anywhere else.
        allowed = team.feedback_channel == channel_id and may_recognize(caller, session)
    if not allowed:
        respond(
            text="This prompt is no longer valid (the feedback channel changed).",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    try:
        link = client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
    except SlackApiError:
        link = None
    text = fetch_message_text(client, channel_id, ts)
    open_kudos_modal(
        deps,
        client,
        body["trigger_id"],
        team_id=team_id,
        praise=text,
        quoted=text or None,
        link=link,
        source="reaction",
        channel_id=channel_id,
        message_ts=ts,
        title="Recognize praise",
    )


def register(app: App) -> None:
    app.event("reaction_added")(handle_reaction_added)
    app.action(KudosAction.REACTION_OPEN)(handle_open)
