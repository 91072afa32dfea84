"""`/kudos`, the kudos modal (also used by the praise shortcut, reactions and App Home), posting
a recognition and undoing it, "Read all", the leaderboard on App Home and its privacy toggle."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ButtonElement

from slackapp.blocks.common import as_dicts, divider, quote, section
from slackapp.blocks.kudos import (
    KudosAction,
    KudosCallback,
    KudosField,
    full_text_modal,
    kudos_modal,
    leaderboard_blocks,
    people,
    recognition_blocks,
    recognition_text,
)
from slackapp.blocks.undo import UndoAction, with_undo
from slackapp.command_answer import CommandAnswer
from slackapp.command_parsing import KUDOS_USAGE as USAGE
from slackapp.command_parsing import split_behavior_tag
from slackapp.context import Deps, fetch_user
from slackapp.form_errors import block_errors
from slackapp.mentions import USER, split_mentions
from slackapp.replies import UsageError, guarded, reply
from slackapp.roles import Caller
from slackapp.slack_users import is_fresh
from slackapp.undo import undo_from_button
from storage.behaviors import behavior_options
from storage.errors import DomainError, FieldErrors
from storage.kudos import (
    SOURCES,
    KudosItem,
    create_recognition,
    get_recognition,
    set_recognition_post,
    undo_recognition,
    validate_kudos,
)
from storage.leaderboards import is_hidden, leaderboard, set_hide_from_leaderboards
from storage.models import Behavior, SlackUser, Team
from storage.once import claim_once
from storage.quarters import current_quarter_range
from storage.teams import cached_users, team_or_default

log = logging.getLogger(__name__)

# Leading run of person mentions (and separators) before the praise itself.
_LEADING = re.compile(r"^(?:\s*(?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>|,|&amp;|and\b|&)\s*)+", re.I)
BEHAVIOR_TAG_HINT = (
    "Tag a behavior as `#B-5` (or `#` and the behavior's name) — see `/behavior list`."
)
ADD_BOT_HINT = (
    "Invite me there: open the channel and type `/invite @Loyalty OKRs` "
    "(or channel details → Integrations → Add apps)."
)


# --- parsing and recording ----------------------------------------------------------------


def parse_kudos_text(text: str) -> tuple[list[str], str, str | None]:
    """(recipient ids, praise, behavior tag) from escaped `/kudos` text; DomainError for text
    without a person in it (user groups, channels, @here are not people)."""
    mentions = split_mentions(text)
    if mentions.groups or mentions.specials:
        raise UsageError(
            "Kudos go to people, not to user groups or @here/@channel; mention each person, "
            "e.g. `@maria @sam`.",
            usage=USAGE,
        )
    if not mentions.users:
        if mentions.channels:
            raise UsageError(
                "That's a channel, not a person; mention the people you want to recognize.",
                usage=USAGE,
            )
        raise UsageError("Mention at least one person to recognize, e.g. `@maria`.", usage=USAGE)
    praise = _LEADING.sub("", text or "", count=1).strip()
    praise, tag = split_behavior_tag(praise)
    if not USER.sub("", praise).strip():
        raise UsageError(
            "Say what the customer said or what they did after the names.", usage=USAGE
        )
    return mentions.users, praise, tag


def recipients_in_cache(
    session, *, team_id: str, user_ids: list[str]
) -> tuple[dict[str, SlackUser], list[str]]:
    """The recipients' cached users.info rows, and those not cached within the hour (one read
    for all)."""
    cached = cached_users(session, team_id=team_id, user_ids=list(user_ids))
    return cached, [uid for uid in user_ids if not is_fresh(cached.get(uid))]


def ask_slack_about(deps: Deps, client, *, team_id: str, user_ids: list[str]) -> None:
    """users.info for each of them, so bots and deleted accounts are refused; each cached in a
    transaction of its own, so no write waits on the next Slack call."""
    for uid in user_ids:
        try:
            with deps.session() as session:
                fetch_user(session, client, team_id=team_id, user_id=uid)
        except SlackApiError as exc:
            raise DomainError(
                f"I couldn't check <@{uid}> with Slack ({exc.response.get('error')}); "
                "try again in a moment."
            ) from exc


def refresh_recipients(deps: Deps, client, *, team_id: str, user_ids: list[str]) -> None:
    """users.info for each recipient not cached within the hour."""
    with deps.session() as session:
        _, stale = recipients_in_cache(session, team_id=team_id, user_ids=user_ids)
    ask_slack_about(deps, client, team_id=team_id, user_ids=stale)


# --- delivering ---------------------------------------------------------------------------


Teller = Callable[..., None]  # (text, blocks=None): how the giver hears back


def delivery_facts(
    session, *, team_id: str, item: KudosItem, team: Team | None = None
) -> tuple[str | None, Behavior | None]:
    """What delivering a recognition needs to know: the recognition channel and its behavior.
    `team`: the team's row when the caller holds it already."""
    behavior = (
        session.get(Behavior, item.recognition.behavior_id)
        if item.recognition.behavior_id
        else None
    )
    if team is None:
        team = team_or_default(session, team_id=team_id)
    return team.recognition_channel, behavior


