"""`/behavior add|log|list`, its modals, and this week's behaviors on App Home."""

from __future__ import annotations

from slack_bolt import App

from slackapp.blocks.behaviors import (
    BehaviorAction,
    BehaviorCallback,
    BehaviorField,
    behavior_add_modal,
    behavior_list_blocks,
    behavior_log_modal,
    department_progress_text,
    no_behaviors_modal,
)
from slackapp.blocks.common import as_dicts, divider, escape, header, section
from slackapp.blocks.undo import UndoAction, with_undo
from slackapp.command_answer import CommandAnswer
from slackapp.command_parsing import (
    BEHAVIOR_ADD_USAGE,
    BEHAVIOR_LOG_USAGE,
    BEHAVIOR_USAGE,
    parse_behavior_add,
    parse_behavior_log,
    parse_target,
)
from slackapp.context import Deps
from slackapp.form_errors import block_errors
from slackapp.listeners import behavior_insights
from slackapp.replies import UsageError, guarded, reply
from slackapp.roles import Caller
from slackapp.undo import confirm_undone, undo_from_button
from storage.behaviors import (
    behavior_options,
    behaviors_for_user,
    create_behavior,
    list_behaviors,
    log_behavior,
    team_week,
    undo_behavior_log,
    weekly_behavior_counts,
)
from storage.departments import department_by_id, get_department, memberships
from storage.errors import DomainError, FieldErrors
from storage.models import Department
from storage.objectives import active_objective_titles

HOME_MAX_DEPARTMENTS = 5
UNDO_USAGE = (
    "`/behavior undo` (your latest log) or `/behavior undo B-5` (your latest log of B-5), "
    "within 24 hours"
)


def add_modal_for(deps: Deps, caller: Caller, *, team_id: str):
    with deps.session() as session:
        depts = caller.managed_departments(session)
        objectives = active_objective_titles(
            session, team_id=team_id, department_ids=[d.id for d in depts]
        )
    if not depts:
        return None
    return behavior_add_modal(depts, objectives)


def open_behavior_modal(
    deps: Deps, caller: Caller, client, trigger_id: str, *, team_id: str, user_id: str
):
    """No text: the log form for the user's departments; heads also get "Define a new
    behavior" (or the add form straight away when nothing is defined yet)."""
    with deps.session() as session:
        admin = caller.is_admin(session)
        dept_ids = [m.department_id for m in memberships(session, team_id=team_id, user_id=user_id)]
        can_add = admin or caller.is_head(session)
        behaviors = behavior_options(session, team_id=team_id, department_ids=dept_ids or None)
        if not dept_ids and not admin:
            behaviors = []
        progress = behaviors_for_user(session, team_id=team_id, user_id=user_id)
    if not behaviors:
        if can_add:
            view = add_modal_for(deps, caller, team_id=team_id)
            if view is not None:
                client.views_open(trigger_id=trigger_id, view=view)
                return
        client.views_open(trigger_id=trigger_id, view=no_behaviors_modal(can_add))
        return
    summary = "\n".join(department_progress_text(d, p) for d, p in progress[:3])[:2900] or None
    client.views_open(
        trigger_id=trigger_id, view=behavior_log_modal(behaviors, summary, can_add=can_add)
    )


def handle_behavior_command(answer: CommandAnswer, command, deps, team_id, user_id, caller, client):
    with answer:
        _behavior_command(answer, command, deps, team_id, user_id, caller, client)


def _behavior_command(respond, command, deps, team_id, user_id, caller, client):
    text = (command.get("text") or "").strip()
    if not text:
        open_behavior_modal(
            deps,
            caller,
            client,
            command["trigger_id"],
            team_id=team_id,
            user_id=user_id,
        )
        return
    verb, _, rest = text.partition(" ")
    verb, rest = verb.lower(), rest.strip()

    def run():
        if verb == "add":
            add_from_text(deps, caller, respond, rest)
        elif verb == "log":
            log_from_text(deps, caller, client, respond, rest)
        elif verb == "undo":
            undo_from_text(deps, caller, client, respond, rest)
        elif verb == "list":
            list_from_text(deps, team_id, respond, rest)
        elif verb == "link":
            behavior_insights.link_from_text(deps, caller, respond, rest)
        elif verb == "show":
            behavior_insights.show_from_text(deps, team_id, client, respond, command, rest)
        elif verb == "help":
            reply(respond, f"*Usage:* {BEHAVIOR_USAGE}")
        else:
            raise UsageError(f"`{verb}` is not a /behavior command.", usage=BEHAVIOR_USAGE)

    usage = {
        "add": BEHAVIOR_ADD_USAGE,
        "log": BEHAVIOR_LOG_USAGE,
        "link": behavior_insights.LINK_USAGE,
        "show": behavior_insights.SHOW_USAGE,
        "undo": UNDO_USAGE,
    }.get(verb, BEHAVIOR_USAGE)
    guarded(respond, f"/behavior {text}", usage, run)


