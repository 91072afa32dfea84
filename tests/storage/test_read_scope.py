"""The read-only unit of work listings and detail views use: it reads what committed units of
work wrote, refuses to write, and on PostgreSQL opens no transaction. On SQLite and PostgreSQL."""

from __future__ import annotations

import time

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


def test_connections_the_server_ended_are_replaced_without_a_failed_request(engine, db_url):
    """A PostgreSQL restart ends every pooled connection. The next unit of work, reading or
    writing, gets a fresh connection instead of an error, and no query was sent to find out."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    from sqlalchemy import create_engine, event, text

    with session_scope(engine) as session:
        session.add(Team(team_id="T1", name="Acme"))
    with read_scope(engine) as session, session_scope(engine) as other:
        # Two pooled connections (one per scope), both about to be ended.
        before = {
            session.exec(text("SELECT pg_backend_pid()")).scalar_one(),
            other.exec(text("SELECT pg_backend_pid()")).scalar_one(),
        }
    killer = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        # pg_terminate_backend only signals: wait until those sessions have ended, as after a
        # restart (a request racing the shutdown itself fails, with or without a ping).
        deadline = time.monotonic() + 10
        while conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
            {"pids": sorted(before)},
        ).scalar_one():
            assert time.monotonic() < deadline, "the terminated sessions did not end"
            time.sleep(0.05)
    killer.dispose()
    assert ended >= 2
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    with session_scope(engine) as session:
        session.add(Team(team_id="T2", name="Other"))
    with read_scope(engine) as session:
        assert session.exec(select(Team.team_id).order_by(Team.team_id)).all() == ["T1", "T2"]
        after = session.exec(text("SELECT pg_backend_pid()")).scalar_one()
    assert after not in before
    assert not [s for s in sent if "SELECT 1" in s]  # no ping query before each use
