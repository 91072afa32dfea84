"""Share in channel: `/okr show`, `/okr tree` and `/kpi <name>` replies are ephemeral; their
button posts the same content, rebuilt from current data, in the channel where the command was
typed, "shared by" the person who pressed it."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import cut, error_reply
from slackapp.blocks.share import INVITE_HINT, ShareAction, shared_copy
from slackapp.context import Deps
from slackapp.listeners import alignment, kpi, objectives
from slackapp.replies import explain, reply
from slackapp.roles import Caller
from storage.departments import require_member
from storage.errors import DomainError

log = logging.getLogger(__name__)

# Slack's answers meaning the app cannot post in that channel (not a member, or cannot see it).
NOT_THERE = {"not_in_channel", "channel_not_found"}


def _content(deps: Deps, kind: str, arg: str, *, team_id: str) -> tuple[str, list[dict]]:
    if kind == "show":
        return objectives.show_content(deps, arg, team_id=team_id)
    if kind == "tree":
        scope, _, page = arg.rpartition("|")
        page_number = int(page) if page.isdigit() else 1
        return alignment.tree_content(deps, scope, team_id=team_id, page=page_number)
    if kind == "kpi":
        return kpi.kpi_content(deps, arg, team_id=team_id)
    raise DomainError("That button does not say what to share.")


def handle_share(
    ack, body, deps: Deps, caller: Caller, team_id: str, user_id: str, client, respond
):
    ack()
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
            require_member(session, **caller.as_user(session), action="share in a channel")
        text, blocks = _content(deps, kind, arg, team_id=team_id)
    except DomainError as exc:
        message = explain(exc)
        respond(
            text=message,
            blocks=error_reply(pressed, message),
            response_type="ephemeral",
            replace_original=False,
        )
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
    app.action(ShareAction.SHARE)(handle_share)
