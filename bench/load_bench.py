"""`loyalty serve` under load: 200 signed requests per second of mixed commands on loopback,
compared with a bare Bolt app answering the same requests in the same run.

Against a throwaway PostgreSQL database, with real `loyalty serve --workers N` subprocesses
(N = cores, LOYALTY_BENCH_SERVE_WORKERS) and the fake Slack Web API (tests/fakes) answering
response_url posts and API calls, three runs:

1. steady: 200 req/s for LOYALTY_BENCH_DURATION seconds (default 60): no request may fail;
2. bare: the same requests, signed the same way, acked by a minimal `slack_bolt.App` (same
   signing secret, same commands) under the same gunicorn settings (bench/servers.py);
3. crash: the steady load, with one worker killed with SIGKILL half-way: the server must
   replace it, and the requests that worker was answering at that moment are dropped —
   counted and printed as errors, not retried (a load balancer does not resend a POST that
   may have been handled).

First printed: the ratio of the servers' CPU time per request (master + workers, from /proc,
counted until the server is idle again), product against bare, goal ≤ 2×. CPU time, unlike
latency, barely moves when other programs load the machine, and the ratio cancels the
machine's speed. Then each run checks that every check-in acknowledged with a 200 is in the
database afterwards (rows are counted; how many authors got the "Checked in" reply, and how
many reads were answered in their acknowledgement, are printed too) and prints p50/p95/p99
latency per request as measured on loopback (the server's answer time; Slack's limit is 3 s).

Environment: LOYALTY_BENCH_POSTGRES_URL (else LOYALTY_TEST_POSTGRES_URL, else
postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names a server where a database can be
created; LOYALTY_BENCH_DURATION shortens the runs for a quick check; LOYALTY_BENCH_RATE changes
the rate (default 200); LOYALTY_BENCH_PROFILE=1 adds profiled runs of `/okr show`, `/okr list`
and `/checkin` (bench/load_profile.py).
"""

from __future__ import annotations

import gc
import http.client
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.measure import p50, p95, percentile, print_ratios, ratio_line
from bench.servers import GunicornServer, bare_server, product_server
from bench.slack_requests import post_signed, slash_body
from storage.db import make_engine, session_scope, upgrade
from storage.departments import create_department
from storage.models import CheckIn
from storage.objectives import KeyResultInput, create_objective
from storage.quarters import quarter_bounds, quarter_of
from tests.fakes.slack_api import FakeSlack

TEAM = "T0TEAMA01"
ADMIN = "U0ADMIN01"
OWNERS = [f"U0BENCH{n:03d}" for n in range(40)]
RATE = float(os.environ.get("LOYALTY_BENCH_RATE", "200"))
DURATION = float(os.environ.get("LOYALTY_BENCH_DURATION", "60"))
CLIENT_THREADS = 64
# `loyalty serve --workers N`: one process per core (Python serves one request at a time per
# process), and at least two so one survives the crash run.
SERVE_PROCESSES = int(
    os.environ.get("LOYALTY_BENCH_SERVE_WORKERS", str(max(2, os.cpu_count() or 1)))
)
P99_BUDGET_S = 1.0  # well inside Slack's 3 s
CPU_RATIO_GOAL = 2.0  # product CPU per request against the bare Bolt app's
# 4 in 10 requests are check-ins (writes); the rest read.
MIX = ("checkin", "list_all", "checkin", "show", "checkin", "dept_list", "list_me", "checkin",
       "help", "list_dept")  # fmt: skip
# What each read's answer holds (every objective of the bench's data is "Objective of <owner>").
READ_ANSWERS = {
    **dict.fromkeys(("list_all", "list_me", "list_dept", "show"), "Objective of"),
    "dept_list": "Dept 0",
    "help": "/okr show O-12",
}