def deliver_recognition(
    deps: Deps,
    client,
    *,
    team_id: str,
    item: KudosItem,
    tell_giver: Teller,
    facts: tuple[str | None, Behavior | None] | None = None,
) -> None:
    """Post publicly and DM each recipient; runs after the recognition is committed, so a Slack
    failure never loses it. The giver hears what happened (and about a missing channel), with
    an Undo button. `facts`: `delivery_facts`, when the caller read them already."""
    if facts is None:
        with deps.session() as session:
            facts = delivery_facts(session, team_id=team_id, item=item)
    channel, behavior = facts
    public = as_dicts(recognition_blocks(item, behavior=behavior))
    text = recognition_text(item)
    outcome = f":star2: Kudos to {people(item.recipient_ids)} recorded"
    if channel:
        try:
            posted = client.chat_postMessage(
                channel=channel, text=text, blocks=public, unfurl_links=False
            )
            outcome += f" and posted in <#{channel}>."
            with deps.session() as session:  # so that undoing the kudos can take the post down
                set_recognition_post(
                    session,
                    team_id=team_id,
                    recognition_id=item.recognition.id,
                    channel_id=posted.get("channel") or channel,
                    ts=posted.get("ts") or "",
                )
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("recognition post to %s failed: %s", channel, error)
            hint = ADD_BOT_HINT if error in ("not_in_channel", "channel_not_found") else ""
            outcome += (
                f", but I couldn't post it in <#{channel}> ({error}). {hint} "
                "I've sent it to the recipients directly."
            )
    else:
        outcome += (
            ". No recognition channel is set yet, so it wasn't posted publicly — a workspace "
            "admin can pick one in `/okr setup`. I've sent it to the recipients directly."
        )
    private = as_dicts(recognition_blocks(item, behavior=behavior, for_recipient=True))
    for uid in item.recipient_ids:
        try:
            client.chat_postMessage(channel=uid, text=text, blocks=private, unfurl_links=False)
        except SlackApiError as exc:
            log.warning("kudos DM to %s failed: %s", uid, exc.response.get("error"))
    outcome += " Changed your mind? *Undo* within 24 hours."
    tell_giver(outcome, as_dicts(with_undo(outcome, UndoAction.KUDOS, item.recognition.id)))


def dm_teller(client, user_id: str) -> Teller:
    def tell(text: str, blocks: list[dict] | None = None) -> None:
        try:
            client.chat_postMessage(
                channel=user_id, text=text, blocks=blocks or as_dicts([section(text)])
            )
        except SlackApiError as exc:
            log.warning("could not tell %s: %s", user_id, exc.response.get("error"))

    return tell


def respond_teller(respond) -> Teller:
    return lambda text, blocks=None: reply(respond, text, blocks)


# --- /kudos -------------------------------------------------------------------------------


def open_kudos_modal(
    deps: Deps,
    client,
    trigger_id: str,
    *,
    team_id: str,
    praise: str = "",
    quoted: str | None = None,
    link: str | None = None,
    source: str = "command",
    channel_id: str | None = None,
    message_ts: str | None = None,
    title: str = "Give kudos",
    push: bool = False,
) -> None:
    with deps.session() as session:
        team = team_or_default(session, team_id=team_id)
        behaviors = behavior_options(session, team_id=team_id)
        require = team.kudos_require_behavior
    view = kudos_modal(
        behaviors=behaviors,
        require_behavior=require,
        praise=praise,
        quoted=quoted,
        link=link,
        title=title,
        metadata={"source": source, "channel": channel_id, "ts": message_ts, "link": link},
    )
    if push:
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)


def handle_kudos_command(answer: CommandAnswer, command, deps, team_id, user_id, client):
    # Acknowledged first: users.info, storing and posting follow, and the confirmation says
    # where the kudos went, after the posts.
    answer.acknowledge()
    with answer:
        _kudos_command(answer, command, deps, team_id, user_id, client)


