"""PostgreSQL session-level advisory locks, on a connection the caller keeps open.

The lock lives as long as that connection: the server releases it the moment the connection
dies, so a crashed holder never blocks the next one. Each call commits, so the connection is
never left inside a transaction while it sits holding the lock.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def try_advisory_lock(conn: Connection, *, key: int) -> bool:
    """Non-blocking: True when this connection now holds the lock."""
    got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    conn.commit()
    return bool(got)


def holds_advisory_lock(conn: Connection, *, key: int) -> bool:
    """Whether this connection's backend still holds the lock (a server restart drops it)."""
    n = conn.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = :k"
        ),
        {"k": key},
    ).scalar()
    conn.commit()
    return bool(n)


def advisory_unlock(conn: Connection, *, key: int) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    conn.commit()
