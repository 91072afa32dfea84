"""One way for every bench to summarise timings and to print its result: percentiles, time per
item, and the ratio to a baseline measured in the same run, printed first with its goal.

Absolute figures move with whatever else runs on the machine; a ratio to a baseline timed in
the same run, on the same data, mostly does not. So every bench leads with its ratios.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-quantile (0 < q < 1) of `values`; NaN when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def p50(values: list[float]) -> float:
    return percentile(values, 0.50)


def p95(values: list[float]) -> float:
    return percentile(values, 0.95)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Seconds spent inside the block, in the one-element list yielded (set on exit)."""
    elapsed = [0.0]
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - started


def per_item(seconds: float, items: int, unit: str = "µs") -> str:
    """`seconds` spread over `items`, as "12.3 µs" (or ms), for "… per key result"."""
    scale = {"µs": 1e6, "ms": 1e3}[unit]
    return f"{seconds * scale / max(1, items):.1f} {unit}"


def ratio_line(ratio: float, what: str, goal: float | None = None) -> str:
    """`ratio 1.7× (goal ≤ 2×): what`, or `(no goal)` for a ratio reported for information;
    `OVER GOAL` is appended when a goal is missed."""
    if goal is None:
        return f"ratio {ratio:.2f}× (no goal): {what}"
    verdict = "" if ratio <= goal else "  OVER GOAL"
    return f"ratio {ratio:.2f}× (goal ≤ {goal:g}×): {what}{verdict}"


def print_ratios(*lines: str) -> None:
    """The ratio lines a bench leads with, before its absolute figures."""
    for line in lines:
        print(line, flush=True)
