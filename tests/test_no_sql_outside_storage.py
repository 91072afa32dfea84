"""Listeners, jobs and the CLI build no SQL statements, at the connection level included: no
`text(…)`, `insert(…)`, `update(…)`, `delete(…)` (or `select(…)`) imported from SQLAlchemy or
SQLModel, and no `.execute(…)` on a connection, a session or anything else. The statement goes
into a storage function (keyword-only arguments), which they call.

Read from the source with `ast`: what counts is a name imported from sqlalchemy/sqlmodel (under
any alias, or reached through the imported module), not the bare word, so `dict.update(…)` or
a local `delete` helper is no finding."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_layers import runtime_nodes

ROOT = Path(__file__).resolve().parent.parent
SQL_FREE_PACKAGES = ("slackapp", "jobs", "loyalty")
SQL_LIBRARIES = ("sqlalchemy", "sqlmodel")
STATEMENT_BUILDERS = frozenset({"text", "insert", "update", "delete", "select"})
# Files that may still build a statement, with the reason. Empty: the lead's feedback modules
# and slackapp/context.py call storage functions like everything else.
ALLOW_LIST: dict[str, str] = {}


def _is_sql_library(module: str) -> bool:
    return any(module == lib or module.startswith(lib + ".") for lib in SQL_LIBRARIES)


def _sql_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(local names bound to a statement builder, local names bound to a SQL library module)."""
    builders: set[str] = set()
    modules: set[str] = set()
    for node in runtime_nodes(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and _is_sql_library(node.module or "")
        ):
            for alias in node.names:
                if alias.name in STATEMENT_BUILDERS:
                    builders.add(alias.asname or alias.name)
                else:  # a submodule (`from sqlalchemy import sql`) reaches builders too
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_sql_library(alias.name):
                    modules.add(alias.asname or alias.name.split(".")[0])
    return builders, modules


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def sql_lines(source: str, name: str = "<source>") -> list[str]:
    tree = ast.parse(source)
    builders, modules = _sql_names(tree)
    found = []
    for node in runtime_nodes(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in builders:
            found.append(f"{name}:{node.lineno} {func.id}(")
        elif isinstance(func, ast.Attribute):
            if func.attr == "execute":
                found.append(f"{name}:{node.lineno} .execute(")
            elif func.attr in STATEMENT_BUILDERS and _root_name(func.value) in modules:
                found.append(f"{name}:{node.lineno} {func.attr}(")
    return found


def test_the_finder_sees_connection_level_sql():
    source = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy import text, update as upd\n"
        "from sqlalchemy.dialects.postgresql import insert\n"
        "def f(conn, t):\n"
        "    conn.execute(text('SELECT 1'))\n"
        "    upd(t)\n"
        "    insert(t)\n"
        "    sa.delete(t)\n"
    )
    assert sorted(line.split(" ")[1] for line in sql_lines(source)) == [
        ".execute(",
        "delete(",
        "insert(",
        "text(",
        "upd(",
    ]


def test_the_finder_ignores_bare_words():
    source = (
        "from sqlalchemy.engine import Engine\n"
        "def update(d): d.update(a=1)\n"
        "def f(text): update({}); text.strip(); delete = 1\n"
    )
    assert sql_lines(source) == []


def test_the_finder_sees_storage_sql():
    assert sql_lines((ROOT / "storage" / "job_runs.py").read_text(encoding="utf-8"))


def test_no_sql_outside_storage():
    found: dict[str, list[str]] = {}
    for package in SQL_FREE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = sql_lines(path.read_text(encoding="utf-8"), rel)
            if lines and rel not in ALLOW_LIST:
                found[rel] = lines
    assert found == {}
