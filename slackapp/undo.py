"""What the Undo of a check-in, a behavior log or kudos does the same way in Slack: the button's
value names the row, a refusal is told without changing anything, and a done undo is confirmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from slackapp.replies import explain, reply
from storage.errors import DomainError

Undone = TypeVar("Undone")


def undo_from_button(
    body, context, respond, *, undo: Callable[..., Undone], id_keyword: str
) -> Undone | None:
    """Run the storage `undo` on the id the pressed Undo button carries (passed as `id_keyword`);
    None when it was refused, the reason already told to the user."""
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    value = body["actions"][0].get("value") or ""
    if not value.isdigit():
        reply(respond, "That Undo button is out of date; nothing was changed.")
        return None
    try:
        with deps.session() as session:
            return undo(session, team_id=team_id, user_id=user_id, **{id_keyword: int(value)})
    except DomainError as exc:
        reply(respond, f":warning: {explain(exc)} Nothing was changed.")
        return None


def confirm_undone(context, client, respond, text: str) -> None:
    """Say what was undone, then refresh the user's Home, whose figures counted it."""
    reply(respond, text)
    from slackapp.listeners.app_home import refresh_home

    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    refresh_home(deps, client, team_id=team_id, user_id=user_id)
