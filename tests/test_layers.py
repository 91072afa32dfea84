"""Layers run one way (storage ← slackapp ← jobs ← loyalty) and no first-party modules import
each other in a circle. Read from the source with `ast`, function-level imports included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("storage", "slackapp", "jobs", "loyalty")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_nodes(tree: ast.AST):
    """Every node that can run: all of them but the body of `if TYPE_CHECKING:` (its else runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if is_type_checking(node):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def imported_names(path: Path, module: str, modules: frozenset[str] = frozenset()) -> set[str]:
    """Every module name an import statement in the file names, at any depth of the code.

    `from package import submodule` depends on the submodule, not on the package's __init__."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            members = {f"{target}.{alias.name}" for alias in node.names}
            names.update(members)
            if not members <= modules:
                names.add(target)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = first_party_modules()
    known = frozenset(modules)
    return {
        module: {name for name in imported_names(path, module, known) if name in modules} - {module}
        for module, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def offending(prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    modules = first_party_modules()
    bad = []
    for module, path in modules.items():
        if module != prefix and not module.startswith(prefix + "."):
            continue
        for name in sorted(imported_names(path, module)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{module} imports {name}")
    return bad


def test_the_graph_sees_the_code():
    graph = import_graph()
    assert "slackapp.listeners.okr_command" in graph
    assert "slackapp.listeners.kpi" in graph["slackapp.listeners"]  # package-level import
    assert "storage.models" in graph["jobs.run_once"]
    # A function-level import counts too: jobs.scheduler imports jobs.weekly_digest in a function.
    assert "jobs.weekly_digest" in graph["jobs.scheduler"]
    # A type-checking-only import never runs, so it is no dependency at run time.
    assert "slackapp.app" not in graph["jobs.scheduler"]


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_slackapp_never_imports_jobs():
    assert offending("slackapp", ("jobs",)) == []


def test_storage_imports_no_slack_nor_upper_layers():
    assert offending("storage", ("slack_sdk", "slack_bolt", "slackapp", "jobs", "loyalty")) == []


def test_jobs_never_import_the_cli():
    assert offending("jobs", ("loyalty",)) == []


def test_no_import_cycles_between_first_party_modules():
    assert cycles(import_graph()) == []


def test_every_first_party_import_names_a_module_that_exists():
    """A function-level import of a moved module fails only when it runs (often under a broad
    `except`), so check them all here."""
    modules = first_party_modules()
    missing = []
    for module, path in modules.items():
        for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in PACKAGES and target not in modules:
                    missing.append(f"{module} imports {target}")
    assert missing == []


# Listeners and jobs ask storage/ functions for rows; they build no queries themselves.
SQL_FREE_PACKAGES = ("slackapp", "jobs", "loyalty")
SESSION_NAME = re.compile(r"^(s|sess|session|\w+_session)$")
# Files allowed a query while their rewrite is in flight (none now).
QUERY_ALLOW_LIST: dict[str, int] = {}


def query_lines(path: Path) -> list[str]:
    """`select(…)` anywhere, `.exec(…)` on anything, `.execute(…)` on a session."""
    found = []
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        receiver = func.value if isinstance(func, ast.Attribute) else None
        receiver_name = (
            receiver.id
            if isinstance(receiver, ast.Name)
            else getattr(receiver, "attr", "")
            if receiver is not None
            else ""
        )
        if (
            name == "select"
            or (name == "exec" and receiver is not None)
            or (name == "execute" and SESSION_NAME.match(receiver_name))
        ):
            found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {name}(")
    return found


def test_the_query_finder_sees_queries():
    sample = ROOT / "storage" / "kpis.py"
    assert any("select(" in line for line in query_lines(sample))
    assert query_lines(ROOT / "slackapp" / "commands.py") == []


def test_listeners_and_jobs_build_no_queries():
    found: dict[str, list[str]] = {}
    for package in SQL_FREE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = query_lines(path)
            if lines:
                found[path.relative_to(ROOT).as_posix()] = lines
    allowed = {f: n for f, n in QUERY_ALLOW_LIST.items() if len(found.get(f, [])) <= n}
    assert {f: lines for f, lines in found.items() if f not in allowed} == {}


# Listeners take `deps`, `caller`, `team_id` and `user_id` as arguments: Bolt fills any
# parameter named after a context key. Reading them out of `context` by hand is the old way.
INJECTED_KEYS = frozenset({"deps", "caller", "team_id", "user_id"})
INJECTED_USERS = ("slackapp/listeners", "slackapp/undo.py", "slackapp/commands.py")


def _is_context(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "context"


def context_reads(source: str) -> list[str]:
    """`context["deps"]` (read, not written) and `context.get("deps")`, for every injected key:
    `line key` each."""
    found = []
    for node in runtime_nodes(ast.parse(source)):
        key = None
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _is_context(node.value)
        ):
            key = node.slice
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _is_context(node.func.value)
            and node.args
        ):
            key = node.args[0]
        if isinstance(key, ast.Constant) and key.value in INJECTED_KEYS:
            found.append(f"{node.lineno} {key.value}")
    return sorted(found, key=lambda line: int(line.split()[0]))


def test_the_context_read_finder_sees_reads():
    sample = (
        'def handle(ack, context):\n    deps, who = context["deps"], context.get("user_id")\n'
        '    context["caller"] = None\n    return context["channel_id"]\n'
    )
    assert sorted(context_reads(sample)) == ["2 deps", "2 user_id"]


def test_listeners_take_injected_arguments_not_the_context():
    found: dict[str, list[str]] = {}
    for place in INJECTED_USERS:
        root = ROOT / place
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            lines = context_reads(path.read_text(encoding="utf-8"))
            if lines:
                found[path.relative_to(ROOT).as_posix()] = lines
    assert found == {}
