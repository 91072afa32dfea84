"""Key-result progress and status rules."""

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


def band(share: float) -> str:
    """≥ 0.7 on track, 0.4–0.7 at risk, below off track."""
    return ON_TRACK if share >= 0.7 else AT_RISK if share >= 0.4 else OFF_TRACK


def status_for_progress(done: float, quarter: str, now: datetime | date) -> str:
    """Progress against where the calendar says it should be, banded (also the status of an
    objective's rolled-up progress)."""
    expected = elapsed_share(quarter, now)
    return ON_TRACK if done >= 1.0 or expected <= 0.0 else band(done / expected)


def status(
    *,
    baseline: float,
    target: float,
    current: float | None,
    confidence: int | None,
    quarter: str,
    now: datetime | date,
    forecast_progress: float | None = None,
) -> str:
    """Progress against the elapsed share of the quarter, tempered by the latest confidence.

    Progress at least 70% of where the calendar says it should be is on track, 40–70% at risk,
    below that off track. With a forecast its progress at quarter end decides instead:
    ≥ 70% on track, 40–70% at risk, < 40% off track. A confidence reading can only make the
    status worse, never better: owners who feel it slipping see that before the numbers do.
    """
    if forecast_progress is not None:
        by_progress = band(forecast_progress)
    else:
        by_progress = status_for_progress(progress(baseline, target, current), quarter, now)
    return worsen(by_progress, confidence)


_ORDER = {ON_TRACK: 0, AT_RISK: 1, OFF_TRACK: 2}


def worsen(by_data: str, confidence: int | None) -> str:
    """The data's status, made worse (never better) by a low confidence."""
    if confidence is None:
        return by_data
    by_confidence = confidence_status(confidence)
    return by_confidence if _ORDER[by_confidence] > _ORDER[by_data] else by_data
