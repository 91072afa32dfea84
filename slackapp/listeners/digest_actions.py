"""The buttons in a head's weekly digest: Nudge (a DM to the owner asking for an update, once
per key result per day), Comment… (a modal; the comment is kept on the key result and DMed to
its owner) and Turn into ask (the `/okr ask` form prefilled from a blocker).

Each press is checked again here: the digest is a message anyone could forward or forge, so the
value only names a key result of the presser's own workspace, and the role is the presser's.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, cut, error_reply, escape, section
from slackapp.blocks.digest import COMMENT_BLOCK, DigestAction, DigestView, comment_modal, nudge_dm
from slackapp.context import Deps
from slackapp.listeners.commitments import open_ask_modal
from slackapp.replies import explain, reply
from slackapp.roles import Caller
from storage.checkins import blocker_to_ask, guess_department
from storage.errors import DomainError
from storage.kr_comments import add_comment
from storage.models import Team
from storage.nudges import nudge
from storage.objectives import key_result_for_head
from storage.teams import team_now, team_zone

log = logging.getLogger(__name__)


def _pressed(body) -> str:
    return (body["actions"][0].get("value") or "")[:100]


def refuse(respond, pressed: str, exc: DomainError | str) -> None:
    """An ephemeral answer to a button that cannot do what it says, quoting what was pressed."""
    message = explain(exc) if isinstance(exc, DomainError) else exc
    respond(
        text=message,
        blocks=error_reply(pressed, message),
        response_type="ephemeral",
        replace_original=False,
    )


# ---- Nudge -------------------------------------------------------------------------------------


def handle_nudge(
    ack, body, deps: Deps, caller: Caller, team_id: str, user_id: str, client, respond
):
    ack()
    value = _pressed(body)
    pressed = f"Nudge {value}"
    try:
        with deps.session() as session:
            team = session.get(Team, team_id)
            today = team_now(team, deps.settings.loyalty_timezone).date()
            result = nudge(session, **caller.as_actor(session), ref=value, today=today)
            kr = result.key_result
            if result.created:
                # Inside the transaction: if Slack refuses the DM, no nudge is recorded and a
                # second press tries again.
                blocks = as_dicts(nudge_dm(kr, user_id))
                client.chat_postMessage(
                    channel=kr.owner_id, text=f"Update on KR-{kr.number}, please", blocks=blocks
                )
            zone = team_zone(team, deps.settings.loyalty_timezone)
            earlier = result.nudge
    except DomainError as exc:
        refuse(respond, pressed, exc)
        return
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "no answer"
        refuse(respond, pressed, f"Slack did not deliver the nudge (`{error}`); try again.")
        return
    if result.created:
        reply(respond, f":wave: Nudged <@{kr.owner_id}> for an update on *KR-{kr.number}*.")
        return
    at = earlier.created_at.astimezone(zone)
    by = "you" if earlier.nudged_by == user_id else f"<@{earlier.nudged_by}>"
    reply(
        respond,
        f"*KR-{kr.number}* was already nudged today at {at:%H:%M} ({zone.key}) by {by}; "
        "one nudge a day is enough. Try again tomorrow, or leave a comment.",
    )


# ---- Comment -----------------------------------------------------------------------------------


def handle_comment_button(ack, body, deps: Deps, caller: Caller, client, respond):
    ack()
    value = _pressed(body)
    try:
        with deps.session() as session:
            kr, _ = key_result_for_head(
                session, **caller.as_user(session), ref=value, action="comment on a key result"
            )
            view = comment_modal(kr)
    except DomainError as exc:
        refuse(respond, f"Comment {value}", exc)
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_comment_submission(ack, view, deps: Deps, caller: Caller, user_id: str, client):
    ref = (view.get("private_metadata") or "")[:20]
    comment = view["state"]["values"].get(COMMENT_BLOCK) or {}
    text = (comment.get("value") or {}).get("value") or ""
    try:
        with deps.session() as session:
            row, kr = add_comment(session, **caller.as_actor(session), ref=ref, text=text)
    except DomainError as exc:
        ack(response_action="errors", errors={COMMENT_BLOCK: explain(exc)[:2000]})
        return
    ack()
    if kr.owner_id == user_id:
        return
    message = (
        f":speech_balloon: <@{user_id}> commented on *KR-{kr.number}* "
        f"{escape(cut(kr.title, 150))}:\n{escape(cut(row.text, 2600))}"
    )
    try:
        client.chat_postMessage(
            channel=kr.owner_id,
            text=f"A comment on KR-{kr.number}",
            blocks=as_dicts([section(message)]),
        )
    except SlackApiError as exc:  # the comment is kept; /okr show has it
        log.warning("comment DM to %s failed: %s", kr.owner_id, exc.response.get("error"))


# ---- Turn into ask -----------------------------------------------------------------------------


def handle_blocker_ask(ack, body, deps: Deps, caller: Caller, team_id: str, client, respond):
    ack()
    value = _pressed(body)
    ref, _, checkin_id = value.partition("|")
    try:
        if not checkin_id.isdigit():
            raise DomainError("That button does not name a blocker.")
        with deps.session() as session:
            kr, row, dept = blocker_to_ask(
                session, **caller.as_user(session), ref=ref, checkin_id=int(checkin_id)
            )
            guess = guess_department(
                session, team_id=team_id, text=row.blocker, exclude_id=dept.id if dept else None
            )
            what = row.blocker
    except DomainError as exc:
        refuse(respond, f"Turn into ask {value}", exc)
        return
    open_ask_modal(
        deps,
        client,
        body["trigger_id"],
        team_id=team_id,
        what=what,
        department=guess,
        kr_ref=f"KR-{kr.number}",
    )


def register(app: App) -> None:
    app.action(DigestAction.NUDGE)(handle_nudge)
    app.action(DigestAction.COMMENT)(handle_comment_button)
    app.view(DigestView.COMMENT)(handle_comment_submission)
    app.action(DigestAction.ASK)(handle_blocker_ask)
