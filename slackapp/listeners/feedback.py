"""Customer voice in Slack: `/feedback`, the heads' Take it / Assign… / Close… buttons and
their modals, and the message shortcut *Log customer feedback*."""

from __future__ import annotations

import logging
import re
import shlex
from datetime import datetime

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, escape, section
from slackapp.blocks.feedback import (
    FeedbackAction,
    FeedbackCallback,
    FeedbackField,
    assign_modal,
    close_modal,
    followup_after,
    followup_detail,
    followup_line,
    followup_list,
    log_modal,
    routes_list,
)
from slackapp.command_answer import CommandAnswer
from slackapp.feedback_notify import announce_followups, refresh_heads_messages
from slackapp.listeners.praise_shortcut import linked_message, message_text
from slackapp.mentions import split_mentions
from slackapp.replies import UsageError, guarded, reply
from slackapp.roles import Caller
from storage import feedback as fstore
from storage import followups as store
from storage.departments import find_department
from storage.errors import DomainError, FieldErrors
from storage.feedback_figures import refresh_for_followup
from storage.models import Department, Followup, FollowUpStatus, utcnow

log = logging.getLogger(__name__)

TAKE_USAGE = "`/feedback take F-3`"
ASSIGN_USAGE = "`/feedback assign F-3 @user`"
CLOSE_USAGE = "`/feedback close F-3 contacted|resolved|unreachable|not-needed [note]`"
SHOW_USAGE = "`/feedback show F-3`"
LIST_USAGE = "`/feedback list [mine | open | overdue | <department> | all]`"
ROUTE_USAGE = '`/feedback route <keyword…> to <department>` (quote phrases: `"late delivery"`)'
UNROUTE_USAGE = "`/feedback unroute <keyword>`"
BEHAVIOR_USAGE = "`/feedback behavior B-5 [department]`"
USAGE = (
    f"{TAKE_USAGE} · {ASSIGN_USAGE} · {CLOSE_USAGE} · {SHOW_USAGE} · {LIST_USAGE} · "
    f"{ROUTE_USAGE} · `/feedback routes` · {UNROUTE_USAGE} · {BEHAVIOR_USAGE} · `/feedback help`"
)
HELP = f"""*Customer voice* — every detractor (score 0–6) gets a follow-up `F-n` for its department.
• `/feedback take F-3` — you follow it up (heads of its department, admins)
• `/feedback assign F-3 @user` — someone else follows it up
• `/feedback close F-3 contacted|resolved|unreachable|not-needed [note]` — done (its owner too)
• `/feedback show F-3` — the customer's words and where it stands
• `/feedback list [mine | open | overdue | <department> | all]`
• `/feedback route <keyword…> to <department>` · `/feedback routes` · `/feedback unroute <keyword>` — which department gets which feedback (admins; heads for their department)
• `/feedback behavior B-5 [department]` — closing a follow-up as contacted or resolved logs this behavior for the closer
Feedback arrives from the *Feedback* tab of the KPI sheet, survey tools (webhook), `loyalty feedback import` and the message shortcut *Log customer feedback*.
*Usage:* {USAGE}"""

_REF_AND_REST = re.compile(r"^(?P<ref>\S+)(?:\s+(?P<rest>.*))?$", re.S)


def _with_usage(usage: str, fn):
    """Domain refusals answered with the usage of the sub-command they came from."""
    try:
        return fn()
    except DomainError as exc:
        if getattr(exc, "usage", None) or isinstance(exc, FieldErrors):
            raise
        raise UsageError(exc.message, usage=usage, field=exc.field) from None


def _dm(client, user_id: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=as_dicts([section(text)]))
    except SlackApiError as exc:
        log.warning("DM to %s failed: %s", user_id, exc.response.get("error"))


