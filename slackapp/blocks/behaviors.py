"""Block Kit for behaviors: the `/behavior` modal, lists with logged vs weekly target."""

from __future__ import annotations

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

ADD_CALLBACK_ID = "behavior_add_submit"
LOG_CALLBACK_ID = "behavior_log_submit"
ADD_OPEN_ACTION = "behavior_add_open"


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


def behavior_add_modal(departments: list[Department], objectives: list) -> View:
    """Heads pick one of the departments they lead; objectives are (number, title) pairs."""
    blocks: list[Block] = [
        InputBlock(
            block_id="department",
            label=plain("Department"),
            element=StaticSelectElement(
                action_id="value",
                options=[_dept_option(d) for d in departments[:OPTIONS_MAX]],
                initial_option=_dept_option(departments[0]) if len(departments) == 1 else None,
            ),
        ),
        InputBlock(
            block_id="description",
            label=plain("Behavior"),
            hint=plain("e.g. Call every detractor within 48 hours", 2000),
            element=PlainTextInputElement(action_id="value", max_length=TITLE_MAX),
        ),
        InputBlock(
            block_id="weekly_target",
            label=plain("Weekly target (how many times a week)"),
            optional=True,
            element=PlainTextInputElement(action_id="value", max_length=6),
        ),
    ]
    if objectives:
        blocks.append(
            InputBlock(
                block_id="objective",
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
    return modal("New behavior", blocks, callback_id=ADD_CALLBACK_ID, submit="Add")


def behavior_log_modal(
    behaviors: list[Behavior], progress_text: str | None = None, *, can_add: bool = False
) -> View:
    blocks: list[Block] = []
    if can_add:  # heads may define a new behavior from the same form
        blocks.append(
            ActionsBlock(
                block_id="behavior_tools",
                elements=[ButtonElement(text="Define a new behavior", action_id=ADD_OPEN_ACTION)],
            )
        )
    if progress_text:
        blocks.append(section(progress_text))
    blocks += [
        InputBlock(
            block_id="behavior",
            label=plain("Behavior"),
            element=StaticSelectElement(
                action_id="value",
                options=[behavior_option(b) for b in behaviors[:OPTIONS_MAX]],
                initial_option=behavior_option(behaviors[0]) if len(behaviors) == 1 else None,
            ),
        ),
        InputBlock(
            block_id="count",
            label=plain("How many times"),
            optional=True,
            hint=plain("Leave blank for once.", 2000),
            element=PlainTextInputElement(action_id="value", max_length=5),
        ),
        InputBlock(
            block_id="note",
            label=plain("Note"),
            optional=True,
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=NOTE_MAX),
        ),
    ]
    return modal("Log a behavior", blocks, callback_id=LOG_CALLBACK_ID, submit="Log")


def no_behaviors_modal(is_head: bool) -> View:
    text = (
        "Your departments have no behaviors yet. As a head you can add one: "
        "`/behavior add <department> <description> --target 5`."
        if is_head
        else "Your departments have no behaviors yet, and you're not in a department that has "
        "any. Ask your department head to add one with `/behavior add`."
    )
    return notice_modal("Behaviors", text)
