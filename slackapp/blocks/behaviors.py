"""Block Kit for behaviors: the `/behavior` modal, lists with logged vs weekly target."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    SECTION_TEXT_MAX,
    context,
    cut,
    escape,
    header,
    modal,
    notice_modal,
    plain,
    progress_bar,
    section,
)
from storage.behaviors import BehaviorProgress
from storage.models import NOTE_MAX, TITLE_MAX, Behavior, Department


class BehaviorAction(StrEnum):
    ADD_OPEN = "behavior_add_open"  # "Define a new behavior" on the log form


class BehaviorCallback(StrEnum):
    ADD = "behavior_add_submit"
    LOG = "behavior_log_submit"


class BehaviorField(StrEnum):
    """The inputs of the add and log forms, named as storage names the fields in its errors."""

    DEPARTMENT = "department"
    DESCRIPTION = "description"
    WEEKLY_TARGET = "weekly_target"
    OBJECTIVE = "objective"
    BEHAVIOR = "behavior"
    COUNT = "count"
    NOTE = "note"


def behavior_label(behavior: Behavior, limit: int = 120) -> str:
    return f"B-{behavior.number} {cut(behavior.description, limit)}"


def behavior_option(behavior: Behavior) -> Option:
    return Option(value=str(behavior.number), text=cut(behavior_label(behavior), OPTION_TEXT_MAX))


def progress_line(p: BehaviorProgress) -> str:
    """`B-5 call every detractor  ███░░ 3/5 this week`."""
    label = f"*B-{p.behavior.number}* {escape(cut(p.behavior.description, 120))}"
    if p.target > 0:
        return f"{label}\n`{progress_bar(p.share)}` {p.logged}/{p.target} this week"
    return f"{label}\n{p.logged} logged this week (no weekly target)"


def department_progress_text(dept: Department, progress: list[BehaviorProgress]) -> str:
    """One department's behaviors in one section, cut to the section limit."""
    lines = [f"*{escape(dept.name)}*"]
    lines += [progress_line(p) for p in progress] or ["_No behaviors defined yet._"]
    text = "\n".join(lines)
    return cut(text, SECTION_TEXT_MAX)


def behavior_list_blocks(
    rows: list[tuple[Department, list[BehaviorProgress]]], *, title: str = "Behaviors this week"
) -> list[Block]:
    blocks: list[Block] = [header(title)]
    if not rows:
        blocks.append(
            section(
                "No behaviors yet. A department head adds one with "
                "`/behavior add <department> <description> --target 5`."
            )
        )
        return blocks
    for dept, progress in rows:
        blocks.append(section(department_progress_text(dept, progress)))
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        blocks = blocks[: MESSAGE_BLOCKS_MAX - 1] + [
            context("More departments: `/behavior list <department>`.")
        ]
    blocks.append(context("Log one with `/behavior log B-5 [count] [note]`."))
    return blocks[:MESSAGE_BLOCKS_MAX]


def _dept_option(dept: Department) -> Option:
    return Option(value=str(dept.id), text=cut(dept.name, OPTION_TEXT_MAX))


def _pick_one(block_id: str, label: str, items: Sequence, option: Callable) -> InputBlock:
    """A select of `items` (as many as Slack shows), already chosen when there is only one."""
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        element=StaticSelectElement(
            action_id="value",
            options=[option(x) for x in items[:OPTIONS_MAX]],
            initial_option=option(items[0]) if len(items) == 1 else None,
        ),
    )


def behavior_add_modal(departments: list[Department], objectives: list) -> View:
    """Heads pick one of the departments they lead; objectives are (number, title) pairs."""
    blocks: list[Block] = [
        _pick_one(BehaviorField.DEPARTMENT, "Department", departments, _dept_option),
        InputBlock(
            block_id=BehaviorField.DESCRIPTION,
            label=plain("Behavior"),
            hint=plain("e.g. Call every detractor within 48 hours", 2000),
            element=PlainTextInputElement(action_id="value", max_length=TITLE_MAX),
        ),
        InputBlock(
            block_id=BehaviorField.WEEKLY_TARGET,
            label=plain("Weekly target (how many times a week)"),
            optional=True,
            element=PlainTextInputElement(action_id="value", max_length=6),
        ),
    ]
    if objectives:
        blocks.append(
            InputBlock(
                block_id=BehaviorField.OBJECTIVE,
                label=plain("Linked objective"),
                optional=True,
                element=StaticSelectElement(
                    action_id="value",
                    options=[
                        Option(value=f"O-{n}", text=cut(f"O-{n} {t}", OPTION_TEXT_MAX))
                        for n, t in objectives[:OPTIONS_MAX]
                    ],
                ),
            )
        )
    return modal("New behavior", blocks, callback_id=BehaviorCallback.ADD, submit="Add")


def behavior_log_modal(
    behaviors: list[Behavior], progress_text: str | None = None, *, can_add: bool = False
) -> View:
    blocks: list[Block] = []
    if can_add:  # heads may define a new behavior from the same form
        blocks.append(
            ActionsBlock(
                block_id="behavior_tools",
                elements=[
                    ButtonElement(text="Define a new behavior", action_id=BehaviorAction.ADD_OPEN)
                ],
            )
        )
    if progress_text:
        blocks.append(section(progress_text))
    blocks += [
        _pick_one(BehaviorField.BEHAVIOR, "Behavior", behaviors, behavior_option),
        InputBlock(
            block_id=BehaviorField.COUNT,
            label=plain("How many times"),
            optional=True,
            hint=plain("Leave blank for once.", 2000),
            element=PlainTextInputElement(action_id="value", max_length=5),
        ),
        InputBlock(
            block_id=BehaviorField.NOTE,
            label=plain("Note"),
            optional=True,
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=NOTE_MAX),
        ),
    ]
    return modal("Log a behavior", blocks, callback_id=BehaviorCallback.LOG, submit="Log")


def no_behaviors_modal(is_head: bool) -> View:
    text = (
        "Your departments have no behaviors yet. As a head you can add one: "
        "`/behavior add <department> <description> --target 5`."
        if is_head
        else "Your departments have no behaviors yet, and you're not in a department that has "
        "any. Ask your department head to add one with `/behavior add`."
    )
    return notice_modal("Behaviors", text)
