"""The "Start review" button and the review modal's submission.

Only a head of the department or an admin may open or submit a review. The department and
quarter travel in the button value and in `private_metadata`; both are parsed strictly and the
role is checked again on submission against the verified user id — never trusted as given.
"""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from slackapp.blocks.common import as_dicts, section
from slackapp.blocks.review import (
    CALLBACK_ID,
    START_ACTION,
    nothing_to_review_modal,
    review_modal,
)
from slackapp.form_errors import block_errors
from storage.departments import department_by_id, require_head
from storage.errors import DomainError, FieldErrors, PermissionDenied
from storage.quarters import parse_quarter
from storage.reviews import (
    ReviewItemInput,
    department_review,
    open_objectives,
    start_review,
    submit_review,
)

log = logging.getLogger(__name__)


def _parse_target(quarter: str, department_id) -> tuple[str, int]:
    quarter = parse_quarter(str(quarter))
    if not str(department_id).isdigit():
        raise DomainError("That review button is not valid any more.")
    return quarter, int(department_id)


def _tell(client, user_id: str, text: str) -> None:
    client.chat_postMessage(channel=user_id, text=text, blocks=as_dicts([section(text)]))


def handle_start(ack, body, context, client):
    ack()
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    value = body["actions"][0].get("value") or ""
    try:
        quarter, dept_id = _parse_target(*value.split("|", 1))
        with deps.session() as session:
            dept = department_by_id(session, team_id=team_id, department_id=dept_id)
            require_head(
                session,
                **context["caller"].as_user(session),
                department=dept,
                action=f"run {dept.name}'s quarterly review",
            )
            # Idempotent: a head may start before the prompt (or after `loyalty review start`).
            start_review(session, team_id=team_id, quarter=quarter)
            d = department_review(session, team_id=team_id, quarter=quarter, department_id=dept_id)
    except (DomainError, ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "That button is not valid."
        _tell(client, user_id, f":no_entry: {message}")
        return
    view = review_modal(quarter, d) if open_objectives(d) else nothing_to_review_modal(quarter, d)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _items_from(values: dict, objective_ids: list[int]) -> tuple[list[ReviewItemInput], dict]:
    items, errors = [], {}
    for oid in objective_ids:
        block = values.get(f"score_{oid}")
        if block is None:
            continue  # not shown in this modal (more than fit): stays open
        chosen = (block.get("value", {}).get("selected_option") or {}).get("value")
        try:
            score = float(chosen)
        except (TypeError, ValueError):
            errors[f"score_{oid}"] = "Pick a score from 0.0 to 1.0."
            continue
        worked = values.get(f"worked_{oid}", {}).get("value", {}).get("value") or ""
        didnt = values.get(f"didnt_{oid}", {}).get("value", {}).get("value") or ""
        carry = values.get(f"carry_{oid}", {}).get("value", {}).get("selected_options") or []
        items.append(
            ReviewItemInput(
                objective_id=oid,
                score=score,
                what_worked=worked,
                what_did_not=didnt,
                carry_over=any(o.get("value") == "carry" for o in carry),
            )
        )
    return items, errors


def handle_submission(ack, view, context, client):
    deps, user_id = context["deps"], context["user_id"]
    values = view["state"]["values"]
    first_block = next(iter(values), "score")
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        quarter, dept_id = _parse_target(meta.get("quarter"), meta.get("department_id"))
    except (ValueError, TypeError, AttributeError, DomainError):
        ack(response_action="errors", errors={first_block: "This form is out of date; reopen it."})
        return
    shown = [int(k.split("_", 1)[1]) for k in values if k.startswith("score_") and k[6:].isdigit()]
    items, errors = _items_from(values, shown)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    try:
        with deps.session() as session:
            d = submit_review(
                session,
                **context["caller"].as_actor(session),
                quarter=quarter,
                department_id=dept_id,
                items=items,
            )
            name, remaining = d.department.name, len(open_objectives(d))
    except FieldErrors as exc:
        fixed = block_errors(exc.errors, present=set(values), fallback=first_block)
        ack(response_action="errors", errors=fixed)
        return
    except PermissionDenied as exc:
        ack(response_action="errors", errors={first_block: exc.message[:2000]})
        return
    except DomainError as exc:
        ack(response_action="errors", errors={first_block: exc.message[:2000]})
        return
    ack()
    if remaining:
        text = (
            f":memo: Saved {len(items)} score(s) for *{name}*'s {quarter} review; "
            f"{remaining} objective(s) left — press Start review again."
        )
    else:
        text = f":white_check_mark: *{name}*'s {quarter} review is submitted. Thank you!"
    _tell(client, user_id, text)


def register(app: App) -> None:
    app.action(START_ACTION)(handle_start)
    app.view(CALLBACK_ID)(handle_submission)