def _refresh_kpis(deps, fu: Followup) -> None:
    """The customer-voice KPIs of the follow-up's week, after a first contact or a close: in
    their own transaction, so a clash with another close never undoes this one."""
    try:
        with deps.session() as session:
            refresh_for_followup(session, team_id=fu.team_id, received_at=fu.received_at)
    except Exception:  # noqa: BLE001 - the daily job recomputes them
        log.exception(
            "customer-voice KPIs after F-%s failed; the daily job recomputes them", fu.number
        )


def _after_win(deps, client, fu: Followup, what: str, *, skip=None, kpis: bool = True) -> None:
    """After a change that won: every head's DM says what happened, and the week's KPIs follow
    a first contact or a close."""
    try:
        with deps.session() as session:
            fb, dept = _context_of(session, fu)
        refresh_heads_messages(client, fu, fb, dept, what, skip=skip)
    except Exception:  # noqa: BLE001 - the change stands; stale copies only show old buttons
        log.exception("F-%s: updating the heads' DMs failed", fu.number)
    if kpis:
        _refresh_kpis(deps, fu)


def _loser_text(fu: Followup, user_id: str) -> str:
    """What the person who lost a race (or came late) is told."""
    if fu.status == FollowUpStatus.CLOSED:
        who = "you" if fu.closed_by == user_id else f"<@{fu.closed_by}>"
        return f"*F-{fu.number}* was already closed ({fu.outcome}) by {who}; nothing changed."
    who = "you" if fu.owner_id == user_id else f"<@{fu.owner_id}>"
    return f"*F-{fu.number}* is already taken by {who}; nothing changed."


def _context_of(session, fu: Followup):
    fb = (
        fstore.feedback_by_id(session, team_id=fu.team_id, feedback_id=fu.feedback_id)
        if fu.feedback_id
        else None
    )
    return fb, store.department_name(session, fu)


# ---- /feedback sub-commands -------------------------------------------------------------------


def take_cmd(deps, caller: Caller, respond, arg: str) -> None:
    user_id = caller.user_id
    ref = arg.strip()
    if not ref or " " in ref:
        raise UsageError("Say which follow-up to take.", usage=TAKE_USAGE)
    with deps.session() as session:
        actor = caller.as_actor(session)
        change = _with_usage(TAKE_USAGE, lambda: store.take(session, ref=ref, **actor))
        fu = change.followup
    if not change.won:
        reply(respond, _loser_text(fu, user_id))
        return
    _after_win(deps, caller.client, fu, f"<@{user_id}> took it.")
    reply(
        respond,
        f":white_check_mark: You took *F-{fu.number}*. Close it with "
        f"`/feedback close F-{fu.number} contacted [note]` once you've talked.",
    )


def assign_cmd(deps, caller: Caller, respond, arg: str) -> None:
    client, user_id = caller.client, caller.user_id
    m = _REF_AND_REST.match(arg.strip())
    users = split_mentions(m.group("rest") or "").users if m else []
    if not m or len(users) != 1:
        raise UsageError("Say which follow-up and who should own it.", usage=ASSIGN_USAGE)
    with deps.session() as session:
        actor = caller.as_actor(session)
        change = _with_usage(
            ASSIGN_USAGE,
            lambda: store.assign(session, ref=m.group("ref"), owner_id=users[0], **actor),
        )
        fu = change.followup
        fb, dept = _context_of(session, fu)
    if not change.won:
        reply(respond, _loser_text(fu, user_id))
        return
    _tell_new_owner(client, fu, fb, dept, user_id)
    _after_win(deps, client, fu, f"<@{user_id}> assigned it to <@{fu.owner_id}>.", kpis=False)
    reply(respond, f"*F-{fu.number}* is now owned by <@{fu.owner_id}>.")


def _tell_new_owner(client, fu: Followup, fb, dept: str, by: str) -> None:
    if fu.owner_id == by:
        return
    try:
        client.chat_postMessage(
            channel=fu.owner_id,
            text=f"You now own follow-up F-{fu.number}",
            blocks=as_dicts(
                [section(f"<@{by}> asked you to follow up *F-{fu.number}*:")]
                + followup_after(fu, fb, dept, "Yours now.")
            ),
        )
    except SlackApiError as exc:
        log.warning("F-%s: DM to the new owner failed: %s", fu.number, exc.response.get("error"))


