"""A team's first rows created by two requests at once (SQLite and PostgreSQL): the team row and
each reference counter are created once, both requests succeed, numbers are not repeated."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager, suppress

from sqlalchemy import event, func, select

from storage.db import session_scope
from storage.models import RefCounter, Team
from storage.refs import next_number
from storage.teams import get_or_create_team

NEW_TEAM = "T0NEWTEAM1"


@contextmanager
def both_read_before_either_writes(engine, table: str):
    """Each of two racing threads, after its first statement on `table`, waits (briefly) for
    the other's: both see the table as it was before either wrote, as in a real race."""
    touches = re.compile(rf'\b(from|into|update)\s+"?{table}"?\b', re.IGNORECASE)
    both_there = threading.Barrier(2, timeout=2)
    first_done = threading.local()

    def after_statement(_conn, _cursor, statement, _params, _context, _executemany):
        if touches.search(statement) and not getattr(first_done, "value", False):
            first_done.value = True
            # A database that makes the second writer wait for the first breaks the barrier
            # (timeout): the race is then settled by the database itself.
            with suppress(threading.BrokenBarrierError):
                both_there.wait()

    event.listen(engine, "after_cursor_execute", after_statement)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", after_statement)


def race(fn):
    """Run fn in two threads at once; their results, or the exceptions they raised."""
    outcomes: list = []

    def run():
        try:
            outcomes.append(fn())
        except Exception as exc:  # noqa: BLE001 — the test asserts there were none
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_first_numbers_at_once_are_one_and_two(engine):
    with session_scope(engine) as s:
        get_or_create_team(s, team_id=NEW_TEAM)

    def allocate():
        with session_scope(engine) as s:
            return next_number(s, team_id=NEW_TEAM, kind="objective")

    with both_read_before_either_writes(engine, "refcounter"):
        outcomes = race(allocate)
    assert sorted(outcomes, key=str) == [1, 2], outcomes
    with session_scope(engine) as s:
        assert next_number(s, team_id=NEW_TEAM, kind="objective") == 3
        assert next_number(s, team_id=NEW_TEAM, kind="commitment") == 1
        counters = s.execute(select(func.count()).select_from(RefCounter)).scalar_one()
        assert counters == 2


def test_two_first_requests_of_a_team_at_once_create_it_once(engine):
    def first_request():
        with session_scope(engine) as s:
            team = get_or_create_team(s, team_id=NEW_TEAM)
            return (team.team_id, team.recognition_emoji, team.digest_time)

    with both_read_before_either_writes(engine, "team"):
        outcomes = race(first_request)
    # Both got the team, with its defaults, whoever inserted it.
    assert outcomes == [(NEW_TEAM, "star", "16:00")] * 2, outcomes
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Team)).scalar_one() == 1
        assert get_or_create_team(s, team_id=NEW_TEAM).team_id == NEW_TEAM
