"""A slash command's subcommands as one table: dispatch, usage reply, help and manifest hint.

Each subcommand is declared once, as a `Subcommand` record, and everything a person sees about
it (the `help` list, the usage shown after a mistake, the hint Slack shows while typing) is
rendered from that record. Every handler has the same signature, `handler(ctx, rest)`: `ctx` is
the request (`CommandContext`), `rest` the text after the subcommand's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from slackapp.blocks.common import SECTION_TEXT_MAX, as_dicts, section
from slackapp.replies import UsageError, guarded, reply

if TYPE_CHECKING:
    from slackapp.context import Deps
    from slackapp.roles import Caller


@dataclass(frozen=True)
class CommandContext:
    """One slash-command request, as every subcommand handler receives it: the values Bolt
    injects into the command's listener, passed on as they are."""

    deps: Deps
    team_id: str
    user_id: str
    caller: Caller  # who is asking, in what role (slackapp.roles)
    client: WebClient
    respond: Callable  # the command's answer (slackapp.command_answer); a button's respond
    command: Mapping = field(default_factory=dict)  # Slack's payload; empty for a button

    @property
    def trigger_id(self) -> str | None:
        """Opens a modal; Slack accepts it for 3 seconds after the command was typed."""
        return self.command.get("trigger_id")


Handler = Callable[[CommandContext, str], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    handler: Handler
    usage: tuple[str, ...]  # each way to type it, e.g. "/okr show O-12"
    help: str  # one line: what it does
    role: str = "anyone"  # who may run it, as help shows it (storage enforces it on writes)
    aliases: tuple[str, ...] = ()
    hint: str | None = None  # the manifest's short form; the name alone when None

    def __post_init__(self):
        if not self.usage:
            raise ValueError(f"subcommand {self.name!r} needs at least one usage form")


@dataclass(frozen=True)
class OtherCommand:
    """Another slash command's line in `help`: what it does (unless its usage text already says
    so) and its usage text."""

    usage: str
    help: str = ""


def code(form: str) -> str:
    return f"`{form}`"


class CommandTable:
    """One slash command's subcommands, dispatched by the first word of the text."""

    def __init__(
        self,
        command: str,
        subcommands: list[Subcommand] | tuple[Subcommand, ...] = (),
        *,
        default: str,
        title: str = "",
        footer: str = "",
        others: tuple[OtherCommand, ...] = (),
    ):
        self.command = command
        self.default = default  # the subcommand run when the text is empty
        self.title = title
        self.footer = footer
        self.others = others
        self._subcommands: list[Subcommand] = []
        self._by_name: dict[str, Subcommand] = {}
        self._help_blocks: list[dict] | None = None  # built on first use, reset by add/remove
        for sub in subcommands:
            self.add(sub)

    def add(self, sub: Subcommand) -> Subcommand:
        """Registers one more subcommand; a name taken twice is a mistake in the code."""
        for name in (sub.name, *sub.aliases):
            key = name.lower()
            if key in self._by_name:
                raise ValueError(f"{self.command} {name} is declared twice")
            self._by_name[key] = sub
        self._subcommands.append(sub)
        self._help_blocks = None
        return sub

    def remove(self, name: str) -> None:
        sub = self._by_name[name.lower()]
        self._subcommands.remove(sub)
        for key in [k for k, v in self._by_name.items() if v is sub]:
            del self._by_name[key]
        self._help_blocks = None

    @property
    def subcommands(self) -> tuple[Subcommand, ...]:
        return tuple(self._subcommands)

    def find(self, name: str) -> Subcommand | None:
        return self._by_name.get((name or self.default).lower())

    # --- what people see ------------------------------------------------------------------

    def usage(self) -> str:
        """Every form of every subcommand on one line, shown after a mistake."""
        return " · ".join(code(form) for sub in self._subcommands for form in sub.usage)

    def help_lines(self) -> list[str]:
        lines = []
        for sub in self._subcommands:
            forms = " · ".join(code(form) for form in sub.usage)
            role = "" if sub.role == "anyone" else f" _({sub.role})_"
            lines.append(f"• {forms} — {sub.help}{role}")
        return lines

    def other_lines(self) -> list[str]:
        return [f"• {o.help}: {o.usage}" if o.help else f"• {o.usage}" for o in self.others]

    def help_text(self) -> str:
        parts = [self.title, *self.help_lines()]
        if self.others:
            parts += ["*Other commands*", *self.other_lines()]
        if self.footer:
            parts.append(self.footer)
        return "\n".join(p for p in parts if p)

    def help_blocks(self) -> list[dict]:
        """The help text in as many sections as Slack's 3,000 characters a section need. Built
        once per set of subcommands: it is the same for everyone who asks."""
        if self._help_blocks is None:
            chunks: list[list[str]] = [[]]
            size = 0  # of the last chunk, newlines included
            for line in self.help_text().split("\n"):
                if chunks[-1] and size + len(line) > SECTION_TEXT_MAX:
                    chunks.append([])
                    size = 0
                chunks[-1].append(line)
                size += len(line) + 1
            self._help_blocks = as_dicts([section("\n".join(chunk)) for chunk in chunks])
        return list(self._help_blocks)  # the blocks are shared: a reply only serializes them

    def manifest_hint(self) -> str:
        """What Slack shows under the command while it is typed."""
        return " | ".join(sub.hint or sub.name for sub in self._subcommands)

    # --- running it -----------------------------------------------------------------------

    def dispatch(self, ctx: CommandContext, text: str) -> None:
        """Runs the subcommand the text names; bad input gets the usage reply, nothing
        written."""
        text = text.strip()
        first, _, rest = text.partition(" ")
        usage = self.usage()

        def run():
            sub = self.find(first)
            if sub is None:
                raise UsageError(
                    f"`{first.lower()}` is not a `{self.command}` command.", usage=usage
                )
            sub.handler(ctx, rest.strip())

        guarded(ctx.respond, f"{self.command} {text}".strip(), usage, run)

    def reply_help(self, ctx: CommandContext, rest: str) -> None:
        """The `help` subcommand's handler."""
        reply(ctx.respond, self.help_text(), self.help_blocks())
