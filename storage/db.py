"""One engine per process, one session per request or job run; migrations via Alembic."""

from __future__ import annotations

import re
import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            # WAL lets the scheduler and the app share the file; FKs are off by default in SQLite.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _check_connection_alive)
    return engine


def _check_connection_alive(dbapi_conn, _record, _proxy) -> None:
    """A restarted PostgreSQL costs a reconnect, not a failed request. A pooled connection
    sits idle with nothing to read; a server that restarted or ended the session has left its
    goodbye (or the end of the stream) on the socket. Looking costs no round trip, where
    SQLAlchemy's pool_pre_ping sends a query before every use. The pool replaces a connection
    refused here and tries again."""
    try:
        socket = dbapi_conn.pgconn.socket  # raises once psycopg knows the connection is lost
    except Exception as exc:
        raise DisconnectionError("the connection is lost") from exc
    if dbapi_conn.closed:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(socket, select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server ended this connection")


def upsert_insert(session: Session, model):
    """An INSERT for `model` that can say what to do on a key conflict (ON CONFLICT), in the
    session's database's dialect: how first rows are created race-free on both databases."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class ReadOnlySession(Session):
    """A session for reading: flushing a new, changed or deleted row raises. It never flushes
    on its own (no autoflush): nothing is checked before each query."""

    def flush(self, objects=None) -> None:
        if self.new or self.deleted or self.dirty:
            raise RuntimeError("this session only reads; write in session_scope")
        super().flush(objects)


_AUTOCOMMIT = "_loyalty_autocommit"


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work that only reads (a listing, a detail view). On PostgreSQL it opens no
    transaction: under READ COMMITTED each statement reads its own snapshot whether or not one
    is open, so BEGIN and COMMIT would only add two round trips to every read. SQLite opens
    none for reads either."""
    if engine.dialect.name == "postgresql":
        bind = engine.__dict__.get(_AUTOCOMMIT)
        if bind is None:  # made once per engine: the same pool, without transactions
            bind = engine.execution_options(isolation_level="AUTOCOMMIT")
            setattr(engine, _AUTOCOMMIT, bind)
    else:
        bind = engine
    with ReadOnlySession(bind, expire_on_commit=False, autoflush=False) as session:
        yield session


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# pg_advisory_lock key serializing `loyalty db upgrade` runs ("LOYALMIG" in ASCII).
MIGRATION_LOCK_KEY = 0x4C4F59414C4D4947


class SchemaNotCurrent(Exception):
    """The database is missing or behind this version's migrations; the message is one line."""


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply every migration (`loyalty db upgrade`). On PostgreSQL two upgrades at once
    serialize on an advisory lock: the second waits, then finds nothing left to do."""
    from alembic import command

    cfg = alembic_config(url)
    if not url.startswith("postgresql"):
        command.upgrade(cfg, revision)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def head_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def check_schema_current(url: str) -> None:
    """Raise SchemaNotCurrent unless the database exists and is at this version's head.
    Never creates anything (a missing SQLite file stays missing)."""
    fix = "run `loyalty db upgrade` first"
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise SchemaNotCurrent(f"No database at {path} (DATABASE_URL); {fix} to create it.")
    engine = make_engine(url)
    try:
        current = current_revisions(engine)
    finally:
        engine.dispose()
    heads = head_revisions()
    if current == heads:
        return
    if not current:
        raise SchemaNotCurrent(f"The database {safe_url(url)} has no tables yet; {fix}.")
    if current - heads and not current & heads:
        unknown = ", ".join(sorted(current - heads))
        known = _known_revisions()
        if current - known:
            raise SchemaNotCurrent(
                f"The database {safe_url(url)} is at migration {unknown}, which this version "
                "does not know (newer software wrote it); upgrade this installation."
            )
    raise SchemaNotCurrent(
        f"The database schema is behind this version (at {', '.join(sorted(current))}, "
        f"needs {', '.join(sorted(heads))}); {fix}."
    )


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {rev.revision for rev in script.walk_revisions()}


# Query parameters that carry a credential: libpq's `password` and `sslpassword`, and any
# driver option named like a secret or token.
_SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|credential|api_?key", re.IGNORECASE)
HIDDEN = "***"


def safe_url(url: str) -> str:
    """The URL with every password hidden (user:password@ and secret query parameters), for
    logs and messages."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not a URL we can take apart: name its scheme only, whatever the rest holds.
        scheme, separator, _ = url.partition("://")
        return f"{scheme[:40]}://…" if separator else "…"
    hidden = {key: HIDDEN for key in parsed.query if _SECRET_QUERY_KEY.search(key)}
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    # The query is URL-quoted when rendered; show the mask as the user's part is shown.
    return parsed.render_as_string(hide_password=True).replace(f"={quote(HIDDEN)}", f"={HIDDEN}")
