"""The `/okr new` and `/okr edit` modals."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DatePickerElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    context,
    cut,
    divider,
    header,
    modal,
    notice_modal,
    plain,
)
from storage.models import TITLE_MAX, UNIT_MAX, Department, Objective
from storage.objectives import MAX_KEY_RESULTS
from storage.quarters import next_quarter, quarter_bounds, quarter_of


class ObjectiveFormView(StrEnum):
    NEW = "okr_new_objective"
    EDIT = "okr_edit_objective"


class ObjectiveFormAction(StrEnum):
    """The selects that search as you type, past what a static select may hold."""

    DEPARTMENT_SEARCH = "department_search"
    CONTRIBUTES_SEARCH = "contributes_search"


class ObjectiveFormBlock(StrEnum):
    CONTRIBUTES_TO = "contributes_to"  # read by slackapp.listeners.alignment


OPTION_VALUE_MAX = 150  # Slack's limit on a select option's value


def _text_input(
    block_id,
    label,
    *,
    optional=False,
    max_length=None,
    placeholder=None,
    multiline=False,
    initial=None,
):
    return InputBlock(
        block_id=block_id,
        label=plain(label, 2000),
        optional=optional,
        element=PlainTextInputElement(
            action_id="value",
            max_length=max_length,
            multiline=multiline,
            placeholder=plain(placeholder, 150) if placeholder else None,
            initial_value=initial,
        ),
    )


def _key_result_inputs(prefix: str, *, optional: bool, example: str) -> list[InputBlock]:
    """Title, unit, baseline, target and owner of a key result to add (block ids `{prefix}_…`);
    the unit and owner may always stay empty."""
    return [
        _text_input(
            f"{prefix}_title",
            "What will be measured",
            optional=optional,
            max_length=TITLE_MAX,
            placeholder=example,
        ),
        _text_input(
            f"{prefix}_unit",
            "Unit",
            optional=True,
            max_length=UNIT_MAX,
            placeholder="%, pts, $, count",
        ),
        _text_input(f"{prefix}_baseline", "Baseline", optional=optional, placeholder="32"),
        _text_input(f"{prefix}_target", "Target", optional=optional, placeholder="45"),
        InputBlock(
            block_id=f"{prefix}_owner",
            label=plain("Owner (defaults to the objective's owner)"),
            optional=True,
            element=UserSelectElement(action_id="value"),
        ),
    ]


COMPANY_VALUE = "company"  # the department choice of a company objective (admins only)


def department_option(d: Department) -> Option:
    return Option(value=str(d.id), text=cut(d.name, 75))


def company_option() -> Option:
    return Option(value=COMPANY_VALUE, text="Company-wide")


def parent_option(o: Objective, department_names: dict[int, str]) -> Option:
    where = department_names.get(o.department_id, "Company-wide")
    return Option(value=str(o.id), text=cut(f"O-{o.number} {o.title} · {where}", 75))


def contributes_to_block(
    choices: list[Objective], department_names: dict[int, str], initial: list[Objective] = ()
) -> list[InputBlock]:
    """ "Contributes to": the quarter's objectives (search as you type beyond 100); no block
    when there is nothing to choose."""
    ids = {o.id for o in choices}
    choices = list(choices) + [o for o in initial if o.id not in ids]
    if not choices:
        return []
    initial_options = [parent_option(o, department_names) for o in initial] or None
    if len(choices) <= OPTIONS_MAX:
        element = StaticMultiSelectElement(
            action_id="value",
            placeholder=plain("Objectives this one moves", 150),
            options=[parent_option(o, department_names) for o in choices],
            initial_options=initial_options,
        )
    else:
        element = ExternalDataMultiSelectElement(
            action_id=ObjectiveFormAction.CONTRIBUTES_SEARCH,
            placeholder=plain("Type to search the quarter's objectives", 150),
            min_query_length=0,
            initial_options=initial_options,
        )
    return [
        InputBlock(
            block_id=ObjectiveFormBlock.CONTRIBUTES_TO,
            label=plain("Contributes to"),
            optional=True,
            hint=plain("Company or other departments' objectives of the same quarter.", 2000),
            element=element,
        )
    ]


def _department_element(departments: list[Department], company: bool):
    options = ([company_option()] if company else []) + [department_option(d) for d in departments]
    if len(options) <= OPTIONS_MAX:
        return StaticSelectElement(
            action_id="value",
            placeholder=plain("Choose a department", 150),
            options=options,
            initial_option=options[0] if len(options) == 1 else None,
        )
    # More than a static select may hold: search as you type.
    return ExternalDataSelectElement(
        action_id=ObjectiveFormAction.DEPARTMENT_SEARCH,
        placeholder=plain("Type to search departments", 150),
        min_query_length=0,
    )


def _kpi_options(kpi_names: list[str]) -> list[Option]:
    """No binding, then each KPI company-wide and for this department."""
    options = [Option(value="", text="No KPI binding (checked in by hand)")]
    for name in kpi_names:
        if len(f"{name}|department") > OPTION_VALUE_MAX:
            # A name that cannot travel in an option value cannot be picked; leaving it out
            # keeps the form opening whatever names the database holds.
            continue
        options.append(
            Option(value=f"{name}|company", text=cut(f"{name} · company-wide", OPTION_TEXT_MAX))
        )
        options.append(
            Option(
                value=f"{name}|department", text=cut(f"{name} · this department", OPTION_TEXT_MAX)
            )
        )
    return options[:OPTIONS_MAX]


def _objective_inputs(*, title=None, description=None) -> list[InputBlock]:
    return [
        _text_input(
            "title",
            "Objective",
            max_length=TITLE_MAX,
            placeholder=None if title is not None else "Turn detractors into promoters",
            initial=title,
        ),
        _text_input(
            "description",
            "Why it matters for loyalty",
            optional=True,
            multiline=True,
            max_length=3000,
            initial=description,
        ),
    ]


def _owner_input(block_id: str, initial_user: str | None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain("Owner"),
        element=UserSelectElement(action_id="value", initial_user=initial_user),
    )


def _due_date_input(initial: date, hint: str, *, optional: bool) -> InputBlock:
    return InputBlock(
        block_id="due_date",
        label=plain("Due date"),
        optional=optional,
        hint=plain(hint, 2000),
        element=DatePickerElement(action_id="value", initial_date=initial.isoformat()),
    )


def _quarter_input(quarter: str) -> InputBlock:
    """This quarter and the next three."""
    quarters = [quarter]
    for _ in range(3):
        quarters.append(next_quarter(quarters[-1]))
    return InputBlock(
        block_id="quarter",
        label=plain("Quarter"),
        element=StaticSelectElement(
            action_id="value",
            options=[Option(value=q, text=q) for q in quarters],
            initial_option=Option(value=quarter, text=quarter),
        ),
    )


def new_objective_modal(
    *,
    departments: list[Department],
    user_id: str,
    kpi_names: list[str],
    today: date,
    company: bool = False,
    parents: list[Objective] = (),
    department_names: dict[int, str] | None = None,
) -> View:
    """`company`: offer "Company-wide" first (admins); `parents`: the "Contributes to" choices."""
    quarter = quarter_of(today)
    kpi_options = _kpi_options(kpi_names)
    blocks = [
        InputBlock(
            block_id="department",
            label=plain("Department"),
            element=_department_element(departments, company),
        ),
        *_objective_inputs(),
        _quarter_input(quarter),
        _owner_input("owner", user_id),
        *contributes_to_block(list(parents), department_names or {}),
        _due_date_input(
            quarter_bounds(quarter)[1],
            "Inside the quarter; defaults to its last day.",
            optional=True,
        ),
    ]
    for i in range(MAX_KEY_RESULTS):
        opt = i > 0
        blocks += [
            divider(),
            header(f"Key result {i + 1}" + (" (optional)" if opt else "")),
            *_key_result_inputs(f"kr{i}", optional=opt, example="NPS of enterprise customers"),
            InputBlock(
                block_id=f"kr{i}_kpi",
                label=plain("Take the value from a KPI"),
                optional=True,
                element=StaticSelectElement(action_id="value", options=kpi_options),
            ),
        ]
    blocks.append(
        context(
            "SMART check: every key result needs a numeric target that differs "
            "from its baseline, and the due date must be inside the quarter."
        )
    )
    return modal("New objective", blocks, callback_id=ObjectiveFormView.NEW, submit="Create")


def no_department_modal(message: str) -> View:
    return notice_modal("New objective", message)


def _existing_kr_blocks(i: int, kr, checkins: int) -> list:
    """One key result of the objective being edited (block ids `kr{i}_…`)."""
    return [
        divider(),
        header(f"KR-{kr.number} (baseline {kr.baseline:g})"),
        _text_input(f"kr{i}_title", "What is measured", max_length=TITLE_MAX, initial=kr.title),
        _text_input(
            f"kr{i}_unit", "Unit", optional=True, max_length=UNIT_MAX, initial=kr.unit or None
        ),
        _text_input(f"kr{i}_target", "Target", initial=f"{kr.target:g}"),
        _owner_input(f"kr{i}_owner", kr.owner_id),
        remove_block(i, kr.number, checkins),
    ]


def edit_objective_modal(
    obj,
    key_results,
    *,
    parents: list[Objective] = (),
    current_parents: list[Objective] = (),
    department_names: dict[int, str] | None = None,
    checkins: dict[int, int] | None = None,
) -> View:
    """Prefilled edit form, with empty rows to add key results and a "Remove" box on each
    (`checkins`: key result number → its check-in count, for the confirmation).
    private_metadata names the objective and its key results; the submission re-checks both
    against the verified team and user."""
    blocks = [
        *_objective_inputs(title=obj.title, description=obj.description or None),
        _owner_input("owner", obj.owner_id),
        _due_date_input(obj.due_date, f"Inside {obj.quarter}.", optional=False),
        *contributes_to_block(
            [p for p in parents if p.id != obj.id], department_names or {}, list(current_parents)
        ),
    ]
    checkins = checkins or {}
    for i, kr in enumerate(key_results):
        blocks += _existing_kr_blocks(i, kr, checkins.get(kr.number, 0))
    # Empty rows for new key results, up to the per-objective limit; blank rows are ignored.
    for j in range(max(0, MAX_KEY_RESULTS - len(key_results))):
        blocks += [
            divider(),
            header("New key result (optional)"),
            *_key_result_inputs(f"new{j}", optional=True, example="Repeat purchase rate"),
        ]
    blocks.append(
        context(
            f"An objective keeps 1 to {MAX_KEY_RESULTS} key results. A removed key result's "
            "check-ins are deleted with it; the audit log keeps a copy."
        )
    )
    meta = f"O-{obj.number}|" + ",".join(str(kr.number) for kr in key_results)
    return modal(
        f"Edit O-{obj.number}",
        blocks,
        callback_id=ObjectiveFormView.EDIT,
        submit="Save",
        private_metadata=meta,
    )


REMOVE_VALUE, CONFIRM_REMOVE_VALUE = "remove", "confirm"


def confirm_remove_label(number: int) -> str:
    return f"Yes, remove KR-{number} and its history"


def remove_block(i: int, number: int, checkins: int) -> InputBlock:
    """ "Remove" for one key result; one with check-ins also offers the explicit confirmation
    that its history goes too (ticking only "Remove" is answered with a field error)."""
    options = [Option(value=REMOVE_VALUE, text=f"Remove KR-{number}")]
    hint = None
    if checkins:
        options.append(Option(value=CONFIRM_REMOVE_VALUE, text=confirm_remove_label(number)))
        hint = plain(
            f"KR-{number} has {checkins} check-in{'s' if checkins != 1 else ''}; removing it "
            "deletes them (the audit log keeps a copy).",
            2000,
        )
    return InputBlock(
        block_id=f"kr{i}_remove",
        label=plain("Remove"),
        optional=True,
        hint=hint,
        element=CheckboxesElement(action_id="value", options=options),
    )
