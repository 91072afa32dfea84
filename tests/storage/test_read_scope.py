"""The read-only unit of work listings and detail views use: it reads what committed units of
work wrote, refuses to write, and on PostgreSQL opens no transaction. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.db import read_scope, session_scope
from storage.models import Team


def test_a_read_scope_reads_what_was_committed_and_refuses_to_write(engine):
    with session_scope(engine) as session:
        session.add(Team(team_id="T1", name="Acme"))
    with read_scope(engine) as session:
        assert session.exec(select(Team.name).where(Team.team_id == "T1")).one() == "Acme"
        session.add(Team(team_id="T2", name="Other"))
        with pytest.raises(RuntimeError, match="only reads"):
            session.flush()
    with read_scope(engine) as session:
        team = session.get(Team, "T1")
        team.name = "Renamed"
        with pytest.raises(RuntimeError, match="only reads"):
            session.flush()
    with session_scope(engine) as session:
        assert session.exec(select(Team.team_id, Team.name)).all() == [("T1", "Acme")]


def in_transaction(dbapi) -> bool:
    if hasattr(dbapi, "in_transaction"):  # sqlite3
        return dbapi.in_transaction
    return dbapi.info.transaction_status.name != "IDLE"  # psycopg: INTRANS once BEGIN was sent


def test_a_read_scope_opens_no_transaction_and_leaves_none_behind(engine):
    with read_scope(engine) as session:
        session.exec(select(Team)).all()
        assert not in_transaction(session.connection().connection.dbapi_connection)
    with session_scope(engine) as session:  # the pool's connections still open transactions
        session.add(Team(team_id="T1", name="Acme"))
        session.flush()
        assert in_transaction(session.connection().connection.dbapi_connection)
