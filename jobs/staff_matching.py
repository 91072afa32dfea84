"""Praise-sheet staff → Slack users: the `staff` column may hold a user id or mention, an email
(users.lookupByEmail) or a handle / display name / real name (users.list, read once per sync)."""

from __future__ import annotations

import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs.sheet_values import PraiseRow, Problem
from storage.praise import PraiseIn

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_USER_ID = re.compile(r"^<?@?([UW][A-Z0-9]{6,})(?:\|[^>]*)?>?$")


class StaffMatcher:
    """Praise `staff` column → Slack user id: email via users.lookupByEmail, handle via users.list."""

    def __init__(self, client: WebClient | None) -> None:
        self.client = client
        self._by_handle: dict[str, str] | None = None

    def _handles(self) -> dict[str, str]:
        if self._by_handle is None:
            found: dict[str, str] = {}
            cursor = None
            while True:
                resp = self.client.users_list(limit=200, cursor=cursor)
                for m in resp.get("members", []):
                    if m.get("deleted") or m.get("is_bot"):
                        continue
                    profile = m.get("profile") or {}
                    for handle in (
                        m.get("name"),
                        profile.get("display_name"),
                        profile.get("real_name"),
                    ):
                        if handle:
                            found.setdefault(handle.casefold(), m["id"])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            self._by_handle = found
        return self._by_handle

    def match(self, staff: str) -> str | None:
        """User id, or None when no such user. Raises SlackApiError on transport trouble."""
        text = staff.strip()
        if m := _USER_ID.match(text):
            return m.group(1)
        if self.client is None:
            raise RuntimeError("no Slack client")
        if _EMAIL.match(text):
            try:
                return self.client.users_lookupByEmail(email=text)["user"]["id"]
            except SlackApiError as exc:
                if exc.response.get("error") == "users_not_found":
                    return None
                raise
        return self._handles().get(text.lstrip("@").casefold())


def match_praise(
    rows: list[PraiseRow], matcher: StaffMatcher
) -> tuple[list[PraiseIn], list[Problem], list[str]]:
    """Praise rows with their staff matched: (drafts to store, lookup problems, unmatched
    `cell: staff` lines). A row whose lookup failed is left for the next sync."""
    out: list[PraiseIn] = []
    problems: list[Problem] = []
    unmatched: list[str] = []
    for row in rows:
        try:
            user_id = matcher.match(row.staff)
        except (SlackApiError, RuntimeError) as exc:
            # Not knowing is not "unmatched": leave the row for the next sync.
            problems.append(
                Problem(
                    row.cell,
                    f"could not look up `{row.staff}` in Slack ({exc}); will retry next sync",
                )
            )
            continue
        if user_id is None:
            unmatched.append(f"{row.cell}: `{row.staff}`")
        out.append(
            PraiseIn(
                row_key=row.row_key,
                praise_date=row.praise_date,
                customer=row.customer,
                comment=row.comment,
                staff=row.staff,
                staff_user_id=user_id,
            )
        )
    return out, problems, unmatched
