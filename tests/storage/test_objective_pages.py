"""`/okr list` pages: the total and the page are right whether the first page is short,
exactly full, followed by more or past the end (the only page that needs a count of its own), and "me" covers objectives of the caller's
departments, ones they own and ones with a key result they own; lists and the detail view read
the team's stale-days setting with their objectives. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import select

from storage.db import read_scope, session_scope
from storage.kr_insights import view_insights
from storage.models import Department, KeyResult, Objective, Team, utcnow
from storage.objectives import KeyResultInput, objective_view, objectives_page
from tests.support import factories
from tests.support.sql_count import counted_statements

TEAM = factories.TEAM
ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"


def page_of(engine, *, page=1, page_size=5, user=ALICE, **filters):
    with read_scope(engine) as session, counted_statements(engine) as statements:
        views, total, page = objectives_page(
            session, team_id=TEAM, user_id=user, page=page, page_size=page_size, **filters
        )
    return [v.objective.title for v in views], total, page, len(statements)


@pytest.mark.parametrize(
    ("objectives", "page", "expected"),
    [
        # (titles, total, page, statements): the page with its total, then its key results
        (3, 1, (["O1", "O2", "O3"], 3, 1, 2)),
        (0, 1, ([], 0, 1, 1)),
        (5, 1, (["O1", "O2", "O3", "O4", "O5"], 5, 1, 2)),
        (7, 1, (["O1", "O2", "O3", "O4", "O5"], 7, 1, 2)),
        (7, 2, (["O6", "O7"], 7, 2, 2)),
        (7, 9, (["O6", "O7"], 7, 2, 4)),  # past the end: counted, then the last page
    ],
)
def test_a_page_holds_the_right_objectives_and_total(engine, objectives, page, expected):
    dept = factories.department(engine, heads=(BOB,))
    for n in range(1, objectives + 1):
        factories.objective(engine, dept, owner=BOB, title=f"O{n}")
    assert page_of(engine, page=page, scope="all") == expected


def test_me_is_what_i_own_my_key_results_and_my_departments(engine):
    mine = factories.department(engine, "Support", heads=(ALICE,), channel="C0SUPPORT1")
    other = factories.department(engine, "Sales", heads=(BOB,), channel="C0SALES001")
    factories.objective(engine, mine, owner=BOB, title="In my department")
    factories.objective(engine, other, owner=ALICE, title="Owned by me")
    factories.objective(
        engine,
        other,
        owner=BOB,
        title="My key result",
        krs=[KeyResultInput(title="NPS", baseline=1, target=2, owner_id=ALICE)],
    )
    factories.objective(engine, other, owner=BOB, title="Not mine")
    titles, total, _, _ = page_of(engine, page_size=10)
    assert sorted(titles) == ["In my department", "My key result", "Owned by me"]
    assert total == 3
    # Someone in no department sees only what they own.
    assert page_of(engine, user=CAROL, page_size=10)[:2] == ([], 0)


@pytest.mark.parametrize("setting", [None, 3, 30])  # None: the workspace has no team row yet
def test_lists_and_the_detail_view_read_the_stale_days_setting_with_their_objectives(
    engine, setting
):
    """A key result five days without a check-in is stale under a 3-day setting, not under
    30 days nor the default (14). The list page and the detail view read the setting with
    their objectives: their insights run no statement of their own to learn it."""
    dept = factories.department(engine, heads=(BOB,))
    obj, _ = factories.objective(engine, dept, owner=BOB, title="O1")
    with session_scope(engine) as s:
        s.execute(delete(Team).where(Team.team_id == TEAM))
        if setting is not None:
            s.add(Team(team_id=TEAM, stale_days=setting))
    later = utcnow() + timedelta(days=5, hours=1)
    with read_scope(engine) as session, counted_statements(engine) as statements:
        views, _, _ = objectives_page(
            session, team_id=TEAM, user_id=BOB, page=1, page_size=5, scope="all"
        )
        listed = view_insights(session, team_id=TEAM, views=views, now=later)
        detail = objective_view(session, team_id=TEAM, ref=f"O-{obj.number}")
        shown = view_insights(session, team_id=TEAM, views=[detail], now=later)
    stale = setting == 3
    assert [i.stale for i in listed.values()] == [stale]
    assert [i.stale for i in shown.values()] == [stale]
    assert [i.days_since_checkin for i in shown.values()] == [5]
    assert not [s for s in statements if "FROM team" in s]  # only ever joined, never alone
    assert sum("stale_days" in s for s in statements) == 2  # the page's and the detail's


def test_a_page_reads_plain_rows_that_say_what_the_rows_hold(engine):
    """A list page and the detail view are only rendered: their objectives, departments and key
    results come as plain rows, each field what the model's row holds (a company objective has
    no department)."""
    dept = factories.department(engine, "Support", heads=(ALICE,))
    factories.objective(engine, dept, owner=ALICE, title="Department one")
    factories.objective(engine, None, owner=ALICE, title="Company one")
    with read_scope(engine) as session:
        views, total, _ = objectives_page(
            session, team_id=TEAM, user_id=ALICE, page=1, page_size=5, scope="all"
        )
    assert total == 2 and [v.objective.title for v in views] == ["Company one", "Department one"]
    assert views[0].department is None
    with session_scope(engine) as session:
        for view in views:
            obj = session.get(Objective, view.objective.id)
            assert not isinstance(view.objective, Objective)  # no entity to load or track
            assert view.objective._asdict() == obj.model_dump()
            stored = session.exec(
                select(KeyResult).where(KeyResult.objective_id == obj.id).order_by(KeyResult.number)
            ).all()
            assert [kr._asdict() for kr in view.key_results] == [kr.model_dump() for kr in stored]
            assert view.key_results and not isinstance(view.key_results[0], KeyResult)
        assert views[1].department._asdict() == session.get(Department, dept.id).model_dump()
        # The detail view reads the same plain rows.
        detail = objective_view(session, team_id=TEAM, ref=f"O-{views[1].objective.number}")
        assert detail.objective == views[1].objective
        assert detail.department == views[1].department
        assert detail.key_results == views[1].key_results
