"""Running a command body so bad input always gets a clear ephemeral answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import as_dicts, error_reply, section
from storage.errors import DomainError, FieldErrors

log = logging.getLogger(__name__)


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
        respond(
            text=exc.message,
            blocks=error_reply(input_text, exc.message, exc.usage or usage),
            response_type="ephemeral",
            replace_original=False,
        )
