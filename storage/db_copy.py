"""Moving to another database (`loyalty db copy`) and backing SQLite up online (`loyalty db
backup`).

The copy migrates the target to this version's head, then copies every table of the source —
our models, the OAuth install tables, the scheduler's job table — parent tables first, in
batches, in one transaction, and checks the row count of each table. Stored Slack tokens are
copied as ciphertext, untouched. The source is read as one
snapshot (a single read transaction; REPEATABLE READ on PostgreSQL), so the app may keep writing
while it runs: a check-in stored half-way is either wholly in the copy or not at all, never a
row whose parent is missing. It refuses a target that holds any rows and a source whose schema
is not current."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Integer, MetaData, Text, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import SQLModel

from storage.db import check_schema_current, make_engine, safe_url, sqlite_file, upgrade
from storage.errors import DomainError
from storage.token_crypto import EncryptedText

BATCH_ROWS = 1000
VERSION_TABLE = "alembic_version"
# Kept by the database itself (triggers): the target fills them as the key results arrive, and
# the row counts checked afterwards prove they came out the same.
DERIVED_TABLES = {"objectivekrtotals"}


class CopyError(DomainError):
    """The copy was refused or failed; the message is one line."""


@dataclass
class CopyReport:
    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied (== source rows)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def normalize_url(url: str) -> str:
    """A database URL as DATABASE_URL accepts it; CopyError (one line) when it is not one."""
    url = url.strip()
    if not re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", url):
        raise CopyError(
            f"--to '{safe_url(url)}' is not a database URL; give sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        )
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        from sqlalchemy.engine import make_url

        make_url(url)
    except (ArgumentError, ValueError):
        raise CopyError(f"--to {url!r} is not a valid database URL") from None
    return url


def _connect_or_explain(engine: Engine, role: str) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0][:200]
        raise CopyError(
            f"Cannot reach the {role} database {safe_url(str(engine.url))}: {reason}"
        ) from None


def _row_counts(bind: Engine | Connection, tables) -> dict[str, int]:
    def count(conn) -> dict[str, int]:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in tables}

    if isinstance(bind, Connection):
        return count(bind)
    with bind.connect() as conn:
        return count(conn)


def _read_one_snapshot(conn: Connection) -> None:
    """Make every read on `conn` see the database as of its first read, whatever the app
    commits meanwhile. SQLite (WAL) keeps one snapshot per read transaction, which pysqlite
    would otherwise end after each statement; PostgreSQL needs REPEATABLE READ for one per
    transaction."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    else:
        conn.execution_options(isolation_level="REPEATABLE READ")


def _tables(engine: Engine) -> MetaData:
    """Every table of the database; the models' definitions where we have them (their column
    types convert values between databases), the database's own for the others."""
    reflected = MetaData()
    reflected.reflect(engine)
    out = MetaData()
    for table in reflected.sorted_tables:
        model = SQLModel.metadata.tables.get(table.name)
        copied = (model if model is not None else table).to_metadata(out)
        for column in copied.columns:
            if isinstance(column.type, EncryptedText):
                # Tokens move as the ciphertext they are: the copy needs no key, and the target
                # reads them with the same LOYALTY_ENCRYPTION_KEY as the source.
                column.type = Text()
    return out


def _require_empty(target, target_url: str) -> None:
    """Refuse a target that holds rows (an empty schema, or only the version table, is fine)."""
    existing = set(inspect(target).get_table_names())
    if not existing - {VERSION_TABLE}:
        return
    held = {
        name: n
        for name, n in _row_counts(target, _tables(target).sorted_tables).items()
        if n and name != VERSION_TABLE
    }
    if held:
        sample = ", ".join(f"{t} ({n})" for t, n in sorted(held.items())[:3])
        raise CopyError(
            f"The target database {safe_url(target_url)} already holds data ({sample}"
            f"{' …' if len(held) > 3 else ''}); copy only into an empty database"
        )


