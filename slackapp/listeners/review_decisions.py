"""Decisions from the quarterly review: the summary's *Record decision* button, its modal, and
`/okr decisions [2026-Q4]`.

Only admins record decisions. The button value names the workspace and quarter; a value naming
another workspace is refused (it was not made for this one), and the role is checked again on
submission against the verified user id.
"""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from slackapp.blocks.common import as_dicts, escape, section
from slackapp.blocks.decisions import decision_lines
from slackapp.blocks.review import (
    COMPANY_CHOICE,
    DecisionField,
    ReviewAction,
    ReviewCallback,
    decision_modal,
    decisions_reply,
)
from slackapp.commands import CommandContext
from slackapp.form_errors import block_errors
from slackapp.replies import UsageError, reply
from storage.decisions import (
    decisions_for_quarter,
    latest_decision_quarter,
    objective_numbers,
    record_decision,
)
from storage.departments import departments_in
from storage.errors import DomainError, FieldErrors, PermissionDenied
from storage.models import Team
from storage.quarters import next_quarter, parse_quarter, quarter_of
from storage.teams import team_now

log = logging.getLogger(__name__)

USAGE = "`/okr decisions [2026-Q4]`"


def _refuse(client, body, user_id: str, text: str) -> None:
    """Only the person who pressed sees it: in the channel where they pressed, else by DM."""
    channel = (body.get("channel") or {}).get("id")
    blocks = as_dicts([section(text)])
    if channel:
        client.chat_postEphemeral(channel=channel, user=user_id, text=text, blocks=blocks)
    else:
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks)


def handle_record_button(ack, body, deps, team_id, user_id, caller, client):
    ack()
    value = body["actions"][0].get("value") or ""
    button_team, _, quarter = value.partition("|")
    try:
        if button_team != team_id:
            raise DomainError("That button was not made for this workspace.")
        quarter = parse_quarter(quarter)
        with deps.session() as session:
            if not caller.is_admin(session):
                raise PermissionDenied("a workspace admin", "record review decisions")
            departments = departments_in(session, team_id=team_id, ids=None)
            view = decision_modal(quarter, departments)
    except DomainError as exc:
        _refuse(client, body, user_id, f":no_entry: {exc.message}")
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _choice(values: dict, block_id: str):
    state = (values.get(block_id) or {}).get("value") or (values.get(block_id) or {}).get(
        "department_search"
    )
    return ((state or {}).get("selected_option") or {}).get("value")


def handle_decision_submission(ack, view, deps, user_id, caller, client):
    values = view["state"]["values"]
    first_block = next(iter(values), DecisionField.TEXT)
    try:
        quarter = parse_quarter(str(json.loads(view.get("private_metadata") or "{}")["quarter"]))
    except (ValueError, TypeError, KeyError, DomainError):
        ack(response_action="errors", errors={first_block: "This form is out of date; reopen it."})
        return
    owner = _choice(values, DecisionField.DEPARTMENT)
    if owner not in (None, COMPANY_CHOICE) and not str(owner).isdigit():
        ack(
            response_action="errors",
            errors={DecisionField.DEPARTMENT: "Choose a department or Company."},
        )
        return
    text = ((values.get(DecisionField.TEXT) or {}).get("value") or {}).get("value") or ""
    start_block = (values.get(DecisionField.START_OBJECTIVE) or {}).get("value") or {}
    start = start_block.get("selected_options")
    try:
        with deps.session() as session:
            decision = record_decision(
                session,
                **caller.as_actor(session),
                quarter=quarter,
                text=text,
                department_id=None if owner in (None, COMPANY_CHOICE) else int(owner),
                start_objective=any(o.get("value") == "start" for o in start or []),
            )
            started = objective_numbers(
                session, team_id=decision.team_id, ids=[decision.objective_id or 0]
            ).get(decision.objective_id)
    except FieldErrors as exc:
        ack(
            response_action="errors",
            errors=block_errors(exc.errors, present=set(values), fallback=first_block),
        )
        return
    except DomainError as exc:
        ack(response_action="errors", errors={first_block: exc.message[:2000]})
        return
    ack()
    message = f":memo: Decision recorded for the {quarter} review."
    if started:
        message += (
            f" Company objective *O-{started}* is started in {next_quarter(quarter)}, owned by "
            f"you: add its key results with `/okr edit O-{started}`."
        )
    client.chat_postMessage(channel=user_id, text=message, blocks=as_dicts([section(message)]))


def respond_decisions(ctx: CommandContext, arg: str) -> None:
    """`/okr decisions [2026-Q4]`: without a quarter, the latest quarter that has decisions
    (the review just held), else the current one."""
    deps, team_id = ctx.deps, ctx.team_id
    arg = arg.strip()
    with deps.session() as session:
        if arg:
            try:
                quarter = parse_quarter(arg)
            except DomainError as exc:
                raise UsageError(exc.message, usage=USAGE) from None
        else:
            team = session.get(Team, team_id)
            quarter = latest_decision_quarter(session, team_id=team_id) or quarter_of(
                team_now(team, deps.settings.loyalty_timezone).date()
            )
        decisions = decisions_for_quarter(session, team_id=team_id, quarter=quarter)
        names = {d.id: d.name for d in departments_in(session, team_id=team_id, ids=None)}
        numbers = objective_numbers(
            session, team_id=team_id, ids=[d.objective_id for d in decisions if d.objective_id]
        )
    blocks = decisions_reply(quarter, decision_lines(decisions, names, numbers))
    reply(ctx.respond, f"Decisions from the {escape(quarter)} review", blocks)


def register(app: App) -> None:
    app.action(ReviewAction.RECORD_DECISION)(handle_record_button)
    app.view(ReviewCallback.DECISION)(handle_decision_submission)
