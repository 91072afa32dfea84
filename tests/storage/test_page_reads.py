"""What a list page and the detail view read, and that reading less changes nothing shown: a
page none of whose objectives is aligned reads no alignment links, and the forecasts of key
results set by check-ins come with the key results (no statement of their own) when the page's
objectives share a quarter. Each is checked against the full reads: the quarter's tree and
`forecasts`. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from storage.alignment import align
from storage.db import read_scope, session_scope
from storage.forecast import checkin_sums, forecasts
from storage.kr_insights import view_insights
from storage.models import CheckIn, KeyResult, Objective
from storage.objectives import KeyResultInput, objective_view, objectives_page
from storage.quarters import quarter_bounds, quarter_of
from storage.rollup import quarter_tree
from tests.support import factories
from tests.support.sql_count import counted_statements

TEAM = factories.TEAM
BOB = "U0BOB0001"
QUARTER = quarter_of(date.today())
LAST_QUARTER = quarter_of(quarter_bounds(QUARTER)[0] - timedelta(days=1))


def add_checkins(engine, kr_id: int, quarter: str, values: list[tuple[int, float | None]]):
    """Check-ins on the key result, `day` days into the quarter, with `value` (None: a
    confidence-only check-in, which no forecast counts); the last value is its current one."""
    start = datetime.combine(quarter_bounds(quarter)[0], datetime.min.time(), tzinfo=UTC)
    with session_scope(engine) as s:
        kr = s.get(KeyResult, kr_id)
        kr.current_value = next(v for _, v in reversed(values) if v is not None)
        for day, value in values:
            s.add(
                CheckIn(
                    team_id=TEAM,
                    key_result_id=kr_id,
                    author_id=BOB,
                    value=value,
                    confidence=6,
                    created_at=start + timedelta(days=day, hours=9),
                )
            )


def world(engine, *, quarters=(QUARTER,)):
    """Objectives of a department with key results whose check-ins give a forecast, too few
    values for one, none at all, and one KPI-bound key result."""
    dept = factories.department(engine, heads=(BOB,))
    made = []
    for i, quarter in enumerate(quarters):
        obj, krs = factories.objective(
            engine,
            dept,
            owner=BOB,
            title=f"Objective {i}",
            quarter=quarter,
            krs=[
                KeyResultInput(title="Rising", baseline=30, target=50),
                KeyResultInput(title="One value", baseline=0, target=10),
                KeyResultInput(title="Never", baseline=0, target=10),
                KeyResultInput(title="Bound", baseline=40, target=60, kpi_name="nps"),
            ],
        )
        # The first is outside the quarter: counted by neither read.
        add_checkins(
            engine, krs[0].id, quarter, [(-5, 99), (3, 31), (20, None), (30, 36), (40, 38.5)]
        )
        add_checkins(engine, krs[1].id, quarter, [(10, 4)])
        made.append((obj, krs))
    return dept, made


def full_forecasts(engine) -> dict:
    """Forecasts as the standalone read finds them, per quarter of each key result."""
    out = {}
    with Session(engine) as s:
        rows = s.exec(select(KeyResult, Objective.quarter).join(Objective)).all()
        by_quarter: dict[str, list] = {}
        for kr, quarter in rows:
            by_quarter.setdefault(quarter, []).append(kr)
        for quarter, krs in by_quarter.items():
            out.update(forecasts(s, team_id=TEAM, quarter=quarter, key_results=krs))
    return out


def read_page_and_detail(engine, ref: str):
    with read_scope(engine) as session, counted_statements(engine) as statements:
        views, _, _ = objectives_page(
            session, team_id=TEAM, user_id=BOB, page=1, page_size=10, scope="all"
        )
        listed = view_insights(session, team_id=TEAM, views=views, now=datetime.now(UTC))
        detail = objective_view(session, team_id=TEAM, ref=ref)
        shown = view_insights(session, team_id=TEAM, views=[detail], now=datetime.now(UTC))
    return views, listed, detail, shown, statements


def standalone(statements: list[str], table: str) -> list[str]:
    """Statements that read `table` first (not as a join or subquery of another read)."""
    return [s for s in statements if first_table(" ".join(s.split())) == table]


def first_table(statement: str) -> str | None:
    """The table after the statement's own FROM (outside any parentheses)."""
    depth = 0
    for i, ch in enumerate(statement):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and statement.startswith(" FROM ", i):
            return statement[i + 6 :].split()[0]
    return None