def close_cmd(deps, caller: Caller, respond, arg: str) -> None:
    user_id = caller.user_id
    parts = arg.strip().split(None, 2)
    if len(parts) < 2:
        raise UsageError("Say which follow-up and how it ended.", usage=CLOSE_USAGE)
    ref, outcome = parts[0], parts[1]
    note = parts[2] if len(parts) > 2 else ""
    with deps.session() as session:
        actor = caller.as_actor(session)
        closing = _with_usage(
            CLOSE_USAGE,
            lambda: store.close(session, ref=ref, outcome=outcome, note=note, **actor),
        )
        fu = closing.followup
    if not closing.won:
        reply(respond, _loser_text(fu, user_id))
        return
    _after_win(deps, caller.client, fu, f"Closed ({fu.outcome}) by <@{user_id}>.")
    reply(respond, _closed_text(closing))


def _closed_text(closing: store.Closing) -> str:
    fu = closing.followup
    logged = (
        f" Logged *B-{closing.behavior.number}* {escape(closing.behavior.description)} for you."
        if closing.behavior
        else ""
    )
    return f":tada: Closed *F-{fu.number}* ({fu.outcome}).{logged}"


def show_cmd(deps, caller: Caller, respond, arg: str) -> None:
    team_id = caller.team_id
    ref = arg.strip()
    if not ref:
        raise UsageError("Say which follow-up to show.", usage=SHOW_USAGE)
    with deps.session() as session:
        fu = _with_usage(SHOW_USAGE, lambda: store.get_followup(session, team_id=team_id, ref=ref))
        fb, dept = _context_of(session, fu)
    respond(
        text=f"F-{fu.number}",
        blocks=as_dicts(followup_detail(fu, fb, dept, utcnow())),
        response_type="ephemeral",
        replace_original=False,
    )


_LIST_TITLES = {
    "mine": "Your follow-ups",
    "open": "Open follow-ups",
    "overdue": "Overdue follow-ups",
    "all": "All follow-ups",
}


def list_cmd(deps, caller: Caller, respond, arg: str) -> None:
    team_id = caller.team_id
    key = arg.strip()
    view = key.lower() or "mine"
    if view == "me":
        view = "mine"
    with deps.session() as session:
        department_id = None
        if view not in _LIST_TITLES:
            dept = find_department(session, team_id=team_id, name=key)
            if dept is None:
                raise UsageError(
                    f"`{key[:80]}` is not a list or a department here.", usage=LIST_USAGE
                )
            view, department_id, title = "department", dept.id, f"{dept.name}: open follow-ups"
        else:
            title = _LIST_TITLES[view]
        now = utcnow()
        rows, total = store.list_followups(
            session,
            team_id=team_id,
            view=view,
            user_id=caller.user_id,
            department_id=department_id,
            now=now,
        )
        fbs, names = _feedback_and_departments(session, team_id, rows)
    lines = [
        followup_line(r, fbs.get(r.feedback_id), names.get(r.department_id, "no department"), now)
        for r in rows
    ]
    blocks = followup_list(title, lines, total, "Nothing here. :tada:")
    respond(text=title, blocks=as_dicts(blocks), response_type="ephemeral", replace_original=False)


def _department_names(session, team_id: str) -> dict[int, str]:
    return fstore.department_names(session, team_id=team_id)


def _feedback_and_departments(session, team_id: str, rows: list[Followup]):
    """The feedback behind each follow-up (by id) and the department names, to list them."""
    ids = [r.feedback_id for r in rows if r.feedback_id]
    fbs = fstore.feedback_of(session, team_id=team_id, ids=ids)
    return fbs, _department_names(session, team_id)


