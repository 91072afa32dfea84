"""Wall-clock schedules ("Friday 16:00 in America/New_York") turned into UTC instants.

Pure functions of `now`, so DST behaviour is tested with a controllable clock. A weekly slot is
due from its local time until `grace` later; its period is the ISO week of its local date, so
each slot has exactly one period however often the tick asks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.teams import zone_info
from storage.weeks import iso_week

WEEKLY_GRACE = timedelta(days=1)  # a scheduler down at the slot catches up within a day


# A timezone name as a zone, with fallbacks (one definition, in storage.teams).
zone = zone_info


def parse_hhmm(text: str | None, default: str = "09:00") -> time:
    try:
        hh, mm = (text or default).split(":")
        return time(int(hh), int(mm))
    except ValueError:
        hh, mm = default.split(":")
        return time(int(hh), int(mm))


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` local time, in UTC. A time skipped by spring-forward moves forward by the
    gap (02:30 → 03:30 EDT), as wall clocks do; a repeated autumn time is its first occurrence
    (PEP 495 fold=0 gives both)."""
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


def last_weekly_slot(now: datetime, tz: ZoneInfo, weekday: int, at: time) -> datetime:
    """The latest `weekday` at `at` local time that is not after `now` (in UTC)."""
    today = now.astimezone(tz).date()
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    slot = local_instant(day, at, tz)
    if slot > now:
        slot = local_instant(day - timedelta(days=7), at, tz)
    return slot


def due_weekly(
    now: datetime, tz: ZoneInfo, weekday: int, at: time, grace: timedelta = WEEKLY_GRACE
) -> str | None:
    """The period (ISO week) whose slot is due at `now`, or None outside the grace window."""
    slot = last_weekly_slot(now, tz, weekday, at)
    if now - slot > grace:
        return None
    return iso_week(slot.astimezone(tz).date())
