"""The invariant behind rolled-up progress: objectivekrtotals equals its key results summed."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlmodel import Session

from storage.models import KeyResult, ObjectiveKrTotals
from storage.progress import progress


def kr_totals_mismatches(engine) -> dict[int, tuple]:
    """objective id → (stored, computed from its key results) wherever they differ."""
    if "objectivekrtotals" not in inspect(engine).get_table_names():
        return {}
    with Session(engine) as s:
        computed: dict[int, tuple[float, int]] = {}
        for oid, baseline, target, value in s.execute(
            select(KeyResult.objective_id, KeyResult.baseline, KeyResult.target,
                   KeyResult.current_value)
        ):  # fmt: skip
            share, count = computed.get(oid, (0.0, 0))
            computed[oid] = (share + progress(baseline, target, value), count + 1)
        stored = {
            row.objective_id: (row.share_sum, row.kr_count)
            for row in s.exec(select(ObjectiveKrTotals)).scalars()
        }
    wrong = {}
    for oid in computed.keys() | stored.keys():
        want, got = computed.get(oid), stored.get(oid)
        if want is None or got is None or got[1] != want[1] or got[0] != pytest.approx(want[0]):
            wrong[oid] = (got, want)
    return wrong