def _copy_table(src, dst, src_table, dst_table, batch_rows: int) -> int:
    """Stream one table's rows across in batches of `batch_rows`; returns how many."""
    columns = [c.name for c in dst_table.columns if c.name in src_table.columns]
    query = select(*(src_table.c[name] for name in columns))
    pk = list(src_table.primary_key.columns)
    if pk:
        query = query.order_by(*pk)  # parents before children within a table
    result = src.execution_options(stream_results=True).execute(query)
    copied = 0
    while batch := result.fetchmany(batch_rows):
        dst.execute(dst_table.insert(), [dict(zip(columns, row, strict=True)) for row in batch])
        copied += len(batch)
    return copied


def copy_database(source_url: str, target_url: str, *, batch_rows: int = BATCH_ROWS) -> CopyReport:
    """Copy every table of `source_url` into the empty database at `target_url`."""
    import storage.models  # noqa: F401 - every model on SQLModel.metadata
    import storage.oauth_tables  # noqa: F401

    target_url = normalize_url(target_url)
    if safe_url(target_url) == safe_url(source_url):
        raise CopyError("--to names the database the app uses now (DATABASE_URL); give another")
    check_schema_current(source_url)
    target_file = sqlite_file(target_url)
    if target_file is not None and not target_file.parent.is_dir():
        raise CopyError(f"--to: the directory {target_file.parent} does not exist")
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        _connect_or_explain(target, "target")
        _require_empty(target, target_url)
        upgrade(target_url)
        report = CopyReport(source=safe_url(source_url), target=safe_url(target_url))
        src_tables = _tables(source)
        dst_tables = _tables(target)
        order = [t for t in dst_tables.sorted_tables if t.name != VERSION_TABLE]
        missing = set(src_tables.tables) - set(dst_tables.tables)
        if missing:
            raise CopyError(
                f"The target lacks tables the source has ({', '.join(sorted(missing))})"
            )
        with source.connect() as src, target.begin() as dst:
            _read_one_snapshot(src)
            for dst_table in order:
                src_table = src_tables.tables.get(dst_table.name)
                if src_table is None or dst_table.name in DERIVED_TABLES:
                    continue
                report.rows[dst_table.name] = _copy_table(
                    src, dst, src_table, dst_table, batch_rows
                )
            counted = [t for t in src_tables.sorted_tables if t.name != VERSION_TABLE]
            want = _row_counts(src, counted)  # in the snapshot the rows were read from
            if dst.dialect.name == "postgresql":
                _reset_sequences(dst, order)
        _check_counts(want, target, report)
        return report
    finally:
        source.dispose()
        target.dispose()


def _reset_sequences(conn, tables) -> None:
    """Point each serial/identity sequence past the copied rows' highest id."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            conn.execute(
                text(
                    f'SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX("{column.name}"), 1), '
                    f'MAX("{column.name}") IS NOT NULL) FROM "{table.name}"'
                ),
                {"t": f'"{table.name}"', "c": column.name},
            )


def _check_counts(want: dict[str, int], target: Engine, report) -> None:
    dst_tables = _tables(target).tables
    got = _row_counts(target, [dst_tables[name] for name in want])
    wrong = {name: (want[name], got[name]) for name in want if want[name] != got[name]}
    if wrong:
        detail = ", ".join(f"{t}: source {a}, target {b}" for t, (a, b) in sorted(wrong.items()))
        raise CopyError(f"Row counts differ after the copy ({detail}); do not switch over")
    report.rows = {name: got[name] for name in want}


def backup_sqlite(url: str, out: str | Path) -> int:
    """A consistent copy of the SQLite database at `url` in `out`, taken with SQLite's online
    backup (the app may keep writing meanwhile). Returns the copy's size in bytes."""
    path = sqlite_file(url)
    if path is None:
        raise CopyError(
            "loyalty db backup copies a SQLite database; for PostgreSQL use pg_dump "
            '(pg_dump --format=custom --file=loyalty.dump "$DATABASE_URL" with the plain '
            "postgresql:// form of the URL)"
        )
    if not path.exists():
        raise CopyError(f"No database at {path} (DATABASE_URL); nothing to back up")
    out = Path(out)
    if out.exists():
        raise CopyError(f"{out} already exists; give a new file name (nothing was overwritten)")
    if not out.parent.is_dir():
        raise CopyError(f"The directory {out.parent} does not exist")
    src = sqlite3.connect(path, timeout=30)
    try:
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    return out.stat().st_size