def test_forecasts_read_with_the_key_results_are_those_of_the_full_read(engine):
    _, made = world(engine)
    expected = full_forecasts(engine)
    rising = made[0][1][0]
    assert set(expected) == {rising.id}  # the others have one value, none, or a KPI with none
    views, listed, detail, shown, statements = read_page_and_detail(
        engine, f"O-{made[0][0].number}"
    )
    assert {i: v.forecast for i, v in listed.items() if v.forecast} == expected
    assert {i: v.forecast for i, v in shown.items() if v.forecast} == expected
    assert views[0].checkin_forecasts == detail.checkin_forecasts == expected
    # The page's and the detail's key results carry the check-in sums; no statement reads the
    # check-ins alone, nor the alignment links (nothing is aligned).
    assert sum(" sums" in s for s in standalone(statements, "keyresult")) == 2
    assert not standalone(statements, "checkin")
    assert not standalone(statements, "objectivelink")


def test_a_page_of_two_quarters_reads_its_forecasts_on_their_own_and_finds_the_same(engine):
    _, made = world(engine, quarters=(QUARTER, LAST_QUARTER))
    expected = full_forecasts(engine)
    assert len(expected) == 2  # each quarter's rising key result, from its own quarter's values
    views, listed, *_ = read_page_and_detail(engine, f"O-{made[0][0].number}")
    assert len(views) == 2 and all(v.checkin_forecasts is None for v in views)
    assert {i: v.forecast for i, v in listed.items() if v.forecast} == expected


def test_an_aligned_objective_on_the_page_has_its_links_read_and_rolls_up(engine):
    _, made = world(engine)
    (child, _), company = made[0], factories.objective(engine, None, owner=BOB, title="Company")
    with session_scope(engine) as s:
        align(
            s,
            team_id=TEAM,
            actor_id="U0ADMIN01",
            is_admin=True,
            child=s.get(Objective, child.id),
            parent=s.get(Objective, company[0].id),
        )
    with Session(engine) as s:
        tree = quarter_tree(s, team_id=TEAM, quarter=QUARTER)
    views, _, detail, _, statements = read_page_and_detail(engine, f"O-{company[0].number}")
    assert len(standalone(statements, "objectivelink")) == 2  # the page's and the detail's
    by_id = {v.objective.id: v for v in views}
    for oid in (child.id, company[0].id):
        assert by_id[oid].progress == tree.progress(oid)
    assert detail.progress == tree.progress(company[0].id) != detail.own_progress
    assert [n.id for n, _ in detail.linked("children")] == [child.id]
    assert [n.id for n, _ in by_id[child.id].linked("parents")] == [company[0].id]


def test_an_unaligned_page_shows_the_progress_and_status_the_quarter_tree_gives(engine):
    _, made = world(engine)
    with Session(engine) as s:
        tree = quarter_tree(s, team_id=TEAM, quarter=QUARTER)
    views, _, detail, _, _ = read_page_and_detail(engine, f"O-{made[0][0].number}")
    now = datetime.now(UTC)
    for view in [*views, detail]:
        assert view.tree is not None  # the status is shown from it
        assert view.progress == tree.progress(view.objective.id) == view.own_progress
        assert view.tree.status(view.objective.id, now) == tree.status(view.objective.id, now)
        assert view.linked("parents") == view.linked("children") == []


def test_the_check_in_sums_refuse_a_choice_they_do_not_know():
    """A misspelt choice would otherwise read the sums of every key result of the team."""
    with pytest.raises(ValueError, match="by='id' is not ids, objectives or team"):
        checkin_sums(by="id")
