"""Where `loyalty serve` spends CPU per request, by kind: `/okr show`, `/okr list` (all, me,
a department) and `/checkin`, each offered alone to a profiled server (bench/servers.py: every
thread of every worker under cProfile, timed in CPU time) on the load bench's data.

Prints, per kind, the top functions by cumulative CPU time per request, leaving out Bolt's and
gunicorn's own frames and the thread machinery (they wrap everything, so they say nothing about
where to act). Run by the load bench with LOYALTY_BENCH_PROFILE=1, or alone:
`python -m bench.load_profile` (a throwaway database, as the load bench).
"""

from __future__ import annotations

import os
import pstats
import tempfile
from pathlib import Path

from bench.load_bench import SERVE_PROCESSES, ThrowawayDatabase, Workload, run_load, seed, warm_up
from bench.servers import product_server

KINDS = {
    "/okr show": ("show",),
    "/okr list": ("list_all", "list_me", "list_dept"),
    "/checkin": ("checkin",),
}
RATE = float(os.environ.get("LOYALTY_BENCH_PROFILE_RATE", "100"))
SECONDS = float(os.environ.get("LOYALTY_BENCH_PROFILE_SECONDS", "15"))
TOP = 10
ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("storage", "slackapp", "jobs")
# The project's own dispatch from a request to its handler: one line each, always on top.
DISPATCH = ("slackapp/commands.py", "slackapp/replies.py", "(handle_okr)", "slackapp/http_server.py",
            "slackapp/middleware", "(handle_checkin_command)")  # fmt: skip
# Frames that wrap every request: Bolt's dispatch and middleware chain, gunicorn's worker, the
# thread pools; a function of theirs at the top of the list would hide the ones to act on.
WRAPPERS = ("/slack_bolt/", "/gunicorn/", "/threading.py", "/concurrent/futures/",
            "/selectors.py", "/socketserver.py", "{method 'run' of", "profiled_wsgi_app")  # fmt: skip


def top_functions(
    stats: pstats.Stats, requests: int, *, by_own: bool = False, ours: bool = False
) -> list[tuple[float, float, float, str]]:
    """(cumulative ms/request, own ms/request, calls/request, where) of the TOP functions by
    cumulative (or own) time, wrappers left out; only the project's own with `ours`."""
    rows = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        where = f"{filename}:{line}({name})" if line else name
        if any(w in where for w in WRAPPERS) or filename == "~" and name.startswith("<"):
            continue
        if ours and (
            not any(f"{ROOT}/{layer}/" in filename for layer in LAYERS)
            or any(d in where for d in DISPATCH)
        ):
            continue
        rows.append((cumulative * 1000 / requests, own * 1000 / requests, calls / requests, where))
    rows.sort(key=lambda row: row[1] if by_own else row[0], reverse=True)
    return rows[:TOP]


def print_top(stats: pstats.Stats, requests: int) -> None:
    lists = (("by cumulative CPU", False, False), ("by own CPU", True, False),
             ("of the project's own (storage, slackapp, jobs) by cumulative CPU", False, True))  # fmt: skip
    for title, by_own, ours in lists:
        print(f"  top {TOP} {title}:\n  cum ms/req  own ms/req  calls/req  function")
        for cumulative, own, calls, where in top_functions(
            stats, requests, by_own=by_own, ours=ours
        ):
            print(f"  {cumulative:>10.3f}  {own:>10.3f}  {calls:>9.2f}  {short(where)}")


def short(where: str) -> str:
    for marker in ("/site-packages/", f"{ROOT}/"):
        if marker in where:
            return where.split(marker, 1)[1]
    return where


def profile_kind(url: str, load: Workload, label: str, kinds: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as out:
        srv = product_server(url, load.fake, SERVE_PROCESSES, profile_dir=Path(out))
        profiled = Workload(load.owners, load.fake, kinds)
        try:
            warmed = warm_up(profiled, srv.port, seconds=1.0)  # profiled too: counted below
            results = run_load(profiled, srv.port, duration=SECONDS, rate=RATE)
        finally:
            srv.stop()
        files = sorted(str(p) for p in Path(out).glob("worker-*.prof"))
        if not files:
            print(f"{label}: no profile written (see the server's log)")
            return
        stats = pstats.Stats(*files)
    answered = max(1, len(results.latencies) + warmed)
    total_ms = sum(v[2] for v in stats.stats.values()) * 1000 / answered
    print(f"\n{label}: {answered} requests, profiled CPU {total_ms:.2f} ms/request (cProfile "
          "multiplies it; compare the functions with each other, not with the load run)")  # fmt: skip
    print_top(stats, answered)


def profile_kinds(url: str, load: Workload) -> None:
    for label, kinds in KINDS.items():
        profile_kind(url, load, label, kinds)
        load.fake.reset()


def main() -> None:
    from bench.load_bench import ADMIN, OWNERS
    from tests.fakes.slack_api import FakeSlack

    fake = FakeSlack().start()
    for user in [*OWNERS, ADMIN]:
        fake.add_user(user, admin=user == ADMIN)
    try:
        with ThrowawayDatabase() as url:
            profile_kinds(url, Workload(seed(url), fake))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
