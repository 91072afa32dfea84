"""Counting the SQL statements an engine runs, for the tests and benches that hold a count
constant (it must not grow with the data)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def counted_statements(engine) -> Iterator[list[str]]:
    """Every statement `engine` runs inside the block is appended to the list yielded."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
