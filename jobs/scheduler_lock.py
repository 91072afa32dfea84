"""Only one scheduler fires at a time.

PostgreSQL: a session-level advisory lock held on a dedicated connection — it is released by the
server the moment that connection dies, so a crashed scheduler never blocks the next one.
SQLite: an exclusive `flock` on a file next to the database — released by the kernel when the
process exits, and it excludes other processes on the same machine (the only ones that can
open the same SQLite file safely). Each lock object has its own open file, so two lock objects
in one process exclude each other too.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from storage.locks import advisory_unlock, holds_advisory_lock, try_advisory_lock

log = logging.getLogger(__name__)

# Any fixed 64-bit number; "LOYALOKR" in ASCII, so it is recognisable in pg_locks.
ADVISORY_LOCK_KEY = 0x4C4F59414C4F4B52


class SchedulerLock:
    def acquire(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def held(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def release(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class PostgresAdvisoryLock(SchedulerLock):
    def __init__(self, engine: Engine, key: int = ADVISORY_LOCK_KEY):
        self.engine = engine
        self.key = key
        self._conn = None

    def acquire(self) -> bool:
        """Non-blocking; True when this object holds the lock (again) after the call."""
        if self.held():
            return True
        self._drop()
        try:
            conn = self.engine.connect()
            got = try_advisory_lock(conn, key=self.key)
        except Exception as exc:  # noqa: BLE001 - database down: simply not the leader now
            log.warning("scheduler lock: database unavailable: %s", exc.__class__.__name__)
            return False
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def held(self) -> bool:
        """Still holding it? False when the server restarted and took the lock with it."""
        if self._conn is None:
            return False
        try:
            return holds_advisory_lock(self._conn, key=self.key)
        except Exception:  # noqa: BLE001
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never give a lock-holding connection back to the pool
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            try:
                advisory_unlock(self._conn, key=self.key)
            except Exception:  # noqa: BLE001
                pass
        self._drop()


class FileLock(SchedulerLock):
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


def lock_for(engine: Engine) -> SchedulerLock:
    url = make_url(str(engine.url.render_as_string(hide_password=False)))
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(engine)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            # One in-memory database belongs to one process: a lock in the temp dir per process.
            return FileLock(Path(os.environ.get("TMPDIR", "/tmp")) / f"loyalty-{os.getpid()}.lock")
        return FileLock(Path(database).resolve().with_suffix(".scheduler.lock"))
    raise ValueError(f"no scheduler lock for {url.get_backend_name()} databases")
