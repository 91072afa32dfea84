"""Block Kit objects become the same JSON as `slack_sdk`'s `to_dict` gives, and a limit broken
is refused the same way (tests/conftest.py also compares the two on every block any test
renders)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RichTextBlock,
    RichTextSectionElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.block_json import block_json

BLOCKS = [
    SectionBlock(
        text=MarkdownTextObject(text="*Objective* O-1"),
        fields=[PlainTextObject(text="a", emoji=True), MarkdownTextObject(text="b")],
        accessory=ButtonElement(text="Open", action_id="open", value="1", style="primary"),
    ),
    ContextBlock(elements=[MarkdownTextObject(text="one"), PlainTextObject(text="two")]),
    DividerBlock(),
    HeaderBlock(text="Weekly digest"),
    ActionsBlock(
        block_id="row",
        elements=[
            ButtonElement(
                text="Undo",
                action_id="undo",
                value="7",
                confirm=ConfirmObject(title="Sure?", text="It goes.", confirm="Yes", deny="No"),
            ),
            StaticSelectElement(
                action_id="pick",
                placeholder="Pick",
                options=[Option(value="1", text="One"), Option(value="2", text="Two")],
                initial_option=Option(value="2", text="Two"),
            ),
        ],
    ),
    InputBlock(
        block_id="note",
        label="Note",
        optional=True,
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=500),
    ),
    # Rich text may hold an empty list of elements: kept, as slack_sdk keeps it.
    RichTextBlock(elements=[RichTextSectionElement(elements=[])]),
]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: type(b).__name__)
def test_each_kind_of_block_becomes_what_slack_sdk_makes(block):
    assert block_json(block) == block.to_dict()


def test_a_view_becomes_what_slack_sdk_makes():
    view = View(type="home", blocks=BLOCKS[:5], private_metadata="x", callback_id="home")
    assert block_json(view) == view.to_dict()
    assert block_json(view)["blocks"][0]["accessory"]["action_id"] == "open"


@pytest.mark.parametrize(
    "broken",
    [
        lambda: SectionBlock(text="x" * 3001),
        lambda: HeaderBlock(text="h" * 151),
        lambda: ButtonElement(text="b" * 76, action_id="a"),
        lambda: ActionsBlock(
            elements=[ButtonElement(text="b", action_id=f"a{i}") for i in range(26)]
        ),
        lambda: View(type="modal", title="t" * 25, blocks=[]),
    ],
    ids=["section text", "header", "button text", "too many elements", "modal title"],
)
def test_a_broken_limit_is_refused_as_slack_sdk_refuses_it(broken):
    with pytest.raises(SlackObjectFormationError):
        broken().to_dict()
    with pytest.raises(SlackObjectFormationError):
        block_json(broken())


def test_a_limit_broken_deep_inside_is_refused():
    nested = ActionsBlock(elements=[ButtonElement(text="ok", action_id="a", value="v" * 2001)])
    with pytest.raises(SlackObjectFormationError):
        block_json(nested)
