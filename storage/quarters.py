"""Quarters like `2026-Q4`: parsing, bounds and elapsed share."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from storage.errors import DomainError

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


def parse_quarter(text: str) -> str:
    m = _QUARTER.match((text or "").strip())
    if not m:
        raise DomainError(f"`{text}` is not a quarter; write it like `2026-Q4`.")
    return f"{m.group(1)}-Q{m.group(2)}"


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


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


def elapsed_share(quarter: str, now: datetime | date) -> float:
    """How much of the quarter has passed, 0..1."""
    start, end = quarter_bounds(quarter)
    today = now.date() if isinstance(now, datetime) else now
    total = (end - start).days + 1
    done = (today - start).days + 1
    return min(1.0, max(0.0, done / total))
