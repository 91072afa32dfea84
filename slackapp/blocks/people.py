"""Naming people in a message: the first reference mentions them (`<@U…>`, one notification),
every later one uses their name, so a long digest pings nobody twice."""

from __future__ import annotations

from slackapp.blocks.common import escape


class People:
    """One per message being built: remembers who was already mentioned in it."""

    __slots__ = ("_names", "_mentioned")

    def __init__(self, names: dict[str, str] | None = None):
        self._names = names or {}
        self._mentioned: set[str] = set()

    def __call__(self, user_id: str) -> str:
        if user_id not in self._mentioned:
            self._mentioned.add(user_id)
            return f"<@{user_id}>"
        name = self._names.get(user_id)
        # Unknown to the user cache: the id as plain text still says who, without a ping.
        return f"@{escape(name)}" if name else f"@{user_id}"

    def copy(self) -> People:
        """The same names with the same people already mentioned (a message's next section)."""
        other = People(self._names)
        other._mentioned = set(self._mentioned)
        return other