def _kudos_command(respond, command, deps, team_id, user_id, client):
    text = (command.get("text") or "").strip()
    if not text:
        open_kudos_modal(deps, client, command["trigger_id"], team_id=team_id)
        return

    def record(session, recipients, praise, tag, users=None):
        # Read first and held: storing finds the team's row in the session instead of reading
        # it again, and so does delivery_facts.
        team = team_or_default(session, team_id=team_id)
        try:
            item = create_recognition(
                session,
                team_id=team_id,
                giver_id=user_id,
                recipient_ids=recipients,
                text=praise,
                behavior_tag=tag,
                source="command",
                channel_id=command.get("channel_id"),
                name_people=people,
                users=users,
            )
        except FieldErrors as exc:
            if "behavior" not in exc.errors:
                raise
            hinted = f"{exc.errors['behavior']} {BEHAVIOR_TAG_HINT}"
            raise FieldErrors({**exc.errors, "behavior": hinted}) from None
        return item, delivery_facts(session, team_id=team_id, item=item, team=team)

    def run():
        recipients, praise, tag = parse_kudos_text(text)
        stored = None
        with deps.session() as session:
            # Self-kudos is refused without asking Slack; recipients cached within the hour
            # need no Slack call, and then one transaction does it all.
            cached, stale = None, []
            if user_id not in recipients:
                cached, stale = recipients_in_cache(session, team_id=team_id, user_ids=recipients)
            if not stale:  # checking them uses the rows just read
                stored = record(session, recipients, praise, tag, users=cached)
        if stored is None:
            ask_slack_about(deps, client, team_id=team_id, user_ids=stale)
            with deps.session() as session:
                stored = record(session, recipients, praise, tag)
        item, facts = stored
        deliver_recognition(
            deps,
            client,
            team_id=team_id,
            item=item,
            tell_giver=respond_teller(respond),
            facts=facts,
        )

    guarded(respond, f"/kudos {text}", USAGE, run)


def _input(values: dict, block_id: str) -> dict:
    return values.get(block_id, {}).get("value", {})


def _metadata(view) -> dict:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _form_values(values: dict) -> tuple[list[str], str, str | None]:
    """(recipients, praise, picked behavior number) as the kudos form holds them."""
    recipients = _input(values, KudosField.RECIPIENTS).get("selected_users") or []
    praise = _input(values, KudosField.PRAISE).get("value") or ""
    picked = (_input(values, KudosField.BEHAVIOR).get("selected_option") or {}).get("value")
    return recipients, praise, picked


def handle_kudos_submission(ack, view, deps, team_id, user_id, client):
    """What the form alone can show wrong (yourself, nobody, no praise, a behavior) is answered
    inline before the ack; users.info, which may be slow, runs after it. A resubmission of the
    same form (Slack showed an error, the giver pressed Send again) is recorded once."""
    recipients, praise, picked = _form_values(view["state"]["values"])
    meta = _metadata(view)
    # private_metadata only says where the praise came from; who gives it is the payload's user.
    source = meta.get("source") if meta.get("source") in SOURCES else "command"
    link = meta.get("link") if re.match(r"^https://\S+$", str(meta.get("link") or "")) else None
    behavior_tag = f"B-{picked}" if picked else None
    try:
        with deps.session() as session:  # reads only: the people Slack told us about before
            validate_kudos(
                session,
                team_id=team_id,
                giver_id=user_id,
                recipient_ids=recipients,
                text=praise,
                behavior_tag=behavior_tag,
                name_people=people,
            )
    except FieldErrors as exc:
        present = {b.get("block_id") for b in view.get("blocks", [])}
        errors = block_errors(exc.errors, present=present or None, fallback="praise")
        ack(response_action="errors", errors=errors)
        return
    ack()
    tell_giver = dm_teller(client, user_id)
    try:
        refresh_recipients(deps, client, team_id=team_id, user_ids=recipients)
        with deps.session() as session:
            key = _submission_key(team_id, view)
            if key and not claim_once(session, team_id=team_id, key=key):
                log.info("kudos form %s was submitted again; recorded once", view.get("id"))
                return
            team = team_or_default(session, team_id=team_id)  # held: read once (see record)
            item = create_recognition(
                session,
                team_id=team_id,
                giver_id=user_id,
                recipient_ids=recipients,
                text=praise,
                behavior_tag=behavior_tag,
                link=link,
                source=source,
                channel_id=(meta.get("channel") or None) if source != "command" else None,
                message_ts=(meta.get("ts") or None) if source != "command" else None,
                name_people=people,
            )
            facts = delivery_facts(session, team_id=team_id, item=item, team=team)
    except DomainError as exc:  # FieldErrors included: the form is closed, so say it by DM
        tell_giver(
            f":warning: Your kudos was not recorded: {exc.message}\n"
            f"{quote(praise, 2500)}\nGive it again with `/kudos` once that is sorted."
        )
        return
    deliver_recognition(
        deps, client, team_id=team_id, item=item, tell_giver=tell_giver, facts=facts
    )


