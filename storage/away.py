"""Away periods: `away until <date>` pauses one's reminders and keeps one's key
results out of missed-check-in escalations until that date (inclusive)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, col, select

from storage import audit
from storage.errors import DomainError, FieldErrors
from storage.models import UserAway

MAX_AWAY_DAYS = 365  # one year ahead at most: a longer absence is a departure, not an away
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_until(text: str, *, today: date) -> date:
    """A real date in YYYY-MM-DD, from today to a year ahead; errors name the field `until`."""
    raw = (text or "").strip()
    m = _ISO.match(raw)
    if not m:
        raise FieldErrors({"until": f"`{raw}` is not a date; write it like 2026-12-24."})
    try:
        until = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise FieldErrors({"until": f"`{raw}` is not a real date."}) from None
    if until < today:
        raise FieldErrors({"until": f"{until.isoformat()} is in the past (today is {today})."})
    latest = date.fromordinal(today.toordinal() + MAX_AWAY_DAYS)
    if until > latest:
        raise FieldErrors(
            {
                "until": f"{until.isoformat()} is more than a year ahead; the latest date "
                f"accepted is {latest.isoformat()}."
            }
        )
    return until


def set_away(session: Session, *, team_id: str, user_id: str, until: date) -> UserAway:
    row = session.get(UserAway, (team_id, user_id))
    before = row.model_dump() if row else None
    if row is None:
        row = UserAway(team_id=team_id, user_id=user_id, until=until)
    else:
        row.until = until
    session.add(row)
    audit.record(
        session,
        team_id=team_id,
        actor_id=user_id,
        action="away.set",
        entity="user_away",
        before=before,
        after=row,
    )
    session.flush()
    return row


def end_away(session: Session, *, team_id: str, user_id: str, today: date) -> date:
    """`back`: ends the away period; returns the date it would have ended."""
    row = session.get(UserAway, (team_id, user_id))
    if row is None or row.until < today:
        raise DomainError("You are not marked away.", field="away")
    until = row.until
    audit.removed(
        session, row, team_id=team_id, actor_id=user_id, action="away.end", entity="user_away"
    )
    return until


def away_until(
    session: Session, *, team_id: str, today: date, user_ids: Iterable[str] | None = None
) -> dict[str, date]:
    """user id → last away day, for people away today (one query)."""
    q = select(UserAway.user_id, UserAway.until).where(
        UserAway.team_id == team_id, UserAway.until >= today
    )
    if user_ids is not None:
        ids = list(user_ids)
        if not ids:
            return {}
        q = q.where(col(UserAway.user_id).in_(ids))
    return {user_id: until for user_id, until in session.execute(q)}
