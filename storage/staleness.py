"""Stale key results: no check-in for the team's `stale_days` (default 14)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.errors import FieldErrors

DEFAULT_STALE_DAYS = 14
STALE_DAYS_MIN, STALE_DAYS_MAX = 1, 90


def days_since_checkin(kr, now: datetime) -> int:
    """Whole days since the last check-in, or since creation when there is none."""
    since = kr.last_checkin_at or kr.created_at
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return max(0, (now - since).days)


def is_stale(kr, now: datetime, stale_days: int | None = DEFAULT_STALE_DAYS) -> bool:
    return days_since_checkin(kr, now) >= (stale_days or DEFAULT_STALE_DAYS)


def parse_stale_days(text: str | int | None) -> int:
    """A whole number of days, 1–90; errors carry the field name `stale_days`."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        return DEFAULT_STALE_DAYS
    if not raw.isdigit():
        raise FieldErrors({"stale_days": f"`{raw}` is not a whole number of days."})
    days = int(raw)
    if not STALE_DAYS_MIN <= days <= STALE_DAYS_MAX:
        raise FieldErrors(
            {
                "stale_days": f"{days} days is out of range; use {STALE_DAYS_MIN} to {STALE_DAYS_MAX}."
            }
        )
    return days