def add_from_text(deps: Deps, caller: Caller, respond, rest: str) -> None:
    """`/behavior add <department> <description> [--target 5] [--objective O-3]`."""
    team_id = caller.team_id
    with deps.session() as session:
        parsed = parse_behavior_add(session, team_id=team_id, text=rest)
        behavior = create_behavior(
            session,
            **caller.as_actor(session),
            department=get_department(session, team_id=team_id, name=parsed.department),
            description=parsed.description,
            weekly_target=parsed.weekly_target,
            objective_ref=parsed.objective_ref,
        )
        dept = session.get(Department, behavior.department_id)
    target = f", target {behavior.weekly_target} a week" if behavior.weekly_target else ""
    reply(
        respond,
        f":white_check_mark: Added *B-{behavior.number}* to {escape(dept.name)}{target}: "
        f"{escape(behavior.description)}\nMembers log it with `/behavior log B-{behavior.number}`.",
    )


def log_from_text(deps: Deps, caller: Caller, client, respond, rest: str) -> None:
    """`/behavior log B-5 [count] [note]`."""
    ref, count, note = parse_behavior_log(rest)
    with deps.session() as session:
        row, behavior = log_behavior(
            session, **caller.as_user(session), ref=ref, count=count, note=note
        )
        confirmation = log_confirmation(session, behavior, team_id=caller.team_id)
    # After the commit, so a follow-up (or its Undo button) sees the log.
    blocks = with_undo(confirmation, UndoAction.BEHAVIOR_LOG, row.id)
    reply(respond, confirmation, as_dicts(blocks))
    from slackapp.home_refresher import refresh_home

    refresh_home(deps, client, team_id=caller.team_id, user_id=caller.user_id)


def list_from_text(deps: Deps, team_id: str, respond, rest: str) -> None:
    """`/behavior list [department]`."""
    with deps.session() as session:
        rows = list_behaviors(session, team_id=team_id, department_name=rest or None)
    respond(
        text="Behaviors this week",
        blocks=as_dicts(behavior_list_blocks(rows)),
        response_type="ephemeral",
        replace_original=False,
    )


def log_confirmation(session, behavior, *, team_id: str) -> str:
    start, end = team_week(session, team_id=team_id)
    progress = weekly_behavior_counts(
        session, team_id=team_id, department_ids=[behavior.department_id], start=start, end=end
    ).get(behavior.department_id, [])
    mine = next((p for p in progress if p.behavior.id == behavior.id), None)
    tally = ""
    if mine is not None:
        tally = (
            f" — {mine.logged}/{mine.target} this week"
            if mine.target
            else f" — {mine.logged} this week"
        )
    return f":white_check_mark: Logged *B-{behavior.number}* {escape(behavior.description)}{tally}."


def _value(values: dict, block: str, key: str = "value"):
    return values.get(block, {}).get("value", {}).get(key)


def _picked(values: dict, block: str) -> str | None:
    return (_value(values, block, "selected_option") or {}).get("value")


def handle_add_submission(ack, view, deps, team_id, user_id, caller, client):
    values = view["state"]["values"]
    dept_id = _picked(values, BehaviorField.DEPARTMENT)
    description = _value(values, BehaviorField.DESCRIPTION) or ""
    objective_ref = _picked(values, BehaviorField.OBJECTIVE)
    try:
        target = parse_target(_value(values, BehaviorField.WEEKLY_TARGET))
    except DomainError as exc:
        ack(response_action="errors", errors={BehaviorField.WEEKLY_TARGET: exc.message})
        return
    if not (dept_id or "").isdigit():
        ack(response_action="errors", errors={BehaviorField.DEPARTMENT: "Pick a department."})
        return
    try:
        with deps.session() as session:
            dept = department_by_id(session, team_id=team_id, department_id=int(dept_id))
            behavior = create_behavior(
                session,
                **caller.as_actor(session),
                department=dept,
                description=description,
                weekly_target=target,
                objective_ref=objective_ref,
            )
    except FieldErrors as exc:
        ack(response_action="errors", errors=block_errors(exc.errors))
        return
    except DomainError as exc:  # permission, or the department vanished
        ack(response_action="errors", errors={BehaviorField.DEPARTMENT: exc.message[:2000]})
        return
    ack()
    text = (
        f":white_check_mark: Added *B-{behavior.number}* to {escape(dept.name)}: "
        f"{escape(behavior.description)}"
    )
    client.chat_postMessage(channel=user_id, text=text, blocks=as_dicts([section(text)]))


