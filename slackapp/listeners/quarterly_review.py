"""The "Start review" button and the review modal's submission.

Only a head of the department or an admin may open or submit a department's review; only
admins the company objectives' one. The review (department id or `company`) and quarter travel
in the button value and in `private_metadata`; both are parsed strictly and the role is checked
again on submission against the verified user id — never trusted as given.

A review longer than one modal holds is scored page by page: *Save & next* stores the page's
scores (checked like a final submission) and replaces the modal with the next page, so nothing
entered is lost even if the person stops half-way.
"""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from slackapp.blocks.common import as_dicts, escape, section
from slackapp.blocks.review import (
    PER_PAGE,
    ReviewAction,
    ReviewCallback,
    ReviewField,
    block_objective,
    nothing_to_review_modal,
    objective_block,
    review_label,
    review_modal,
)
from slackapp.form_errors import block_errors
from storage.errors import DomainError, FieldErrors, PermissionDenied
from storage.quarters import parse_quarter
from storage.reviews import (
    ReviewItemInput,
    open_objectives,
    parse_reviewer_ref,
    require_reviewer,
    review_evidence,
    start_review,
    submit_review,
)

log = logging.getLogger(__name__)


def _parse_target(quarter, ref) -> tuple[str, int | None]:
    """(quarter, department id or None for the company review); DomainError when malformed."""
    return parse_quarter(str(quarter)), parse_reviewer_ref(str(ref))


def _tell(client, user_id: str, text: str) -> None:
    client.chat_postMessage(channel=user_id, text=text, blocks=as_dicts([section(text)]))


def _next_page(session, team_id: str, quarter: str, d):
    """The modal for the first page of `d`'s open objectives, with their evidence."""
    page = open_objectives(d)[:PER_PAGE]
    evidence = review_evidence(session, team_id=team_id, quarter=quarter, objectives=page)
    return review_modal(quarter, d, evidence)


def handle_start(ack, body, deps, team_id, user_id, caller, client):
    ack()
    value = body["actions"][0].get("value") or ""
    try:
        quarter, dept_id = _parse_target(*value.split("|", 1))
        with deps.session() as session:
            require_reviewer(
                session,
                **caller.as_user(session),
                department_id=dept_id,
                action="run the quarterly review",
            )
            # Idempotent: a head may start before the prompt (or after `loyalty review start`).
            reviews = start_review(session, team_id=team_id, quarter=quarter)
            d = next((r for r in reviews if r.department_id == dept_id), None)
            if d is None:
                raise DomainError(f"There is nothing to review for {quarter} there.")
            view = (
                _next_page(session, team_id, quarter, d)
                if open_objectives(d)
                else nothing_to_review_modal(quarter, d)
            )
    except (DomainError, ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "That button is not valid."
        _tell(client, user_id, f":no_entry: {message}")
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _text(values: dict, block_id: str) -> str:
    state = (values.get(block_id) or {}).get("value") or {}
    return state.get("value") or (state.get("selected_option") or {}).get("value") or ""


def _items_from(values: dict, objective_ids: list[int]) -> tuple[list[ReviewItemInput], dict]:
    items, errors = [], {}
    for oid in objective_ids:
        score_block = objective_block(ReviewField.SCORE, oid)
        if score_block not in values:
            continue  # not on this page: stays open
        raw = _text(values, score_block).strip()
        try:
            score = float(raw.replace(",", "."))
        except ValueError:
            errors[score_block] = (
                f"`{raw}` is not a score: give a number from 0.0 to 1.0, like 0.7."
                if raw
                else "Give a score from 0.0 to 1.0, like 0.7."
            )
            continue
        carry_block = values.get(objective_block(ReviewField.CARRY, oid)) or {}
        carry = carry_block.get("value", {}).get("selected_options") or []
        items.append(
            ReviewItemInput(
                objective_id=oid,
                score=score,
                what_worked=_text(values, objective_block(ReviewField.WORKED, oid)),
                what_did_not=_text(values, objective_block(ReviewField.DID_NOT, oid)),
                carry_over=any(o.get("value") == "carry" for o in carry),
                reason=_text(values, objective_block(ReviewField.REASON, oid)),
            )
        )
    return items, errors


def _review_block_errors(errors: dict[str, str], present: set[str], fallback: str) -> dict:
    # The reason input is this form's own; the shared mapping knows the other fields.
    renamed = {}
    for field, message in errors.items():
        parts = field.split(".")
        if len(parts) == 3 and parts[0] == "objective" and parts[2] == "score_reason":
            field = f"{ReviewField.REASON}_{parts[1]}"
        renamed[field] = message
    return block_errors(renamed, present=present, fallback=fallback)


def handle_submission(ack, view, deps, team_id, user_id, caller, client):
    values = view["state"]["values"]
    first_block = next(iter(values), ReviewField.SCORE)
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        quarter, dept_id = _parse_target(meta.get("quarter"), meta.get("department_id"))
    except (ValueError, TypeError, AttributeError, DomainError):
        ack(response_action="errors", errors={first_block: "This form is out of date; reopen it."})
        return
    shown = [oid for k in values if (oid := block_objective(k, ReviewField.SCORE)) is not None]
    items, errors = _items_from(values, shown)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    next_view = None
    try:
        with deps.session() as session:
            d = submit_review(
                session,
                **caller.as_actor(session),
                quarter=quarter,
                department_id=dept_id,
                items=items,
            )
            name, remaining = review_label(d), len(open_objectives(d))
            if remaining:
                next_view = _next_page(session, team_id, quarter, d)
    except FieldErrors as exc:
        ack(
            response_action="errors",
            errors=_review_block_errors(exc.errors, set(values), first_block),
        )
        return
    except (PermissionDenied, DomainError) as exc:
        ack(response_action="errors", errors={first_block: exc.message[:2000]})
        return
    if next_view is not None:
        ack(response_action="update", view=next_view)
        return
    ack()
    what = "the company objectives'" if dept_id is None else f"*{escape(name)}*'s"
    _tell(client, user_id, f":white_check_mark: {what} {quarter} review is submitted. Thank you!")


def register(app: App) -> None:
    app.action(ReviewAction.START)(handle_start)
    app.view(ReviewCallback.SUBMIT)(handle_submission)
