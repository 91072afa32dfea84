"""Slash-command grammar: usage texts and parsing of `/checkin` and `/behavior` command text.

Storage takes typed, keyword-only arguments; turning what a person typed into them (and
saying how to type it) happens here, where the command being answered is known.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass

from sqlmodel import Session

from slackapp.replies import UsageError
from storage.departments import find_department
from storage.errors import NotFound
from storage.refs import parse_ref

CHECKIN_USAGE = (
    "`/checkin KR-34 45 7/10 optional note [blocked: what you need and from whom]` — or "
    "`/checkin KR-34 7/10 note` for a KPI-bound key result"
)
BEHAVIOR_USAGE = (
    "`/behavior add <department> <description> [--target 5] [--objective O-12]` (heads) · "
    "`/behavior log B-5 [count] [note]` · `/behavior list [department]` · `/behavior` alone opens a form"
)
BEHAVIOR_ADD_USAGE = "`/behavior add <department> <description> [--target 5] [--objective O-12]`"
BEHAVIOR_LOG_USAGE = (
    "`/behavior log B-5 [count] [note]`, e.g. `/behavior log B-5 2 called both detractors`"
)
KUDOS_USAGE = (
    "`/kudos @user… what the customer said or what they did [#B-5]` — `/kudos` alone opens a form"
)
# A trailing `#B-5` / `#B5`, or `#` and a behavior name at the very end of the praise.
_REF_TAG = re.compile(r"(?:^|\s)#(B-?\d{1,9})\b", re.IGNORECASE)
_NAME_TAG = re.compile(r"(?:^|\s)#([^\s#<>][^#<>]*)$")
_CONFIDENCE = re.compile(r"^(\d{1,3})\s*/\s*10$")
_COUNT = re.compile(r"^\d{1,9}$")  # a whole number; its range is checked by storage
_BLOCKED = re.compile(r"(?:^|\s)blocked:", re.IGNORECASE)  # the rest of a check-in note


# --- /checkin -----------------------------------------------------------------------------


@dataclass
class CheckinText:
    ref: str
    value_text: str | None
    confidence: int | None
    note: str
    blocker: str = ""


def parse_confidence(token: str) -> int:
    m = _CONFIDENCE.match(token.strip())
    if not m:
        raise UsageError(
            f"`{token}` is not a confidence; write it like `7/10`.", field="confidence"
        )
    n = int(m.group(1))
    if not 1 <= n <= 10:
        raise UsageError(
            f"Confidence `{token}` is out of range; use 1/10 to 10/10.", field="confidence"
        )
    return n


def parse_checkin_text(text: str) -> CheckinText:
    """`KR-34 45 [7/10] [note…]` or `KR-34 7/10 [note…]`; raises UsageError with the reason."""
    tokens = (text or "").split()
    if not tokens:
        raise UsageError("Say which key result, e.g. `KR-34`.", usage=CHECKIN_USAGE)
    ref, rest = tokens[0], tokens[1:]
    value_text: str | None = None
    confidence: int | None = None
    if rest and not _CONFIDENCE.match(rest[0]):
        value_text = rest.pop(0)
        if rest and rest[0] == "%":  # "12 %"
            value_text += " " + rest.pop(0)
    if rest and "/" in rest[0] and rest[0].split("/")[-1] == "10":
        confidence = parse_confidence(rest.pop(0))
    note, blocker = split_blocker(" ".join(rest))
    return CheckinText(
        ref=ref, value_text=value_text, confidence=confidence, note=note, blocker=blocker
    )


def split_blocker(note: str) -> tuple[str, str]:
    """`slow week blocked: Product to fix the points bug` → ("slow week", "Product to fix…")."""
    m = _BLOCKED.search(note or "")
    if not m:
        return (note or "").strip(), ""
    return note[: m.start()].strip(), note[m.end() :].strip()


def checkin_value_example(number: int, *, kpi_bound: bool) -> str:
    """How to check in on KR-`number` from the command line."""
    if kpi_bound:
        return f"e.g. `/checkin KR-{number} 7/10 going well`"
    return f"e.g. `/checkin KR-{number} 45 7/10`"


# --- /behavior ----------------------------------------------------------------------------


@dataclass
class BehaviorAddText:
    department: str
    description: str
    weekly_target: int
    objective_ref: str | None


def parse_target(text: str | int | None) -> int:
    if text is None or str(text).strip() == "":
        return 0
    raw = str(text).strip()
    if not _COUNT.match(raw):
        raise UsageError(
            f"`{raw}` is not a weekly target; give a whole number like `5`.",
            usage=BEHAVIOR_ADD_USAGE,
            field="weekly_target",
        )
    return int(raw)  # its range is storage's rule (create_behavior)


class _FlagParser(argparse.ArgumentParser):
    """argparse for the `--flags` inside a command's text: it never prints or exits, every
    problem becomes a usage reply."""

    def __init__(self, usage: str) -> None:
        super().__init__(prog="", add_help=False, allow_abbrev=False, exit_on_error=False)
        self.usage_reply = usage

    def error(self, message: str):  # noqa: ANN201 - argparse's hook; raises instead of exiting
        raise UsageError(f"{message[:1].upper()}{message[1:]}.", usage=self.usage_reply)


_BEHAVIOR_ADD_OPTIONS = ("--target", "--objective")


def _behavior_add_flags() -> _FlagParser:
    parser = _FlagParser(BEHAVIOR_ADD_USAGE)
    for option in _BEHAVIOR_ADD_OPTIONS:
        parser.add_argument(option)
    return parser


_BEHAVIOR_ADD_FLAGS = _behavior_add_flags()


def _flag_lowercase(token: str) -> str:
    """`--Target=5` → `--target=5`: people type our flags in any case; anything else that
    starts with dashes is part of the description and stays as typed."""
    name, sep, value = token.partition("=")
    if name.lower() not in _BEHAVIOR_ADD_OPTIONS:
        return token
    return name.lower() + sep + value


def parse_behavior_add(session: Session, *, team_id: str, text: str) -> BehaviorAddText:
    """`<department> <description> [--target N] [--objective O-12]`.

    Department names may have spaces, so the longest leading run of words that names an
    existing department wins; a quoted name ("Customer Care") is taken as written.
    """
    try:
        tokens = shlex.split(text or "")
    except ValueError:  # an unbalanced quote: fall back to plain words
        tokens = (text or "").split()
    try:
        flags, words = _BEHAVIOR_ADD_FLAGS.parse_known_args([_flag_lowercase(t) for t in tokens])
    except argparse.ArgumentError as exc:
        raise UsageError(
            f"`{exc.argument_name}` needs a value.", usage=BEHAVIOR_ADD_USAGE
        ) from None
    if not words:
        raise UsageError(
            "Say which department and describe the behavior.", usage=BEHAVIOR_ADD_USAGE
        )
    department = None
    for n in range(len(words), 0, -1):
        candidate = " ".join(words[:n])
        if find_department(session, team_id=team_id, name=candidate) is not None:
            department = candidate
            words = words[n:]
            break
    if department is None:
        raise NotFound(
            f"No department matches the start of `{' '.join(words)[:80]}`.", field="department"
        )
    description = " ".join(words)
    if not description:
        raise UsageError(
            "Describe the behavior after the department name.", usage=BEHAVIOR_ADD_USAGE
        )
    return BehaviorAddText(department, description, parse_target(flags.target), flags.objective)


def parse_behavior_log(text: str) -> tuple[str, int, str]:
    """`B-5 [count] [note…]` → (ref, count, note)."""
    tokens = (text or "").split()
    if not tokens:
        raise UsageError("Say which behavior, e.g. `B-5`.", usage=BEHAVIOR_LOG_USAGE)
    ref, rest = tokens[0], tokens[1:]
    parse_ref(ref, "behavior")  # fail early with the reference format
    count = 1
    if rest and re.match(r"^[+-]?\d+$", rest[0]):
        count = int(rest.pop(0))  # its range is storage's rule (log_behavior)
    note = " ".join(rest)
    return ref, count, note


# --- /kudos -------------------------------------------------------------------------------


def split_behavior_tag(text: str) -> tuple[str, str | None]:
    """Praise text without its behavior tag, and the tag (`B-5` or a name), if any."""
    text = (text or "").strip()
    m = _REF_TAG.search(text)
    if m:
        return (text[: m.start()] + text[m.end() :]).strip(), m.group(1)
    m = _NAME_TAG.search(text)
    if m:
        return text[: m.start()].strip(), m.group(1).strip()
    return text, None