def route_cmd(deps, caller: Caller, respond, arg: str) -> None:
    head, sep, dept_name = arg.strip().rpartition(" to ")
    if not sep or not head.strip() or not dept_name.strip():
        raise UsageError("Say which keywords go to which department.", usage=ROUTE_USAGE)
    try:
        keywords = shlex.split(head)
    except ValueError:
        keywords = head.split()
    with deps.session() as session:
        actor = caller.as_actor(session)
        rows = _with_usage(
            ROUTE_USAGE,
            lambda: fstore.add_routes(
                session, keywords=keywords, department_name=dept_name.strip(), **actor
            ),
        )
        dept = session.get(Department, rows[0].department_id)
    words = ", ".join(f"`{escape(r.keyword)}`" for r in rows)
    reply(
        respond,
        f":twisted_rightwards_arrows: Feedback mentioning {words} now goes to "
        f"*{escape(dept.name)}*.",
    )


def routes_cmd(deps, caller: Caller, respond, arg: str) -> None:
    team_id = caller.team_id
    with deps.session() as session:
        rows = fstore.routes(session, team_id=team_id)
        settings = fstore.feedback_settings(session, team_id=team_id)
        default = (
            session.get(Department, settings.default_department_id)
            if settings.default_department_id
            else None
        )
    blocks = routes_list(rows, default.name if default else None)
    respond(
        text="Feedback routing",
        blocks=as_dicts(blocks),
        response_type="ephemeral",
        replace_original=False,
    )


def unroute_cmd(deps, caller: Caller, respond, arg: str) -> None:
    if not arg.strip():
        raise UsageError("Say which keyword to stop routing.", usage=UNROUTE_USAGE)
    keyword = arg.strip().strip('"')
    with deps.session() as session:
        actor = caller.as_actor(session)
        row = _with_usage(
            UNROUTE_USAGE, lambda: fstore.remove_route(session, keyword=keyword, **actor)
        )
    reply(respond, f"`{escape(row.keyword)}` no longer routes feedback.")


def behavior_cmd(deps, caller: Caller, respond, arg: str) -> None:
    ref, _, dept_name = arg.strip().partition(" ")
    if not ref:
        raise UsageError("Say which behavior.", usage=BEHAVIOR_USAGE)
    with deps.session() as session:
        actor = caller.as_actor(session)
        behavior, dept = _with_usage(
            BEHAVIOR_USAGE,
            lambda: store.set_followup_behavior(
                session, behavior_ref=ref, department_name_text=dept_name, **actor
            ),
        )
    reply(
        respond,
        f"Closing a *{escape(dept.name)}* follow-up as contacted or resolved now logs "
        f"*B-{behavior.number}* {escape(behavior.description)} for the closer.",
    )


# Each `/feedback` word and the function that answers it, all called alike.
SUBCOMMANDS = {
    "take": take_cmd,
    "assign": assign_cmd,
    "close": close_cmd,
    "show": show_cmd,
    "list": list_cmd,
    "route": route_cmd,
    "routes": routes_cmd,
    "unroute": unroute_cmd,
    "behavior": behavior_cmd,
}


def handle_feedback(answer: CommandAnswer, command, deps, caller):
    with answer:
        _feedback_command(answer, command, deps, caller)


def _feedback_command(respond, command, deps, caller):
    text = (command.get("text") or "").strip()
    sub, _, rest = text.partition(" ")
    sub = sub.lower()

    def run():
        if sub in ("", "help"):
            reply(respond, HELP)
        elif sub in SUBCOMMANDS:
            SUBCOMMANDS[sub](deps, caller, respond, rest)
        else:
            raise UsageError(f"`{sub[:40]}` is not a `/feedback` command.", usage=USAGE)

    guarded(respond, f"/feedback {text}".strip(), USAGE, run)


# ---- the heads' buttons -----------------------------------------------------------------------


def _ref_of(body) -> str:
    return (body["actions"][0].get("value") or "")[:20]


