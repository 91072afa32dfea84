"""Key-result progress and status rules (spec §2)."""

from __future__ import annotations

from datetime import date, datetime

from storage.quarters import elapsed_share

ON_TRACK, AT_RISK, OFF_TRACK = "on track", "at risk", "off track"


def direction(baseline: float, target: float) -> str:
    return "increase" if target > baseline else "decrease"


def progress(baseline: float, target: float, current: float | None) -> float:
    """(current − baseline) / (target − baseline), clamped to 0..1; works for both directions."""
    if current is None or target == baseline:
        return 0.0
    share = (current - baseline) / (target - baseline)
    return min(1.0, max(0.0, share))


def confidence_status(confidence: int) -> str:
    if confidence <= 3:
        return OFF_TRACK
    if confidence <= 6:
        return AT_RISK
    return ON_TRACK


def status(
    *,
    baseline: float,
    target: float,
    current: float | None,
    confidence: int | None,
    quarter: str,
    now: datetime | date,
) -> str:
    """Progress against the elapsed share of the quarter, tempered by the latest confidence.

    Progress at least 70% of where the calendar says it should be is on track, 40–70% at risk,
    below that off track. A confidence reading can only make the status worse, never better:
    owners who feel it slipping see that before the numbers do.
    """
    done = progress(baseline, target, current)
    expected = elapsed_share(quarter, now)
    if done >= 1.0 or expected <= 0.0:
        by_progress = ON_TRACK
    else:
        ratio = done / expected
        by_progress = ON_TRACK if ratio >= 0.7 else AT_RISK if ratio >= 0.4 else OFF_TRACK
    if confidence is None:
        return by_progress
    order = [ON_TRACK, AT_RISK, OFF_TRACK]
    return order[max(order.index(by_progress), order.index(confidence_status(confidence)))]
