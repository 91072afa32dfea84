"""`/okr edit O-12`: heads and admins change an objective and its key results in a modal."""

from __future__ import annotations

import re
from datetime import date

from slack_bolt import App

from slackapp.blocks.common import as_dicts, escape, section
from slackapp.blocks.objective_form import (
    CONFIRM_REMOVE_VALUE,
    REMOVE_VALUE,
    ObjectiveFormView,
    confirm_remove_label,
    edit_objective_modal,
)
from slackapp.commands import CommandContext
from slackapp.context import Deps
from slackapp.form_errors import block_errors
from slackapp.home_refresher import refresh_home
from slackapp.listeners.alignment import parent_choices, save_parents
from slackapp.listeners.objectives import _value
from slackapp.replies import UsageError
from slackapp.roles import Caller
from storage.alignment import objectives_by_ids, parent_ids_of, require_objective_head
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import ObjectiveStatus
from storage.numbers import parse_number
from storage.objectives import (
    MAX_KEY_RESULTS,
    KeyResultEdit,
    KeyResultInput,
    checkin_counts,
    get_objective,
    load_views,
    update_objective,
)

USAGE = "`/okr edit O-12`"
_META = re.compile(r"^O-(\d{1,9})\|((?:\d{1,9},?)*)$")


def open_edit_modal(ctx: CommandContext, arg: str) -> None:
    """`/okr edit O-12`: checks the role before showing the form; DomainError goes back to
    the user."""
    deps, team_id = ctx.deps, ctx.team_id
    if not arg:
        raise UsageError("Say which objective to edit.", usage=USAGE)
    with deps.session() as session:
        obj = get_objective(session, team_id=team_id, ref=arg.split()[0])
        require_objective_head(
            session, **ctx.caller.as_actor(session), obj=obj, action=f"edit O-{obj.number}"
        )
        if obj.status != ObjectiveStatus.ACTIVE:
            raise DomainError(
                f"O-{obj.number} is {obj.status.replace('_', ' ')}; it can't be edited."
            )
        view = load_views(session, [obj])[0]
        counts = checkin_counts(session, key_result_ids=[kr.id for kr in view.key_results])
        parents, names = parent_choices(session, team_id, obj.quarter)
        current = objectives_by_ids(
            session, team_id=team_id, ids=parent_ids_of(session, child_id=obj.id)
        )
    modal = edit_objective_modal(
        obj,
        view.key_results,
        parents=parents,
        current_parents=current,
        department_names=names,
        checkins={kr.number: counts.get(kr.id, 0) for kr in view.key_results},
    )
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=modal)


def handle_edit_submission(
    ack, view, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    meta = _META.match(view.get("private_metadata") or "")
    numbers = [int(n) for n in meta.group(2).split(",") if n] if meta else []
    if not meta or len(numbers) > MAX_KEY_RESULTS:  # not a form this app drew
        ack(
            response_action="errors",
            errors={"title": "This form is out of date; run /okr edit again."},
        )
        return
    values = view["state"]["values"]
    errors: dict[str, str] = {}
    edits, added = _key_result_changes(values, numbers, errors)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    due = _value(values, "due_date")
    try:
        with deps.session() as session:
            obj = update_objective(
                session,
                **caller.as_actor(session),
                ref=f"O-{meta.group(1)}",
                title=_value(values, "title") or "",
                description=_value(values, "description") or "",
                owner_id=_value(values, "owner"),
                due_date=date.fromisoformat(due) if due else None,
                key_results=edits,
                new_key_results=added,
            )
            save_parents(session, team_id=team_id, actor_id=user_id, child=obj, values=values)
    except FieldErrors as exc:
        ack(response_action="errors", errors=_form_errors(exc.errors, edits, len(added)))
        return
    except (PermissionDenied, NotFound, DomainError) as exc:
        ack(response_action="errors", errors={"title": exc.message[:2000]})
        return
    ack()
    text = f":pencil2: Saved *O-{obj.number}* {escape(obj.title)}."
    client.chat_postMessage(
        channel=user_id, text=f"Saved O-{obj.number}.", blocks=as_dicts([section(text)])
    )
    refresh_home(deps, client, team_id=team_id, user_id=user_id)


def _key_result_changes(
    values: dict, numbers: list[int], errors: dict[str, str]
) -> tuple[list[KeyResultEdit], list[KeyResultInput]]:
    """The edits of the existing key results (`kr{i}_` rows, in `numbers`' order) and the key
    results to add (`new{j}_` rows); numbers that do not parse go into `errors`."""

    def number(block: str):
        raw = _value(values, block)
        if raw in (None, ""):
            return None
        try:
            return parse_number(raw)
        except DomainError as exc:
            errors[block] = exc.message
            return None

    edits = []
    for i, kr_number in enumerate(numbers):
        ticked = _ticked(values, f"kr{i}_remove")
        removing = bool(ticked & {REMOVE_VALUE, CONFIRM_REMOVE_VALUE})
        edits.append(
            KeyResultEdit(
                number=kr_number,
                title=_value(values, f"kr{i}_title") or "",
                unit=_value(values, f"kr{i}_unit") or "",
                # a key result on its way out needs no valid target
                target=None if removing else number(f"kr{i}_target"),
                owner_id=_value(values, f"kr{i}_owner"),
                remove=REMOVE_VALUE in ticked,
                confirm_remove=CONFIRM_REMOVE_VALUE in ticked,
            )
        )
    added = [
        KeyResultInput(
            title=_value(values, f"new{j}_title") or "",
            unit=_value(values, f"new{j}_unit") or "",
            baseline=number(f"new{j}_baseline"),
            target=number(f"new{j}_target"),
            owner_id=_value(values, f"new{j}_owner"),
        )
        for j in range(MAX_KEY_RESULTS - len(numbers))
    ]
    return edits, added


def _ticked(values: dict, block_id: str) -> set[str]:
    element = (values.get(block_id) or {}).get("value") or {}
    return {o.get("value") for o in element.get("selected_options") or [] if isinstance(o, dict)}


def _form_errors(errors: dict[str, str], edits: list[KeyResultEdit], new_rows: int) -> dict:
    """Domain field errors on the edit form's blocks: new key results are the `new{j}_` rows; a
    removal that needs confirmation says which box to tick; errors about the key results as a
    whole sit on the first key result's block."""
    out: dict[str, str] = {}
    for field, message in errors.items():
        kind, _, rest = field.partition(".")
        if kind == "new_kr":
            j, _, name = rest.partition(".")
            field = f"new{j}.{name}"
        elif kind == "kr" and rest.endswith(".remove"):
            edit = edits[int(rest.split(".")[0])]
            if edit.remove and not edit.confirm_remove and "check-in" in message:
                message += f" Tick “{confirm_remove_label(edit.number)}” to go ahead."
        elif field == "key_results":
            field = "kr.0.title" if edits else ("new0.title" if new_rows else "title")
        out[field] = message
    converted = block_errors({k: v for k, v in out.items() if not k.startswith("new")})
    for field, message in out.items():
        if field.startswith("new"):
            j, _, name = field.partition(".")
            converted[f"{j}_{name}"] = message[:2000]
    return converted


def register(app: App) -> None:
    app.view(ObjectiveFormView.EDIT)(handle_edit_submission)
