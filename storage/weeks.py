"""ISO weeks as period names (`2026-W48`): the period of weekly check-ins, digests, reminders."""

from __future__ import annotations

from datetime import date, timedelta


def iso_week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def next_iso_week(period: str) -> str:
    year, week = period.split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return iso_week(monday + timedelta(days=7))
