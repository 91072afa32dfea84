"""What the Undo of a check-in, a behavior log or kudos does the same way in Slack: the button's
value names the row, a refusal is told without changing anything, and a done undo is confirmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from slackapp.home_refresher import refresh_home
from slackapp.replies import explain, reply
from slackapp.roles import Caller
from storage.errors import DomainError

Undone = TypeVar("Undone")


def undo_from_button(
    body, caller: Caller, respond, *, undo: Callable[..., Undone], id_keyword: str
) -> Undone | None:
    """Run the storage `undo` on the id the pressed Undo button carries (passed as `id_keyword`);
    None when it was refused, the reason already told to the user."""
    value = body["actions"][0].get("value") or ""
    if not value.isdigit():
        reply(respond, "That Undo button is out of date; nothing was changed.")
        return None
    try:
        with caller.deps.session() as session:
            return undo(
                session,
                team_id=caller.team_id,
                user_id=caller.user_id,
                **{id_keyword: int(value)},
            )
    except DomainError as exc:
        reply(respond, f":warning: {explain(exc)} Nothing was changed.")
        return None


def confirm_undone(caller: Caller, client, respond, text: str) -> None:
    """Say what was undone, then refresh the user's Home, whose figures counted it."""
    reply(respond, text)
    refresh_home(caller.deps, client, team_id=caller.team_id, user_id=caller.user_id)
