"""Confirm / Dismiss buttons on Praise-sheet drafts (sent by jobs/praise_notify.py)."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, context, section
from slackapp.blocks.kudos import KudosAction, people, render_praise
from slackapp.listeners.kudos import deliver_recognition, respond_teller
from slackapp.replies import reply
from storage.errors import DomainError
from storage.praise import AlreadyDecided, decide_draft

log = logging.getLogger(__name__)


def _decide(ack, body, deps, team_id, caller, client, respond, *, confirm: bool):
    ack()
    value = body["actions"][0].get("value") or ""
    if not value.isdigit():
        return
    try:
        with deps.session() as session:
            draft, item = decide_draft(
                session,
                **caller.as_actor(session),
                draft_id=int(value),
                confirm=confirm,
                name_people=people,
            )
    except AlreadyDecided as exc:
        who = f" by <@{exc.decided_by}>" if exc.decided_by else ""
        reply(respond, f":information_source: This praise was already {exc.status}{who}.")
        return
    except DomainError as exc:
        reply(respond, f":information_source: {exc.message}")
        return
    verdict = (
        f":white_check_mark: You confirmed this as kudos for <@{draft.staff_user_id}>."
        if confirm
        else ":wastebasket: You dismissed this praise; it won't be posted."
    )
    quoted = section(render_praise(draft.comment, 1500))
    respond(text=verdict, blocks=as_dicts([quoted, context(verdict)]), replace_original=True)
    update_other_copies(client, draft, body, confirm=confirm)
    if item is not None:
        deliver_recognition(
            deps, client, team_id=team_id, item=item, tell_giver=respond_teller(respond)
        )


def update_other_copies(client, draft, body, *, confirm: bool) -> None:
    """The other heads' copies lose their buttons and say who decided."""
    try:
        copies = json.loads(draft.notified_messages or "[]")
    except ValueError:
        copies = []
    clicked = (body.get("container") or {}).get("message_ts")
    outcome = "confirmed it as kudos" if confirm else "dismissed it"
    note = f"<@{draft.decided_by}> {outcome}."
    blocks = as_dicts([section(render_praise(draft.comment, 1500)), context(note)])
    for channel, ts in copies:
        if ts == clicked:
            continue
        try:
            client.chat_update(channel=channel, ts=ts, text=note, blocks=blocks)
        except SlackApiError as exc:  # a stale copy still refuses a second decision
            log.info(
                "could not update praise copy %s/%s: %s", channel, ts, exc.response.get("error")
            )


def handle_confirm(ack, body, deps, team_id, caller, client, respond):
    _decide(ack, body, deps, team_id, caller, client, respond, confirm=True)


def handle_dismiss(ack, body, deps, team_id, caller, client, respond):
    _decide(ack, body, deps, team_id, caller, client, respond, confirm=False)


def register(app: App) -> None:
    app.action(KudosAction.DRAFT_CONFIRM)(handle_confirm)
    app.action(KudosAction.DRAFT_DISMISS)(handle_dismiss)