def pg_base_url() -> str:
    return (
        os.environ.get("LOYALTY_BENCH_POSTGRES_URL")
        or os.environ.get("LOYALTY_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


class ThrowawayDatabase:
    def __init__(self):
        self.base = make_url(pg_base_url())
        self.name = f"loyalty_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.base.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc):
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def seed(url: str) -> dict[int, str]:
    """Five departments, 40 key results with one owner each; returns KR number -> owner."""
    upgrade(url)
    engine = make_engine(url)
    quarter = quarter_of(date.today())
    owners: dict[int, str] = {}
    with session_scope(engine) as s:
        for d in range(5):
            members = OWNERS[d * 8 : (d + 1) * 8]
            dept = create_department(
                s, team_id=TEAM, actor_id=ADMIN, is_admin=True, name=f"Dept {d}",
                channel_id=f"C0DEPT{d:04d}", head_ids=members[:1],
            )  # fmt: skip
            for owner in members:
                _, krs = create_objective(
                    s, team_id=TEAM, actor_id=ADMIN, is_admin=True, department_id=dept.id,
                    title=f"Objective of {owner}", quarter=quarter, owner_id=owner,
                    due_date=quarter_bounds(quarter)[1],
                    key_results=[KeyResultInput(title="NPS", baseline=30, target=50, unit="pts")],
                )  # fmt: skip
                owners[krs[0].number] = owner
    engine.dispose()
    return owners


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # answered wrongly: always a failure
    dropped: list[str] = field(default_factory=list)  # connection cut before an answer
    checkins_acked: int = 0
    acked_ids: set[int] = field(default_factory=set)
    confirmed_in_ack: int = 0  # check-ins whose acknowledgement carried the confirmation
    reads_in_ack: int = 0  # reads whose acknowledgement carried the answer
    checkins_dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    elapsed: float = 0.0
    late: int = 0
    slow: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds) > 100 ms


@dataclass
class Workload:
    """The requests offered: request i is of kind mix[i % len(mix)], for key result owners."""

    owners: dict[int, str]
    fake: FakeSlack
    mix: tuple[str, ...] = MIX


def build(i: int, load: Workload) -> tuple[str, str]:
    kind = load.mix[i % len(load.mix)]
    numbers = sorted(load.owners)
    kr = numbers[i % len(numbers)]
    user = load.owners[kr]
    command, text_ = {
        "checkin": ("/checkin", f"KR-{kr} {30 + i % 20} 7/10 bench {i}"),
        "list_all": ("/okr", "list all"),
        "list_me": ("/okr", "list me"),
        "list_dept": ("/okr", f"list Dept {i % 5}"),
        "show": ("/okr", f"show O-{kr}"),
        "dept_list": ("/okr", "dept list"),
        "help": ("/okr", "help"),
    }[kind]
    body = slash_body(team_id=TEAM, user=user, command=command, text=text_,
                      response_url=load.fake.response_url(f"bench{i}"), i=i)  # fmt: skip
    return kind, body


def send(i: int, load: Workload, port: int, results: Results, give_up_at: float) -> None:
    kind, body = build(i, load)
    if time.perf_counter() > give_up_at:
        # Bounded in time: a server far behind the offered rate ends the run, as a failure.
        with results.lock:
            results.errors.append(f"#{i} {kind}: not sent, backlog past the time limit")
        return
    started = time.perf_counter()
    try:
        status, answer = post_signed(port, body)
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        # Cut off before an answer (the worker holding the connection died): not acknowledged,
        # and not retried — it may have been handled.
        with results.lock:
            results.dropped.append(f"#{i} {kind}: {type(exc).__name__}")
            results.checkins_dropped += kind == "checkin"
        return
    elapsed = time.perf_counter() - started
    with results.lock:
        results.latencies.append(elapsed)
        if elapsed > 0.1:
            results.slow.append((started, elapsed))
        results.kinds[kind] += 1
        results.by_kind.setdefault(kind, []).append(elapsed)
        if status != 200:
            results.errors.append(f"#{i} {kind}: HTTP {status}")
        elif kind == "checkin" and (not answer or "Checked in" in answer):
            # Stored before the ack; the confirmation comes in the ack or, after a slow
            # write, through the response URL.
            results.checkins_acked += 1
            results.acked_ids.add(i)
            if answer:
                results.confirmed_in_ack += 1
        elif kind != "checkin" and answer:
            # A read is answered in its acknowledgement (or, past the acknowledgement's
            # deadline, acknowledged empty and answered through the response URL).
            if READ_ANSWERS[kind] in answer:
                results.reads_in_ack += 1
            else:
                results.errors.append(f"#{i} {kind}: answered {answer[:120]!r}")
        elif answer:
            results.errors.append(f"#{i} {kind}: answered {answer[:120]!r}")


def run_load(load: Workload, port: int, *, duration: float, rate: float = RATE, on_half=None):
    """Offer `rate` requests a second for `duration` seconds. This process's cyclic garbage
    collector is paused meanwhile: its full collections (the fake Slack keeps every call it
    received) stalled every client thread at once for up to a quarter of a second, and that
    pause was timed as the server's latency."""
    gc.collect()
    gc.disable()
    try:
        return _offer_load(load, port, duration=duration, rate=rate, on_half=on_half)
    finally:
        gc.enable()


def _offer_load(load: Workload, port: int, *, duration: float, rate: float, on_half) -> Results:
    results = Results()
    total = int(duration * rate)
    pool = ThreadPoolExecutor(CLIENT_THREADS)
    start = time.perf_counter()
    give_up_at = start + duration * 3 + 30
    half_done = False
    for i in range(total):
        due = start + i / rate
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        elif now - due > 0.5:
            results.late += 1
        if on_half and not half_done and i >= total // 2:
            half_done = True
            threading.Thread(target=on_half, daemon=True).start()
        pool.submit(send, i, load, port, results, give_up_at)
    pool.shutdown(wait=True)
    results.elapsed = time.perf_counter() - start
    return results


class Killer:
    """Half-way: SIGKILL one worker, then watch for the server to replace it."""

    def __init__(self, server: GunicornServer):
        self.server = server
        self.victim: int | None = None
        self.replacement: int | None = None
        self.replaced_after: float | None = None
        self.killed_perf: float | None = None

    def __call__(self) -> None:
        before = self.server.workers()
        self.victim = min(before)
        os.kill(self.victim, signal.SIGKILL)
        killed_at = time.monotonic()
        self.killed_perf = time.perf_counter()
        while time.monotonic() - killed_at < 30:
            now = self.server.workers()
            new = now - before
            if self.victim not in now and len(now) == self.server.processes and new:
                self.replacement = min(new)
                self.replaced_after = time.monotonic() - killed_at
                return
            time.sleep(0.05)


def stored_checkins(url: str, expected: int, timeout: float = 60, settled: float = 5) -> int:
    """Check-ins are written right after the ack; wait for stragglers (until `expected` rows,
    or no new row for `settled` seconds), then count."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while True:
        n = count_checkins(url)
        now = time.monotonic()
        if n != last:
            last, last_change = n, now
        if n >= expected or now > deadline or now - last_change > settled:
            return n
        time.sleep(0.5)


def confirmed_checkins(fake: FakeSlack, results: Results) -> int:
    """Acknowledged check-ins whose author got the "Checked in" reply (sent after the write):
    in the acknowledgement itself, or through the response URL."""
    names = {f"bench{i}" for i in results.acked_ids}
    return results.confirmed_in_ack + sum(
        1
        for call in fake.calls_to("response_url")
        if call.args.get("_name") in names and "Checked in" in call.args.get("text", "")
    )


def latency_lines(name: str, results: Results) -> list[str]:
    lat = results.latencies
    return [
        f"{name}: {len(lat)} answered in {results.elapsed:.1f}s "
        f"({len(lat) / results.elapsed:.0f}/s), errors {len(results.errors) + len(results.dropped)}"
        f" (dropped connections {len(results.dropped)}, wrong answers {len(results.errors)}), "
        f"generator late {results.late}",
        f"  mix: {dict(results.kinds)}",
        f"  latency p50 {p50(lat) * 1000:.1f} ms · p95 {p95(lat) * 1000:.1f} ms · "
        f"p99 {percentile(lat, 0.99) * 1000:.1f} ms · max {max(lat, default=0) * 1000:.1f} ms",
        "  p95 by kind: "
        + ", ".join(f"{k} {p95(v) * 1000:.1f}" for k, v in sorted(results.by_kind.items()))
        + " ms",
        *(f"  error: {err}" for err in (results.errors + results.dropped)[:5]),
    ]


def report(name: str, results: Results, stored: int, confirmed: int) -> tuple[bool, dict]:
    """Whether the run kept every acknowledged check-in, and its row for the summary (with
    the lines describing it under "lines")."""
    lines = latency_lines(name, results)
    lines.append(
        f"  check-ins acknowledged {results.checkins_acked}, confirmed to their author "
        f"{confirmed}, rows stored {stored}"
        + (f" (dropped check-ins {results.checkins_dropped})" if results.checkins_dropped else "")
    )
    reads = sum(n for kind, n in results.kinds.items() if kind != "checkin")
    lines.append(f"  reads answered in their acknowledgement {results.reads_in_ack} of {reads}")
    ok = (
        not results.errors
        and stored >= results.checkins_acked
        # a dropped check-in may have been stored before its connection was cut
        and stored - results.checkins_acked <= results.checkins_dropped
        and percentile(results.latencies, 0.99) <= P99_BUDGET_S
    )
    if stored < results.checkins_acked:
        lines.append(
            f"  LOST {results.checkins_acked - stored} acknowledged check-ins "
            f"({results.checkins_acked - confirmed} acknowledged but never confirmed)"
        )
    lat = results.latencies
    return ok, {
        "answered": len(lat), "errors": len(results.errors) + len(results.dropped),
        "p50": p50(lat) * 1000, "p95": p95(lat) * 1000, "p99": percentile(lat, 0.99) * 1000,
        "acked": results.checkins_acked, "stored": stored, "confirmed": confirmed,
        "lines": lines,
    }  # fmt: skip


def count_checkins(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(CheckIn.__table__)).scalar_one()
    finally:
        engine.dispose()


def warm_up(load: Workload, port: int, seconds: float = 2.0) -> int:
    """Unmeasured reads first, so a fresh server's first requests (connection pools, caches)
    count in neither server's figures; no check-ins, so the row counts stay exact. Returns how
    many were answered."""
    results = Results()
    reads = [i for i in range(int(seconds * RATE)) if load.mix[i % len(load.mix)] != "checkin"]
    with ThreadPoolExecutor(8) as pool:
        for i in reads:
            pool.submit(send, i, load, port, results, float("inf"))
            time.sleep(1 / RATE)
    return len(results.latencies)


def measured(srv: GunicornServer, load: Workload) -> tuple[Results, float]:
    """The load on a warmed-up server: (results, server CPU ms per answered request)."""
    warm_up(load, srv.port)
    cpu_before = srv.cpu_seconds()
    results = run_load(load, srv.port, duration=DURATION)
    cpu = srv.cpu_since(cpu_before)
    return results, cpu * 1000 / max(1, len(results.latencies))


def steady_run(url: str, load: Workload) -> tuple[bool, dict]:
    """Steady load: nothing may fail."""
    srv = product_server(url, load.fake, SERVE_PROCESSES, admins=ADMIN)
    try:
        before = count_checkins(url)
        results, cpu_ms = measured(srv, load)
    finally:
        srv.stop()
    stored = stored_checkins(url, before + results.checkins_acked) - before
    confirmed = confirmed_checkins(load.fake, results)
    ok, row = report(f"loyalty serve, {SERVE_PROCESSES} workers", results, stored, confirmed)
    row["cpu_ms"] = cpu_ms
    return ok and not results.dropped, row


def bare_run(load: Workload) -> tuple[bool, dict]:
    """The same requests, acked by a bare Bolt app under the same gunicorn settings."""
    srv = bare_server(load.fake, SERVE_PROCESSES, commands=("/checkin", "/okr"))
    try:
        results, cpu_ms = measured(srv, load)
    finally:
        srv.stop()
    lines = latency_lines(f"bare Bolt app, {SERVE_PROCESSES} workers", results)
    lat = results.latencies
    row = {"answered": len(lat), "errors": len(results.errors) + len(results.dropped),
           "p50": p50(lat) * 1000, "p95": p95(lat) * 1000, "p99": percentile(lat, 0.99) * 1000,
           "cpu_ms": cpu_ms, "lines": lines}  # fmt: skip
    return not results.errors and not results.dropped, row


def crash_run(url: str, load: Workload) -> tuple[bool, dict]:
    """One worker killed with SIGKILL half-way: replaced; its in-flight requests dropped."""
    srv = product_server(url, load.fake, SERVE_PROCESSES, admins=ADMIN)
    killer = Killer(srv)
    try:
        warm_up(load, srv.port)
        before = count_checkins(url)
        results = run_load(load, srv.port, duration=DURATION, on_half=killer)
        alive_after = srv.workers()
    finally:
        srv.stop()
    stored = stored_checkins(url, before + results.checkins_acked) - before
    confirmed = confirmed_checkins(load.fake, results)
    name = f"loyalty serve, {SERVE_PROCESSES} workers, one killed"
    ok, row = report(name, results, stored, confirmed)
    if killer.replaced_after is None:
        row["lines"].append(f"  worker {killer.victim} killed with SIGKILL half-way: "
                            "NOT REPLACED within 30 s")  # fmt: skip
        return False, row
    row["lines"].append(
        f"  worker {killer.victim} killed with SIGKILL half-way; its replacement, worker "
        f"{killer.replacement}, started {killer.replaced_after:.2f}s later; "
        f"{len(alive_after)} workers at the end"
    )
    if results.slow and killer.killed_perf is not None:
        sent = sorted(at - killer.killed_perf for at, _ in results.slow)
        row["lines"].append(
            f"  {len(sent)} requests over 100 ms, sent from {sent[0]:+.2f}s to {sent[-1]:+.2f}s "
            f"after the kill (slowest {max(e for _, e in results.slow) * 1000:.0f} ms)"
        )
    return ok, row


def print_summary(table: list[tuple[str, dict]]) -> None:
    product, bare = dict(table)["steady"], dict(table)["bare Bolt app"]
    print_ratios(
        ratio_line(product["cpu_ms"] / bare["cpu_ms"], "server CPU per request, loyalty serve "
                   "against a bare Bolt app acking the same signed requests", CPU_RATIO_GOAL)
    )  # fmt: skip
    print(f"  server CPU per request: loyalty serve {product['cpu_ms']:.2f} ms, bare Bolt app "
          f"{bare['cpu_ms']:.2f} ms (master + workers, from /proc, until idle)")  # fmt: skip
    for _, row in table:
        print("\n".join(row["lines"]))
    print("\nrun                  answered  errors  p50 ms  p95 ms  p99 ms  "
          "CPU ms/req  check-ins acked/confirmed/stored")  # fmt: skip
    for run, row in table:
        cpu = f"{row['cpu_ms']:.2f}" if "cpu_ms" in row else "-"
        checkins = f"{row['acked']}/{row['confirmed']}/{row['stored']}" if "acked" in row else "-"
        print(
            f"{run:<20} {row['answered']:>8}  {row['errors']:>6}  {row['p50']:>6.1f}  "
            f"{row['p95']:>6.1f}  {row['p99']:>6.1f}  {cpu:>10}  {checkins}"
        )


def main() -> bool:
    print(f"rate {RATE:.0f}/s for {DURATION:.0f}s per run, {SERVE_PROCESSES} workers, "
          f"PostgreSQL at {make_url(pg_base_url()).render_as_string(hide_password=True)}")  # fmt: skip
    fake = FakeSlack().start()
    for user in [*OWNERS, ADMIN]:
        fake.add_user(user, admin=user == ADMIN)
    ok = True
    table: list = []
    try:
        with ThrowawayDatabase() as url:
            load = Workload(seed(url), fake)
            runs = [("steady", lambda: steady_run(url, load)), ("bare Bolt app", lambda: bare_run(load)),
                    ("1 worker SIGKILLed", lambda: crash_run(url, load))]  # fmt: skip
            for name, run in runs:
                run_ok, row = run()
                table.append((name, row))
                ok &= run_ok
                fake.reset()
            print_summary(table)
            if os.environ.get("LOYALTY_BENCH_PROFILE"):
                from bench.load_profile import profile_kinds

                profile_kinds(url, load)
    finally:
        fake.stop()
    product, bare = dict(table)["steady"], dict(table)["bare Bolt app"]
    return bool(ok) and product["cpu_ms"] <= CPU_RATIO_GOAL * bare["cpu_ms"]


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