def _submission_key(team_id: str, view: dict) -> str | None:
    """One key per opened form: Slack keeps a view's id for as long as the modal is open."""
    view_id = str(view.get("id") or "")
    return f"kudos-form:{team_id}:{view_id}"[:64] if view_id else None


def handle_read_all(ack, body, deps, team_id, client):
    ack()
    value = body["actions"][0].get("value") or ""
    if not value.isdigit():
        return
    try:
        with deps.session() as session:
            item = get_recognition(session, team_id=team_id, recognition_id=int(value))
    except DomainError:
        return  # another workspace's id, or deleted by retention: nothing to show
    client.views_open(trigger_id=body["trigger_id"], view=full_text_modal(item))


def handle_open_kudos(ack, body, deps, team_id, client):
    ack()
    open_kudos_modal(deps, client, body["trigger_id"], team_id=team_id)


# --- undo ---------------------------------------------------------------------------------


def take_down_post(client, *, channel: str, ts: str) -> str:
    """Delete the app's public post of withdrawn kudos, or else edit it to say so; returns what
    happened, for the giver."""
    try:
        client.chat_delete(channel=channel, ts=ts)
        return f" Its post in <#{channel}> was deleted."
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error == "message_not_found":
            return ""  # someone already deleted it
        log.warning("could not delete kudos post %s/%s: %s", channel, ts, error)
    withdrawn = ":leftwards_arrow_with_hook: _These kudos were withdrawn by the giver._"
    try:
        client.chat_update(
            channel=channel, ts=ts, text=withdrawn, blocks=as_dicts([section(withdrawn)])
        )
        return f" Its post in <#{channel}> now says it was withdrawn."
    except SlackApiError as exc:
        log.warning("could not edit kudos post %s/%s: %s", channel, ts, exc.response.get("error"))
        return f" I couldn't take down its post in <#{channel}>; a channel admin can delete it."


def handle_kudos_undo(ack, body, caller: Caller, client, respond):
    ack()
    item = undo_from_button(
        body, caller, respond, undo=undo_recognition, id_keyword="recognition_id"
    )
    if item is None:
        return
    # Withdrawn in the database first: a Slack failure below cannot bring the kudos back.
    outcome = (
        f":leftwards_arrow_with_hook: Undone: your kudos to {people(item.recipient_ids)} "
        "no longer count on the leaderboard or in digests."
    )
    rec = item.recognition
    if rec.post_channel_id and rec.post_ts:
        outcome += take_down_post(client, channel=rec.post_channel_id, ts=rec.post_ts)
    reply(respond, outcome)


# --- App Home -----------------------------------------------------------------------------


def home_contribution(session, *, team_id: str, user_id: str):
    quarter, start, end = current_quarter_range(session, team_id=team_id)
    board = leaderboard(session, team_id=team_id, start=start, end=end, limit=10)
    hidden = is_hidden(session, team_id=team_id, user_id=user_id)
    button = ButtonElement(text="Give kudos", action_id=KudosAction.OPEN)
    return [button], [divider(), *leaderboard_blocks(board, quarter=quarter, hidden=hidden)]


def handle_privacy_toggle(ack, body, deps, team_id, user_id, client):
    ack()
    hide = (body["actions"][0].get("value") or "") == "hide"
    with deps.session() as session:
        set_hide_from_leaderboards(session, team_id=team_id, user_id=user_id, hide=hide)
    # The toggle is on the Home they are looking at: republish it now, not a moment later.
    from slackapp.listeners.app_home import publish_home

    publish_home(deps, client, team_id=team_id, user_id=user_id)


def register(app: App) -> None:
    app.command("/kudos")(handle_kudos_command)
    app.view(KudosCallback.SUBMIT)(handle_kudos_submission)
    app.action(KudosAction.READ_ALL)(handle_read_all)
    app.action(KudosAction.OPEN)(handle_open_kudos)
    app.action(KudosAction.PRIVACY)(handle_privacy_toggle)
    app.action(UndoAction.KUDOS)(handle_kudos_undo)
