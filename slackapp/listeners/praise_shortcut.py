"""Message shortcut "Recognize customer praise": any message → the kudos modal, quoted, linked."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import notice_modal
from slackapp.blocks.kudos import KudosCallback
from slackapp.listeners.kudos import ADD_BOT_HINT, open_kudos_modal

log = logging.getLogger(__name__)

UNREADABLE = ("channel_not_found", "not_in_channel", "access_denied", "missing_scope")


def message_text(message: dict) -> str:
    """The words of a message, including those of attachments (support tools and email
    forwarders often put the customer's text there)."""
    parts = [message.get("text") or ""]
    for att in message.get("attachments") or []:
        parts += [att.get("pretext") or "", att.get("text") or att.get("fallback") or ""]
    for f in message.get("files") or []:
        parts.append(f.get("preview") or f.get("plain_text") or "")
    return "\n".join(p for p in parts if p.strip()).strip()


def unreadable_text(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return (
            "I can't read direct messages, so I can't link this one. Share the praise in a "
            "channel I'm in and use the shortcut there, or type `/kudos @name what they said`."
        )
    return (
        f"I can't read messages in <#{channel_id}>, so I can't quote and link this one. "
        f"{ADD_BOT_HINT} Then use *Recognize customer praise* on the message again."
    )


def linked_message(client, shortcut: dict) -> tuple[str, dict, str, str] | None:
    """The channel, message, timestamp and permalink a message shortcut was used on; None when
    the app cannot read that channel, after telling the user in a modal how to fix that."""
    channel_id = (shortcut.get("channel") or {}).get("id") or ""
    message = shortcut.get("message") or {}
    ts = message.get("ts") or shortcut.get("message_ts") or ""
    try:
        link = client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error not in UNREADABLE:
            raise
        client.views_open(
            trigger_id=shortcut["trigger_id"],
            view=notice_modal("Add me to the channel", unreadable_text(channel_id)),
        )
        return None
    return channel_id, message, ts, link


def handle_praise_shortcut(ack, shortcut, deps, team_id, client):
    ack()
    linked = linked_message(client, shortcut)
    if linked is None:
        return
    channel_id, message, ts, link = linked
    text = message_text(message)
    open_kudos_modal(
        deps,
        client,
        shortcut["trigger_id"],
        team_id=team_id,
        praise=text,
        quoted=text,
        link=link,
        source="shortcut",
        channel_id=channel_id,
        message_ts=ts,
        title="Recognize praise",
    )


def register(app: App) -> None:
    app.shortcut(KudosCallback.PRAISE_SHORTCUT)(handle_praise_shortcut)
