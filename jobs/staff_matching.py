"""Praise-sheet staff → Slack users: the `staff` column holds an email (users.lookupByEmail),
a handle / display name / real name with or without `@`, or a person's mention or user id
(users.list, read once per sync). An id counts only when it is a current member's: a word such
as `UNASSIGNED` looks like an id but names nobody."""

from __future__ import annotations

import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs.sheet_values import PraiseRow, Problem
from storage.praise import PraiseIn

# Slack user ids: U or W, then upper-case letters and digits (at least one digit in practice).
_ID = r"[UW](?=[A-Z]*\d)[A-Z0-9]{6,14}"
_USER_ID = re.compile(rf"^(?:<@({_ID})(?:\|[^<>]*)?>|@?({_ID}))$")
_NOT_IN_EMAIL = frozenset("<>@")
EMAIL_MAX = 254  # the longest address mail systems accept


def looks_like_email(text: str) -> bool:
    """`local@domain.tld`: one `@`, a dot inside the domain, no spaces or angle brackets, at
    most EMAIL_MAX characters.
    One pass over the text (a regex with two open-ended parts around the dot backtracks
    quadratically on a long cell full of dots)."""
    if len(text) > EMAIL_MAX:
        return False
    local, at, domain = text.partition("@")
    if not at or not local or len(domain) < 3:
        return False
    if any(c.isspace() or c in _NOT_IN_EMAIL for c in local):
        return False
    if any(c.isspace() or c in _NOT_IN_EMAIL for c in domain):
        return False
    return "." in domain[1:-1]


class StaffMatcher:
    """Praise `staff` column → Slack user id: email via users.lookupByEmail, handle via users.list."""

    def __init__(self, client: WebClient | None) -> None:
        self.client = client
        self._by_handle: dict[str, str] | None = None
        self._member_ids: set[str] = set()

    def _handles(self) -> dict[str, str]:
        if self._by_handle is None:
            found: dict[str, str] = {}
            ids: set[str] = set()
            cursor = None
            while True:
                resp = self.client.users_list(limit=200, cursor=cursor)
                for m in resp.get("members", []):
                    if m.get("deleted") or m.get("is_bot"):
                        continue
                    ids.add(m["id"])
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
            self._by_handle, self._member_ids = found, ids
        return self._by_handle

    def _member(self, user_id: str) -> str | None:
        self._handles()
        return user_id if user_id in self._member_ids else None

    def match(self, staff: str) -> str | None:
        """User id, or None when no such user. Raises SlackApiError on transport trouble."""
        text = staff.strip()
        if self.client is None:
            raise RuntimeError("no Slack client")
        if m := _USER_ID.match(text):
            return self._member(m.group(1) or m.group(2))
        if looks_like_email(text):
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
