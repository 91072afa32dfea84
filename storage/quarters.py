"""Quarters like `2026-Q4`: parsing, bounds, time windows and elapsed share."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from sqlmodel import Session

from storage.errors import DomainError
from storage.models import Team, utcnow
from storage.teams import team_zone

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


def parse_quarter(text: str) -> str:
    m = _QUARTER.match((text or "").strip())
    if not m:
        raise DomainError(f"`{text}` is not a quarter; write it like `2026-Q4`.")
    return f"{m.group(1)}-Q{m.group(2)}"


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@lru_cache(maxsize=256)  # asked once per key result by statuses and forecasts: a few quarters
def quarter_bounds(quarter: str) -> tuple[date, date]:
    """First and last day of the quarter."""
    q = parse_quarter(quarter)
    year, n = int(q[:4]), int(q[-1])
    start = date(year, 3 * (n - 1) + 1, 1)
    end = (date(year + 1, 1, 1) if n == 4 else date(year, 3 * n + 1, 1)) - timedelta(days=1)
    return start, end


def next_quarter(quarter: str) -> str:
    _, end = quarter_bounds(quarter)
    return quarter_of(end + timedelta(days=1))


def previous_quarter(quarter: str) -> str:
    start, _ = quarter_bounds(quarter)
    return quarter_of(start - timedelta(days=1))


def elapsed_share(quarter: str, now: datetime | date) -> float:
    """How much of the quarter has passed, 0..1."""
    start, end = quarter_bounds(quarter)
    today = now.date() if isinstance(now, datetime) else now
    total = (end - start).days + 1
    done = (today - start).days + 1
    return min(1.0, max(0.0, done / total))


def quarter_window(quarter: str, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """[start, end) of the quarter as instants: midnight of its first day to midnight after its
    last day, in `tz`."""
    first, last = quarter_bounds(quarter)
    return (
        datetime.combine(first, time.min, tzinfo=tz),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz),
    )


def current_quarter_range(
    session: Session, *, team_id: str, now: datetime | None = None, default_timezone: str = "UTC"
) -> tuple[str, datetime, datetime]:
    """The quarter `now` falls in, in the workspace's timezone, and its [start, end) window."""
    zone = team_zone(session.get(Team, team_id), default_timezone)
    quarter = quarter_of((now or utcnow()).astimezone(zone).date())
    start, end = quarter_window(quarter, zone)
    return quarter, start, end
