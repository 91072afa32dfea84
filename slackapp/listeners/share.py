"""Share in channel: `/okr show`, `/okr tree` and `/kpi <name>` replies are ephemeral; their
button posts the same content, rebuilt from current data, in the channel where the command was
typed, "shared by" the person who pressed it."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import cut, error_reply
from slackapp.blocks.share import INVITE_HINT, SHARE_ACTION, shared_copy
from slackapp.listeners import alignment, kpi, objectives
from slackapp.replies import explain, reply
from storage.departments import require_member
from storage.errors import DomainError

log = logging.getLogger(__name__)

# Slack's answers meaning the app cannot post in that channel (not a member, or cannot see it).
NOT_THERE = {"not_in_channel", "channel_not_found"}


def _content(context, kind: str, arg: str) -> tuple[str, list[dict]]:
    if kind == "show":
        return objectives.show_content(context, arg)
    if kind == "tree":
        scope, _, page = arg.rpartition("|")
        return alignment.tree_content(context, scope, int(page) if page.isdigit() else 1)
    if kind == "kpi":
        return kpi.kpi_content(context, arg)
    raise DomainError("That button does not say what to share.")


def handle_share(ack, body, context, client, respond):
    ack()
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    value = (body["actions"][0].get("value") or "")[:300]
    kind, _, arg = value.partition("|")
    pressed = f"Share in channel {value}"
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    try:
        if not channel:
            raise DomainError("Slack did not say which channel this reply is in.")
        with deps.session() as session:
            admin = context["caller"].is_admin(session)
            require_member(session, team_id=team_id, user_id=user_id, is_admin=admin,
                           action="share in a channel")  # fmt: skip
        text, blocks = _content(context, kind, arg)
    except DomainError as exc:
        message = explain(exc)
        respond(text=message, blocks=error_reply(pressed, message), response_type="ephemeral",
                replace_original=False)  # fmt: skip
        return
    try:
        client.chat_postMessage(
            channel=channel, text=cut(f"{text} (shared)", 3000), blocks=shared_copy(blocks, user_id)
        )
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "no answer"
        if error in NOT_THERE:
            reply(respond, INVITE_HINT)
            return
        log.warning("share in %s failed: %s", channel, error)
        reply(respond, f"Slack did not post it (`{error}`); try again.")
        return
    reply(respond, f":loudspeaker: Shared in <#{channel}>.")


def register(app: App) -> None:
    app.action(SHARE_ACTION)(handle_share)