def handle_take_button(ack, body, deps, user_id, caller, client, respond):
    ack()
    try:
        with deps.session() as session:
            change = store.take(session, ref=_ref_of(body), **caller.as_actor(session))
            fu = change.followup
            fb, dept = _context_of(session, fu)
    except DomainError as exc:
        reply(respond, f":warning: {exc.message}")
        return
    if not change.won:
        reply(respond, _loser_text(fu, user_id))
        return
    container = body.get("container") or {}
    pressed = (container.get("channel_id"), container.get("message_ts"))
    _after_win(deps, client, fu, f"<@{user_id}> took it.", skip=pressed)
    what = "You took it — call the customer, then press *Close…*."
    respond(
        text=f"You took F-{fu.number}.",
        replace_original=True,
        blocks=as_dicts(followup_after(fu, fb, dept, what)),
    )


def _summary_for(session, fu: Followup) -> str:
    fb, dept = _context_of(session, fu)
    who = escape(fb.customer) if fb else "(erased)"
    return f"*F-{fu.number}* · {fu.score}/10 · {who} · {escape(dept)}"


def _tell(respond, client, user_id: str, text: str) -> None:
    """Answer a button: in place where Slack gave a response URL (a message), else by DM
    (App Home's buttons have none)."""
    if respond is not None:
        reply(respond, text)
    else:
        _dm(client, user_id, text)


def _open_modal(body, deps, caller: Caller, respond, build, action: str, owner_may: bool):
    team_id, user_id, client = caller.team_id, caller.user_id, caller.client
    try:
        with deps.session() as session:
            fu = store.get_followup(session, team_id=team_id, ref=_ref_of(body))
            if not (owner_may and fu.owner_id == user_id) and not store.may_manage(
                session, row=fu, **caller.as_user(session)
            ):
                raise DomainError(
                    f"Only a head of {store.department_name(session, fu)} or a "
                    f"workspace admin can {action} F-{fu.number}."
                )
            summary = _summary_for(session, fu)
    except DomainError as exc:
        _tell(respond, client, user_id, f":warning: {exc.message}")
        return
    if fu.status == FollowUpStatus.CLOSED:
        _tell(respond, client, user_id, _loser_text(fu, user_id))
        return
    client.views_open(trigger_id=body["trigger_id"], view=build(f"F-{fu.number}", summary))


def handle_assign_button(ack, body, deps, caller, respond):
    ack()
    _open_modal(body, deps, caller, respond, assign_modal, "assign", owner_may=False)


def handle_close_button(ack, body, deps, caller, respond):
    ack()
    _open_modal(body, deps, caller, respond, close_modal, "close", owner_may=True)


def _value(view, block: str, key: str = "value"):
    return ((view["state"]["values"].get(block) or {}).get("value") or {}).get(key)


def handle_assign_submission(ack, view, deps, user_id, caller, client):
    ref = (view.get("private_metadata") or "")[:20]
    owner = _value(view, FeedbackField.OWNER, "selected_user")
    if not owner:
        ack(response_action="errors", errors={FeedbackField.OWNER: "Pick who follows up."})
        return
    try:
        with deps.session() as session:
            change = store.assign(session, ref=ref, owner_id=owner, **caller.as_actor(session))
            fu = change.followup
            fb, dept = _context_of(session, fu)
    except DomainError as exc:
        ack(response_action="errors", errors={FeedbackField.OWNER: exc.message[:2000]})
        return
    if not change.won:
        lost = _loser_text(fu, user_id).replace("*", "")
        ack(response_action="errors", errors={FeedbackField.OWNER: lost})
        return
    ack()
    _tell_new_owner(client, fu, fb, dept, user_id)
    _after_win(deps, client, fu, f"<@{user_id}> assigned it to <@{fu.owner_id}>.", kpis=False)


