"""Progress and status rules of spec §2, for increase and decrease key results."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.errors import DomainError
from storage.numbers import parse_number
from storage.progress import AT_RISK, OFF_TRACK, ON_TRACK, direction, progress, status
from storage.quarters import elapsed_share, next_quarter, parse_quarter, quarter_bounds


def test_increase_and_decrease_progress():
    assert direction(30, 50) == "increase" and direction(8, 5) == "decrease"
    assert progress(30, 50, 40) == 0.5
    assert progress(8, 5, 6.5) == 0.5  # churn 8% → 5%, now 6.5%: halfway
    assert progress(8, 5, 9) == 0.0 and progress(8, 5, 4) == 1.0  # clamped both ways
    assert progress(30, 50, 10) == 0.0 and progress(30, 50, 70) == 1.0
    assert progress(30, 50, None) == 0.0


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_progress_always_between_zero_and_one(b, t, c):
    assert 0.0 <= progress(b, t, c) <= 1.0


def test_status_against_elapsed_share_and_confidence():
    mid = date(2026, 11, 15)  # ~50% of 2026-Q4
    assert abs(elapsed_share("2026-Q4", mid) - 0.5) < 0.02
    kw = dict(baseline=0, target=100, quarter="2026-Q4", now=mid)
    assert status(current=50, confidence=None, **kw) == ON_TRACK
    assert status(current=25, confidence=None, **kw) == AT_RISK
    assert status(current=5, confidence=None, **kw) == OFF_TRACK
    assert status(current=50, confidence=5, **kw) == AT_RISK  # confidence only makes it worse
    assert status(current=50, confidence=2, **kw) == OFF_TRACK
    assert status(current=5, confidence=10, **kw) == OFF_TRACK
    dec = dict(baseline=8, target=5, quarter="2026-Q4", now=mid)
    assert status(current=6.5, confidence=8, **dec) == ON_TRACK
    assert status(current=8.5, confidence=8, **dec) == OFF_TRACK


def test_quarters():
    assert parse_quarter("2026q4") == "2026-Q4"
    assert quarter_bounds("2026-Q1") == (date(2026, 1, 1), date(2026, 3, 31))
    assert quarter_bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert next_quarter("2026-Q4") == "2027-Q1"
    with pytest.raises(DomainError):
        parse_quarter("Q5-2026")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("45", 45),
        ("-3", -3),
        ("45.5", 45.5),
        ("1,234.5", 1234.5),
        ("12%", 12),
        ("12 %", 12),
        ("+7", 7),
        (".5", 0.5),
        ("1,000,000", 1_000_000),
        ("1 234", 1234),
        ("−2.5", -2.5),
    ],
)
def test_checkin_values_accepted(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "12..5",
        "1e999",
        "",
        "  ",
        "1e3",
        "1,23",
        "12%%",
        "--3",
        "NaN",
        "inf",
        "4 5",
        "1,2345.6",
        "$",
    ],
)
def test_checkin_values_refused_never_zero(text):
    with pytest.raises(DomainError):
        parse_number(text)


def test_typed_and_synced_values_share_one_limit():
    from jobs.sheet_values import ValueProblem, parse_value

    assert parse_number("1,000,000,000,000,000") == parse_value("1,000,000,000,000,000") == 1e15
    with pytest.raises(DomainError, match="too large"):
        parse_number("1,000,000,000,000,001")
    with pytest.raises(ValueProblem, match="out of range"):
        parse_value("1,000,000,000,000,001")


def test_rolled_up_progress_matches_its_definition_on_random_graphs():
    """QuarterTree.progress (iterative, memoised) against the recursive definition of spec §8 on
    random acyclic graphs with shared children (one objective contributing to several)."""
    import random

    from storage.rollup import Node, QuarterTree

    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(1, 40)
        tree = QuarterTree(team_id="T", quarter="2026-Q4")
        for oid in range(n):
            count = rng.randint(0, 3)
            own = sum(rng.random() for _ in range(count))
            tree.nodes[oid] = Node(oid, oid, "", None, "U", "active", own, count)
        for child in range(1, n):  # parents have smaller ids: acyclic
            for parent in rng.sample(range(child), min(child, rng.randint(0, 2))):
                weight = rng.choice([0.5, 1.0, 2.0, 3.0])
                tree.nodes[child].parents.append((parent, weight))
                tree.nodes[parent].children.append((child, weight))

        def defined(oid, tree=tree):
            node = tree.nodes[oid]
            total = node.own_sum + sum(w * defined(c, tree) for c, w in node.children)
            weight = node.own_count + sum(w for _, w in node.children)
            return min(1.0, max(0.0, total / weight)) if weight else 0.0

        order = list(range(n))
        rng.shuffle(order)  # asked in any order, memo shared between the calls
        for oid in order:
            assert tree.progress(oid) == pytest.approx(defined(oid))
