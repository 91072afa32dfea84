"""Running a command body so bad input always gets a clear ephemeral answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, error_reply, section
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied

log = logging.getLogger(__name__)


class UsageError(DomainError):
    """Bad command text, answered with the usage of the command it was meant for."""

    def __init__(self, message: str, *, usage: str | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.usage = usage


# Where to look when a named thing is not found, by the domain field that named it.
NOT_FOUND_HINTS = {
    "department": "Try `/okr dept list` for the names.",
    "behavior": "Try `/behavior list`.",
}


def explain(exc: DomainError) -> str:
    """The error's message, plus where to look when something named was not found, or whom
    to ask when a permission is missing."""
    hint = NOT_FOUND_HINTS.get(exc.field or "") if isinstance(exc, NotFound) else None
    if isinstance(exc, PermissionDenied) and exc.owner_id:
        hint = f"The owner is <@{exc.owner_id}>."
    return f"{exc.message} {hint}" if hint else exc.message


def reply(respond, text: str, blocks: list | None = None) -> None:
    respond(
        text=text,
        blocks=blocks or as_dicts([section(text)]),
        response_type="ephemeral",
        replace_original=False,
    )


def guarded(respond, input_text: str, usage: str, body: Callable[[], None]) -> None:
    """Run body; a DomainError becomes an ephemeral reply quoting the input (nothing written)."""
    try:
        body()
    except FieldErrors as exc:
        respond(
            text=exc.message,
            blocks=error_reply(input_text, exc.message, usage),
            response_type="ephemeral",
            replace_original=False,
        )
    except SlackApiError as exc:
        # The database work ran in a session that rolled back: nothing was saved.
        error = exc.response.get("error") if exc.response is not None else "no answer"
        log.warning("Slack API call failed while handling %r: %s", input_text, error)
        message = f"Slack did not answer as expected (`{error}`); nothing was saved — try again."
        respond(
            text=message,
            blocks=error_reply(input_text, message),
            response_type="ephemeral",
            replace_original=False,
        )
    except DomainError as exc:
        message = explain(exc)
        respond(
            text=message,
            blocks=error_reply(input_text, message, getattr(exc, "usage", None) or usage),
            response_type="ephemeral",
            replace_original=False,
        )