def handle_close_submission(ack, view, deps, user_id, caller, client):
    ref = (view.get("private_metadata") or "")[:20]
    outcome = (_value(view, FeedbackField.OUTCOME, "selected_option") or {}).get("value") or ""
    note = _value(view, FeedbackField.NOTE) or ""
    try:
        with deps.session() as session:
            actor = caller.as_actor(session)
            closing = store.close(session, ref=ref, outcome=outcome, note=note, **actor)
    except DomainError as exc:
        block = FeedbackField.NOTE if exc.field == "note" else FeedbackField.OUTCOME
        ack(response_action="errors", errors={block: exc.message[:2000]})
        return
    if not closing.won:
        lost = _loser_text(closing.followup, user_id).replace("*", "")
        ack(response_action="errors", errors={FeedbackField.OUTCOME: lost})
        return
    ack()
    fu = closing.followup
    _after_win(deps, client, fu, f"Closed ({fu.outcome}) by <@{user_id}>.")
    _dm(client, user_id, _closed_text(closing))


# ---- message shortcut: Log customer feedback ----------------------------------------------------


def handle_log_shortcut(ack, shortcut, deps, team_id, client):
    ack()
    linked = linked_message(client, shortcut)
    if linked is None:
        return
    channel_id, message, ts, link = linked
    with deps.session() as session:
        names = sorted(_department_names(session, team_id).items(), key=lambda kv: kv[1].casefold())
    metadata = f"{channel_id}|{ts}|{link}"[:3000]
    client.views_open(
        trigger_id=shortcut["trigger_id"],
        view=log_modal(message_text(message), link, names, metadata),
    )


def handle_log_submission(ack, view, deps, team_id, user_id, client):
    channel_id, _, rest = (view.get("private_metadata") or "").partition("|")
    ts, _, link = rest.partition("|")
    score_text = (_value(view, FeedbackField.SCORE, "selected_option") or {}).get("value")
    dept_value = (_value(view, FeedbackField.DEPARTMENT, "selected_option") or {}).get("value")
    errors: dict[str, str] = {}
    try:
        score = fstore.parse_score(score_text)
    except DomainError as exc:
        errors[FeedbackField.SCORE] = exc.message
        score = 0
    department = None
    with deps.session() as session:
        if dept_value:
            dept = session.get(Department, int(dept_value)) if dept_value.isdigit() else None
            if dept is None or dept.team_id != team_id:
                errors[FeedbackField.DEPARTMENT] = "Pick one of this workspace's departments."
            else:
                department = dept.name
        item = fstore.FeedbackIn(
            source="shortcut",
            # One message is one customer's answer: logging it again stores nothing new.
            source_id=f"{channel_id}:{ts}"[:128],
            received_at=_message_time(ts),
            customer=(_value(view, FeedbackField.CUSTOMER) or "").strip(),
            score=score,
            comment=(_value(view, FeedbackField.COMMENT) or "").strip(),
            department=department,
            link=link if link.startswith("https://") else None,
        )
        try:
            fstore.check_item(item)
        except FieldErrors as exc:
            shown = (FeedbackField.CUSTOMER, FeedbackField.COMMENT)
            errors.update({k: v for k, v in exc.errors.items() if k in shown})
        if errors:
            ack(response_action="errors", errors=errors)
            return
        result = fstore.store_feedback(session, team_id=team_id, actor_id=user_id, items=[item])
        number = result.followup_numbers[0] if result.followup_numbers else None
    ack()
    if not result.created:
        text = "That message was already logged as customer feedback; nothing new was stored."
    elif number:
        text = f":memo: Logged. It is a detractor: *F-{number}* was opened and its heads told."
    else:
        text = f":memo: Logged {score}/10 customer feedback. Thank you."
    _dm(client, user_id, text)
    if result.followups:
        announce_followups(
            deps.engine,
            client,
            team_id=team_id,
            followup_ids=result.followups,
            configured_admins=deps.settings.admin_ids,
        )


def _message_time(ts: str) -> datetime:
    from datetime import UTC

    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow()


