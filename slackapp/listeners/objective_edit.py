"""`/okr edit O-12`: heads and admins change an objective and its key results in a modal."""

from __future__ import annotations

import re
from datetime import date

from slack_bolt import App

from slackapp.blocks.common import as_dicts, escape, section
from slackapp.blocks.objective_form import EDIT_CALLBACK_ID, edit_objective_modal
from slackapp.form_errors import block_errors
from slackapp.listeners.alignment import parent_choices, save_parents
from slackapp.listeners.app_home import refresh_home
from slackapp.listeners.objectives import _value
from slackapp.replies import UsageError
from storage.alignment import objectives_by_ids, parent_ids_of, require_objective_head
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.numbers import parse_number
from storage.objectives import KeyResultEdit, get_objective, load_views, update_objective

USAGE = "`/okr edit O-12`"
_META = re.compile(r"^O-(\d{1,9})\|((?:\d{1,9},?)*)$")


def open_edit_modal(context, client, trigger_id: str, arg: str) -> None:
    """Checks the role before showing the form; DomainError goes back to the user."""
    deps, team_id = context["deps"], context["team_id"]
    if not arg:
        raise UsageError("Say which objective to edit.", usage=USAGE)
    with deps.session() as session:
        obj = get_objective(session, team_id=team_id, ref=arg.split()[0])
        require_objective_head(session, **context["caller"].as_actor(session), obj=obj,
                               action=f"edit O-{obj.number}")  # fmt: skip
        if obj.status != "active":
            raise DomainError(
                f"O-{obj.number} is {obj.status.replace('_', ' ')}; it can't be edited."
            )
        view = load_views(session, [obj])[0]
        parents, names = parent_choices(session, team_id, obj.quarter)
        current = objectives_by_ids(
            session, team_id=team_id, ids=parent_ids_of(session, child_id=obj.id)
        )
    modal = edit_objective_modal(
        obj, view.key_results, parents=parents, current_parents=current, department_names=names
    )
    client.views_open(trigger_id=trigger_id, view=modal)


def handle_edit_submission(ack, view, context, client):
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    meta = _META.match(view.get("private_metadata") or "")
    if not meta:
        ack(
            response_action="errors",
            errors={"title": "This form is out of date; run /okr edit again."},
        )
        return
    values = view["state"]["values"]
    numbers = [int(n) for n in meta.group(2).split(",") if n]
    errors: dict[str, str] = {}
    edits = []
    for i, number in enumerate(numbers):
        raw = _value(values, f"kr{i}_target")
        target = None
        if raw not in (None, ""):
            try:
                target = parse_number(raw)
            except DomainError as exc:
                errors[f"kr{i}_target"] = exc.message
        edits.append(KeyResultEdit(number=number, title=_value(values, f"kr{i}_title") or "",
                                   unit=_value(values, f"kr{i}_unit") or "", target=target,
                                   owner_id=_value(values, f"kr{i}_owner")))  # fmt: skip
    if errors:
        ack(response_action="errors", errors=errors)
        return
    due = _value(values, "due_date")
    try:
        with deps.session() as session:
            obj = update_objective(
                session, **context["caller"].as_actor(session),
                ref=f"O-{meta.group(1)}", title=_value(values, "title") or "",
                description=_value(values, "description") or "", owner_id=_value(values, "owner"),
                due_date=date.fromisoformat(due) if due else None, key_results=edits,
            )  # fmt: skip
            save_parents(session, team_id=team_id, actor_id=user_id, child=obj, values=values)
    except FieldErrors as exc:
        ack(response_action="errors", errors=block_errors(exc.errors))
        return
    except (PermissionDenied, NotFound, DomainError) as exc:
        ack(response_action="errors", errors={"title": exc.message[:2000]})
        return
    ack()
    text = f":pencil2: Saved *O-{obj.number}* {escape(obj.title)}."
    client.chat_postMessage(channel=user_id, text=f"Saved O-{obj.number}.",
                            blocks=as_dicts([section(text)]))  # fmt: skip
    refresh_home(deps, client, team_id=team_id, user_id=user_id)


def register(app: App) -> None:
    app.view(EDIT_CALLBACK_ID)(handle_edit_submission)
