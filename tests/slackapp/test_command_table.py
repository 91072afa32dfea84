"""`/okr` is one table: each subcommand it declares is documented in the README, listed by
`/okr help` and in the usage reply, and shown in the manifest's hint. A toy subcommand added
the way CONTRIBUTING.md says (through the table only) works end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from slackapp import manifest as app_manifest
from slackapp.commands import CommandContext, CommandTable, Subcommand
from slackapp.listeners.okr_command import OKR
from slackapp.replies import UsageError, reply
from storage.models import AuditLog
from tests.conftest import ALICE, BOB
from tests.slackapp.test_okr_commands import count

ROOT = Path(__file__).resolve().parents[2]


def readme_command_rows() -> list[str]:
    """The rows of the README's table of Slack commands ("Using it in Slack")."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it in Slack", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `/")]


def okr(driver, slack, text: str, user: str = BOB) -> str:
    """Types `/okr <text>`; returns the ephemeral reply's blocks as text."""
    slack.reset()
    driver.command("/okr", text, user=user)
    (body,) = driver.replies()
    assert body["response_type"] == "ephemeral"
    lines = []
    for block in body["blocks"]:
        if block.get("text"):
            lines.append(block["text"]["text"])
        lines += [element["text"] for element in block.get("elements", [])]
    return "\n".join(lines)


def test_every_subcommand_is_in_the_readme_table():
    rows = readme_command_rows()
    missing = [
        sub.name
        for sub in OKR.subcommands
        if not any(f"`/okr {sub.name}" in row.split(" | ")[0] for row in rows)
    ]
    assert missing == []


def test_help_lists_every_subcommand_and_the_other_commands(driver, slack):
    text = okr(driver, slack, "help", BOB)
    for sub in OKR.subcommands:
        assert f"— {sub.help}" in text
        for form in sub.usage:
            assert f"`{form}`" in text, form
    for other in ("/checkin KR-34", "/checkin away", "/behavior add", "/behavior log",
                  "/behavior list", "/behavior link", "/behavior show", "/kudos @user", "/kpi"):  # fmt: skip
        assert other in text, other
    assert text.index("/okr decisions") < text.index("*Other commands*") < text.index("/kudos")


def test_help_fits_slack_sections(driver, slack):
    okr(driver, slack, "help")
    blocks = driver.replies()[-1]["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    # No line was cut: the blocks hold the whole help text.
    assert "\n".join(b["text"]["text"] for b in blocks) == OKR.help_text()


def test_usage_reply_lists_every_subcommand_and_writes_nothing(driver, slack, engine):
    before = count(engine, AuditLog)
    text = okr(driver, slack, "Frobnicate now", BOB)
    assert "You wrote: `/okr Frobnicate now`" in text
    assert "`frobnicate` is not a `/okr` command." in text
    for sub in OKR.subcommands:
        for form in sub.usage:
            assert f"`{form}`" in text, form
    assert count(engine, AuditLog) == before


def test_manifest_hint_names_every_subcommand():
    hint = next(c for c in app_manifest.build()["features"]["slash_commands"] if c["command"] == "/okr")["usage_hint"]  # fmt: skip
    assert hint == OKR.manifest_hint()
    assert [part.split()[0] for part in hint.split(" | ")] == [s.name for s in OKR.subcommands]
    on_disk = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert hint in [c["usage_hint"] for c in on_disk["features"]["slash_commands"]]


def test_a_name_declared_twice_is_refused():
    table = CommandTable("/toy", default="a")
    table.add(Subcommand("a", lambda ctx, rest: None, ("/toy a",), "one"))
    with pytest.raises(ValueError, match="declared twice"):
        table.add(Subcommand("b", lambda ctx, rest: None, ("/toy b",), "two", aliases=("A",)))


# --- CONTRIBUTING.md's recipe "Add an /okr subcommand", followed literally ---------------------

ECHO_USAGE = "`/okr echo <words…>`"


def echo_words(ctx: CommandContext, rest: str) -> None:
    """A toy subcommand: repeats the words back; without words it is a usage error."""
    if not rest:
        raise UsageError("Say what to echo.", usage=ECHO_USAGE)
    reply(ctx.respond, f"{ctx.user_id} said: {rest}")


@pytest.fixture
def echo():
    sub = OKR.add(
        Subcommand(
            "echo",
            echo_words,
            ("/okr echo <words…>",),
            "repeats your words (a toy for the tests)",
            aliases=("say",),
        )
    )
    try:
        yield sub
    finally:
        OKR.remove("echo")


def test_recipe_toy_subcommand_runs_and_shows_in_help_and_usage(echo, driver, slack, engine):
    assert okr(driver, slack, "echo hello there", ALICE) == f"{ALICE} said: hello there"
    assert okr(driver, slack, "SAY again", ALICE) == f"{ALICE} said: again"

    help_text = okr(driver, slack, "help", ALICE)
    assert "• `/okr echo <words…>` — repeats your words (a toy for the tests)" in help_text

    assert "`/okr echo <words…>`" in okr(driver, slack, "nonsense", ALICE)
    assert OKR.manifest_hint().endswith("| echo")

    # Its own bad input gets its own usage, quoting what was typed; nothing is written.
    text = okr(driver, slack, "echo", ALICE)
    assert "You wrote: `/okr echo`" in text and "Say what to echo." in text
    assert re.search(r"\*Usage:\* `/okr echo <words…>`$", text)
    assert count(engine, AuditLog) == 0


def test_the_toy_is_gone_after_its_test():
    assert OKR.find("echo") is None and OKR.find("say") is None
    assert "echo" not in OKR.manifest_hint().split(" | ")