def register(app: App) -> None:
    app.command("/feedback")(handle_feedback)
    app.action(FeedbackAction.TAKE)(handle_take_button)
    app.action(FeedbackAction.ASSIGN)(handle_assign_button)
    app.action(FeedbackAction.CLOSE)(handle_close_button)
    app.view(FeedbackCallback.ASSIGN)(handle_assign_submission)
    app.view(FeedbackCallback.CLOSE)(handle_close_submission)
    app.shortcut(FeedbackCallback.LOG_SHORTCUT)(handle_log_shortcut)
    app.view(FeedbackCallback.LOG)(handle_log_submission)


# ---- the customer-voice part of `/okr setup` -------------------------------------------------

SETUP_BLOCK_IDS = {
    "default_department": FeedbackField.DEFAULT_DEPARTMENT,
    "followup_hours": FeedbackField.FOLLOWUP_HOURS,
}


def setup_part(session, deps, *, team_id: str, user_id: str) -> list:
    """Default department, follow-up window and the survey webhook's address and token (each
    workspace's own token with OAuth; LOYALTY_FEEDBACK_TOKEN in a single workspace)."""
    from slackapp.blocks.feedback import setup_blocks

    settings = fstore.feedback_settings(session, team_id=team_id)
    names = sorted(_department_names(session, team_id).items(), key=lambda kv: kv[1].casefold())
    if deps.settings.oauth_enabled:
        token = fstore.webhook_token(session, team_id=team_id, actor_id=user_id)
        webhook = (
            "*Survey tools:* `POST https://<this app's address>/hooks/feedback` with "
            f"`Authorization: Bearer {token}` — this workspace's own token; keep it secret."
        )
    elif deps.settings.loyalty_feedback_token:
        webhook = (
            "*Survey tools:* `POST https://<this app's address>/hooks/feedback` with "
            "`Authorization: Bearer <LOYALTY_FEEDBACK_TOKEN>` (set by whoever runs the app)."
        )
    else:
        webhook = (
            "*Survey tools:* the feedback webhook is off until `LOYALTY_FEEDBACK_TOKEN` is set "
            "where the app runs."
        )
    return setup_blocks(names, settings.default_department_id, settings.followup_hours, webhook)


def save_setup_part(session, values: dict, *, team_id: str, user_id: str, is_admin) -> None:
    """Save what `setup_part` showed; FieldErrors keyed by its block ids."""

    def el(block):
        return (values.get(block) or {}).get("value") or {}

    if SETUP_BLOCK_IDS["followup_hours"] not in values:
        return
    chosen = (el(SETUP_BLOCK_IDS["default_department"]).get("selected_option") or {}).get("value")
    try:
        hours = fstore.parse_followup_hours(el(SETUP_BLOCK_IDS["followup_hours"]).get("value"))
        fstore.update_feedback_settings(
            session,
            team_id=team_id,
            actor_id=user_id,
            is_admin=is_admin,
            default_department_id=int(chosen) if chosen and chosen.isdigit() else None,
            followup_hours=hours,
        )
    except FieldErrors as exc:
        raise FieldErrors({SETUP_BLOCK_IDS.get(k, k): v for k, v in exc.errors.items()}) from None


# ---- App Home: Follow-ups you own --------------------------------------------------------------

HOME_MAX_FOLLOWUPS = 5


def home_contribution(session, *, team_id: str, user_id: str):
    """App Home: the follow-ups the person owns, soonest due first, each with *Close…*."""
    from slackapp.blocks.common import context as context_block
    from slackapp.blocks.common import divider, header
    from slackapp.blocks.feedback import home_followup_blocks

    rows, total = store.list_followups(
        session, team_id=team_id, view="mine", user_id=user_id, limit=HOME_MAX_FOLLOWUPS
    )
    if not rows:
        return [], []
    fbs, names = _feedback_and_departments(session, team_id, rows)
    blocks = [divider(), header("Follow-ups you own")]
    blocks += home_followup_blocks(rows, fbs, names, utcnow())
    if total > len(rows):
        blocks.append(context_block(f"…and {total - len(rows)} more: `/feedback list`."))
    return [], blocks
