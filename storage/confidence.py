"""Confidence against the data: mismatch flags and the net confidence score."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.progress import OFF_TRACK, ON_TRACK

OVERCONFIDENT, UNDERCONFIDENT = "overconfident", "underconfident"


def mismatch(confidence: int | None, data_status: str) -> str | None:
    """`overconfident`: confidence 7–10 while the data says off track; `underconfident`:
    confidence 1–3 while the data says on track; otherwise None."""
    if confidence is None:
        return None
    if confidence >= 7 and data_status == OFF_TRACK:
        return OVERCONFIDENT
    if confidence <= 3 and data_status == ON_TRACK:
        return UNDERCONFIDENT
    return None


def net_confidence(confidences: Iterable[int | None]) -> int | None:
    """% of key results at 7–10 minus % at 1–3 (all key results count, with or without a
    confidence), rounded; None when there are no key results."""
    total = high = low = 0
    for c in confidences:
        total += 1
        if c is None:
            continue
        if c >= 7:
            high += 1
        elif c <= 3:
            low += 1
    if not total:
        return None
    return round(100 * (high - low) / total)


@dataclass(frozen=True)
class NetConfidence:
    score: int | None  # now
    previous: int | None  # a week ago, same key results, confidence as it stood then

    @property
    def change(self) -> int | None:
        if self.score is None or self.previous is None:
            return None
        return self.score - self.previous


def net_confidence_change(now: list[int | None], week_ago: list[int | None]) -> NetConfidence:
    """Both lists cover the same key results; a week ago a KR with no check-in yet counts as
    having no confidence."""
    previous = net_confidence(week_ago) if any(c is not None for c in week_ago) else None
    return NetConfidence(score=net_confidence(now), previous=previous)
