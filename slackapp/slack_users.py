"""What Slack's users.info says about a person (admin flag, timezone, name), cached for an hour
in the database."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.models import SlackUser, utcnow

USER_CACHE_TTL = timedelta(hours=1)


def is_fresh(row: SlackUser | None) -> bool:
    """Whether a cached row may answer without asking Slack again."""
    return bool(row and row.fetched_at and utcnow() - row.fetched_at < USER_CACHE_TTL)


def fetch_user(
    session: Session, client: WebClient, *, team_id: str, user_id: str, force: bool = False
) -> SlackUser:
    """users.info facts (admin flag, timezone), cached for an hour."""
    row = session.get(SlackUser, (team_id, user_id))
    if not force and is_fresh(row):
        return row
    try:
        info = client.users_info(user=user_id)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") != "user_not_found":
            if row is not None and row.fetched_at:  # stale facts beat failing the request
                return row
            raise
        facts = {"deleted": True}
    else:
        profile = info.get("profile") or {}
        name = profile.get("display_name") or info.get("real_name") or info.get("name")
        facts = {
            "is_admin": bool(
                info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")
            ),
            "is_bot": bool(info.get("is_bot")),
            "deleted": bool(info.get("deleted")),
            "tz": info.get("tz"),
            "display_name": name[:200] if name else None,
            "email": profile.get("email"),
        }
    facts["fetched_at"] = utcnow()
    if row is None:
        try:
            # Two first requests by one person may race to cache them: the loser re-reads.
            with session.begin_nested():
                row = SlackUser(team_id=team_id, user_id=user_id, **facts)
                session.add(row)
            return row
        except IntegrityError:
            row = session.get(SlackUser, (team_id, user_id), populate_existing=True)
    for key, value in facts.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    return row