def handle_log_submission(ack, view, deps, team_id, user_id, caller, client):
    values = view["state"]["values"]
    number = _picked(values, BehaviorField.BEHAVIOR)
    raw_count = (_value(values, BehaviorField.COUNT) or "").strip()
    note = _value(values, BehaviorField.NOTE) or ""
    count = 1
    if raw_count:
        if not raw_count.isdigit():  # its range is checked by log_behavior
            ack(
                response_action="errors",
                errors={BehaviorField.COUNT: "Give a whole number, like 2."},
            )
            return
        count = int(raw_count)
    if not (number or "").isdigit():
        ack(response_action="errors", errors={BehaviorField.BEHAVIOR: "Pick a behavior."})
        return
    try:
        with deps.session() as session:
            row, behavior = log_behavior(
                session,
                **caller.as_user(session),
                ref=f"B-{number}",
                count=count,
                note=note,
            )
            text = log_confirmation(session, behavior, team_id=team_id)
    except DomainError as exc:
        named = exc.field in (BehaviorField.COUNT, BehaviorField.NOTE)
        field = exc.field if named else BehaviorField.BEHAVIOR
        ack(response_action="errors", errors={field: exc.message[:2000]})
        return
    ack()
    blocks = with_undo(text, UndoAction.BEHAVIOR_LOG, row.id)
    client.chat_postMessage(channel=user_id, text=text, blocks=as_dicts(blocks))
    from slackapp.home_refresher import refresh_home

    refresh_home(deps, client, team_id=team_id, user_id=user_id)


def handle_add_open(ack, body, deps, team_id, caller, client):
    ack()
    view = add_modal_for(deps, caller, team_id=team_id)
    if view is not None:
        client.views_push(trigger_id=body["trigger_id"], view=view)


def undone_text(behavior, count: int) -> str:
    times = f" ({count}×)" if count != 1 else ""
    return (
        f":leftwards_arrow_with_hook: Undone: your log of *B-{behavior.number}* "
        f"{escape(behavior.description)}{times}; it no longer counts this week."
    )


def undo_from_text(deps: Deps, caller: Caller, client, respond, rest: str) -> None:
    """`/behavior undo [B-5]`."""
    words = rest.split()
    if len(words) > 1:
        raise UsageError("Undo takes at most one behavior, e.g. `B-5`.", usage=UNDO_USAGE)
    with deps.session() as session:
        row, behavior = undo_behavior_log(
            session,
            team_id=caller.team_id,
            user_id=caller.user_id,
            ref=words[0] if words else None,
        )
    confirm_undone(caller, client, respond, undone_text(behavior, row.count))


def handle_undo_button(ack, body, caller: Caller, client, respond):
    ack()
    undone = undo_from_button(body, caller, respond, undo=undo_behavior_log, id_keyword="log_id")
    if undone is not None:
        row, behavior = undone
        confirm_undone(caller, client, respond, undone_text(behavior, row.count))


def home_contribution(session, *, team_id: str, user_id: str):
    rows = behaviors_for_user(session, team_id=team_id, user_id=user_id)
    if not rows:
        return [], []
    blocks = [divider(), header("Behaviors this week")]
    for dept, progress in rows[:HOME_MAX_DEPARTMENTS]:
        blocks.append(section(department_progress_text(dept, progress)))
    return [], blocks


def register(app: App) -> None:
    app.command("/behavior")(handle_behavior_command)
    app.view(BehaviorCallback.ADD)(handle_add_submission)
    app.view(BehaviorCallback.LOG)(handle_log_submission)
    app.action(BehaviorAction.ADD_OPEN)(handle_add_open)
    app.action(UndoAction.BEHAVIOR_LOG)(handle_undo_button)
