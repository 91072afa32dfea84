"""`loyalty serve` under load: 200 signed requests per second of mixed commands on loopback.

Against a throwaway PostgreSQL database, with real `loyalty serve --workers N` subprocesses
(N = cores, LOYALTY_BENCH_SERVE_WORKERS) and the fake Slack Web API (tests/fakes) answering
response_url posts and API calls, two runs:

1. steady: 200 req/s for LOYALTY_BENCH_DURATION seconds (default 60): no request may fail;
2. crash: the same, with one worker killed with SIGKILL half-way: the server must replace it,
   and the requests that worker was answering at that moment are dropped — counted and printed
   as errors, not retried (a load balancer does not resend a POST that may have been handled).

Each run checks that every check-in acknowledged with a 200 is in the database afterwards
(rows are counted; how many authors got the "Checked in" reply is printed too) and prints
p50/p95/p99 latency per request as measured on loopback (the server's answer time; Slack's
limit is 3 s). The steady runs also print the servers' CPU time per request, which, unlike
latency, barely moves when other programs load the machine.

Environment: LOYALTY_BENCH_POSTGRES_URL (else LOYALTY_TEST_POSTGRES_URL, else
postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names a server where a database can be
created; LOYALTY_BENCH_DURATION shortens the runs for a quick check; LOYALTY_BENCH_RATE changes
the rate (default 200).
"""

from __future__ import annotations

import gc
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.db import make_engine, session_scope, upgrade  # noqa: E402
from storage.departments import create_department  # noqa: E402
from storage.models import CheckIn  # noqa: E402
from storage.objectives import KeyResultInput, create_objective  # noqa: E402
from storage.quarters import quarter_bounds, quarter_of  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.processes import child_pids, free_port, healthy  # noqa: E402
from tests.support.slack_driver import SIGNING_SECRET, sign  # noqa: E402

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
# 4 in 10 requests are check-ins (writes); the rest read.
MIX = ["checkin", "list_all", "checkin", "show", "checkin", "dept_list", "list_me", "checkin",
       "help", "list_dept"]  # fmt: skip


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


class Server:
    """One `loyalty serve --workers N` subprocess on a free loopback port."""

    def __init__(self, url: str, fake: FakeSlack, processes: int):
        self.port = free_port()
        self.processes = processes
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-bench-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            "LOYALTY_ADMINS": ADMIN,
        }
        self.log = open(  # noqa: SIM115 - closed in stop()
            Path(os.environ.get("TMPDIR", "/tmp")) / f"loyalty_bench_{self.port}.log", "w"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loyalty", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(processes)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"loyalty serve exited at start; see {self.log.name}")
            if len(self.workers()) == processes and healthy(self.port):
                return
            time.sleep(0.2)
        raise RuntimeError("loyalty serve did not become healthy within 60 s")

    def workers(self) -> set[int]:
        return child_pids(self.proc.pid)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time (user + system) used so far by the master and each worker."""
        used = {}
        for pid in [self.proc.pid, *self.workers()]:
            try:
                fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return used

    def stop(self, wait: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                for pid in self.workers():
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # answered wrongly: always a failure
    dropped: list[str] = field(default_factory=list)  # connection cut before an answer
    checkins_acked: int = 0
    acked_ids: set[int] = field(default_factory=set)
    checkins_dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    elapsed: float = 0.0
    late: int = 0
    slow: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds) > 100 ms


def build(i: int, owners: dict[int, str]) -> tuple[str, str]:
    kind = MIX[i % len(MIX)]
    numbers = sorted(owners)
    kr = numbers[i % len(numbers)]
    user = owners[kr]
    text_by_kind = {
        "checkin": ("/checkin", f"KR-{kr} {30 + i % 20} 7/10 bench {i}"),
        "list_all": ("/okr", "list all"),
        "list_me": ("/okr", "list me"),
        "list_dept": ("/okr", f"list Dept {i % 5}"),
        "show": ("/okr", f"show O-{kr}"),
        "dept_list": ("/okr", "dept list"),
        "help": ("/okr", "help"),
    }
    command, text_ = text_by_kind[kind]
    return kind, urlencode(
        {
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": "C0GENERAL",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text_,
            "api_app_id": "A0LOYALTY1",
            "response_url": f"{FAKE_URL}/response/bench{i}",
            "trigger_id": f"{i}.{i}.bench",
        }
    )


FAKE_URL = ""


def send(i: int, owners, port: int, results: Results, give_up_at: float) -> None:
    kind, body = build(i, owners)
    if time.perf_counter() > give_up_at:
        # Bounded in time: a server far behind the offered rate ends the run, as a failure.
        with results.lock:
            results.errors.append(f"#{i} {kind}: not sent, backlog past the time limit")
        return
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        resp = conn.getresponse()
        answer = resp.read().decode("utf-8", "replace")
        conn.close()
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
        if resp.status != 200:
            results.errors.append(f"#{i} {kind}: HTTP {resp.status}")
        elif answer:  # a slash command is acknowledged with an empty body
            results.errors.append(f"#{i} {kind}: answered {answer[:120]!r}")
        elif kind == "checkin":
            results.checkins_acked += 1
            results.acked_ids.add(i)


def run_load(owners, port: int, *, duration: float, on_half=None) -> Results:
    """Offer RATE requests a second for `duration` seconds. This process's cyclic garbage
    collector is paused meanwhile: its full collections (the fake Slack keeps every call it
    received) stalled every client thread at once for up to a quarter of a second, and that
    pause was timed as the server's latency."""
    gc.collect()
    gc.disable()
    try:
        return _offer_load(owners, port, duration=duration, on_half=on_half)
    finally:
        gc.enable()


def _offer_load(owners, port: int, *, duration: float, on_half=None) -> Results:
    results = Results()
    total = int(duration * RATE)
    pool = ThreadPoolExecutor(CLIENT_THREADS)
    start = time.perf_counter()
    give_up_at = start + duration * 3 + 30
    half_done = False
    for i in range(total):
        due = start + i / RATE
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        elif now - due > 0.5:
            results.late += 1
        if on_half and not half_done and i >= total // 2:
            half_done = True
            threading.Thread(target=on_half, daemon=True).start()
        pool.submit(send, i, owners, port, results, give_up_at)
    pool.shutdown(wait=True)
    results.elapsed = time.perf_counter() - start
    return results


class Killer:
    """Half-way: SIGKILL one worker, then watch for the server to replace it."""

    def __init__(self, server: Server):
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
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    try:
        while True:
            with engine.connect() as conn:
                n = conn.execute(select(func.count()).select_from(CheckIn.__table__)).scalar_one()
            now = time.monotonic()
            if n != last:
                last, last_change = n, now
            if n >= expected or now > deadline or now - last_change > settled:
                return n
            time.sleep(0.5)
    finally:
        engine.dispose()


def confirmed_checkins(fake: FakeSlack, acked_ids: set[int]) -> int:
    """Acknowledged check-ins whose author got the "Checked in" reply (sent after the write)."""
    names = {f"bench{i}" for i in acked_ids}
    return sum(
        1
        for call in fake.calls_to("response_url")
        if call.args.get("_name") in names and "Checked in" in call.args.get("text", "")
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(
    name: str, results: Results, stored: int, baseline: int, confirmed: int
) -> tuple[bool, dict]:
    new_rows = stored - baseline
    lat = results.latencies
    print(
        f"{name}: {len(lat)} answered in {results.elapsed:.1f}s "
        f"({len(lat) / results.elapsed:.0f}/s), errors {len(results.errors) + len(results.dropped)}"
        f" (dropped connections {len(results.dropped)}, wrong answers {len(results.errors)}), "
        f"generator late {results.late}"
    )
    print(f"  mix: {dict(results.kinds)}")
    print(
        f"  latency p50 {pct(lat, 0.5) * 1000:.1f} ms · p95 {pct(lat, 0.95) * 1000:.1f} ms · "
        f"p99 {pct(lat, 0.99) * 1000:.1f} ms · max {max(lat, default=0) * 1000:.1f} ms"
    )
    print(
        "  p95 by kind: "
        + ", ".join(f"{k} {pct(v, 0.95) * 1000:.1f}" for k, v in sorted(results.by_kind.items()))
        + " ms"
    )
    print(
        f"  check-ins acknowledged {results.checkins_acked}, confirmed to their author "
        f"{confirmed}, rows stored {new_rows}"
        + (f" (dropped check-ins {results.checkins_dropped})" if results.checkins_dropped else "")
    )
    for err in (results.errors + results.dropped)[:5]:
        print("  error:", err)
    ok = (
        not results.errors
        and new_rows >= results.checkins_acked
        # a dropped check-in may have been stored before its connection was cut
        and new_rows - results.checkins_acked <= results.checkins_dropped
        and pct(lat, 0.99) <= P99_BUDGET_S
    )
    if new_rows < results.checkins_acked:
        print(
            f"  LOST {results.checkins_acked - new_rows} acknowledged check-ins "
            f"({results.checkins_acked - confirmed} acknowledged but never confirmed)"
        )
    row = {
        "answered": len(lat),
        "errors": len(results.errors) + len(results.dropped),
        "p50": pct(lat, 0.5) * 1000,
        "p95": pct(lat, 0.95) * 1000,
        "p99": pct(lat, 0.99) * 1000,
        "acked": results.checkins_acked,
        "stored": new_rows,
        "confirmed": confirmed,
    }
    return ok, row


def count_checkins(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(CheckIn.__table__)).scalar_one()
    finally:
        engine.dispose()


def warm_up(owners, port: int, seconds: float = 2.0) -> None:
    """Unmeasured reads first, so a fresh server's first requests (connection pools, caches)
    count in neither server's figures; no check-ins, so the row counts stay exact."""
    results = Results()
    reads = [i for i in range(int(seconds * RATE)) if MIX[i % len(MIX)] != "checkin"]
    with ThreadPoolExecutor(8) as pool:
        for i in reads:
            pool.submit(send, i, owners, port, results, float("inf"))
            time.sleep(1 / RATE)


def steady_run(url: str, fake: FakeSlack, owners) -> tuple[bool, dict]:
    """Steady load: nothing may fail."""
    srv = Server(url, fake, SERVE_PROCESSES)
    try:
        warm_up(owners, srv.port)
        before = count_checkins(url)
        cpu_before = srv.cpu_seconds()
        results = run_load(owners, srv.port, duration=DURATION)
        cpu = sum(t - cpu_before.get(pid, 0.0) for pid, t in srv.cpu_seconds().items())
    finally:
        srv.stop()
    stored = stored_checkins(url, before + results.checkins_acked)
    confirmed = confirmed_checkins(fake, results.acked_ids)
    ok, row = report(f"{SERVE_PROCESSES} workers", results, stored, before, confirmed)
    # CPU per request barely depends on what else runs on the machine; latency does.
    row["cpu_ms"] = cpu * 1000 / max(1, len(results.latencies))
    print(f"  server CPU time {cpu:.1f}s, {row['cpu_ms']:.2f} ms per request")
    return ok and not results.dropped, row


def crash_run(url: str, fake: FakeSlack, owners) -> tuple[bool, dict]:
    """One worker killed with SIGKILL half-way: replaced; its in-flight requests dropped."""
    srv = Server(url, fake, SERVE_PROCESSES)
    killer = Killer(srv)
    try:
        warm_up(owners, srv.port)
        before = count_checkins(url)
        results = run_load(owners, srv.port, duration=DURATION, on_half=killer)
        alive_after = srv.workers()
    finally:
        srv.stop()
    stored = stored_checkins(url, before + results.checkins_acked)
    confirmed = confirmed_checkins(fake, results.acked_ids)
    ok, row = report(f"{SERVE_PROCESSES} workers, one killed", results, stored, before, confirmed)
    if killer.replaced_after is not None:
        print(
            f"  worker {killer.victim} killed with SIGKILL half-way; its replacement, worker "
            f"{killer.replacement}, started {killer.replaced_after:.2f}s later; "
            f"{len(alive_after)} workers at the end"
        )
    else:
        print(f"  worker {killer.victim} killed with SIGKILL half-way: NOT REPLACED within 30 s")
    if results.slow and killer.killed_perf is not None:
        sent = sorted(at - killer.killed_perf for at, _ in results.slow)
        print(
            f"  {len(sent)} requests over 100 ms, sent from {sent[0]:+.2f}s to {sent[-1]:+.2f}s "
            f"after the kill (slowest {max(e for _, e in results.slow) * 1000:.0f} ms)"
        )
    return ok and killer.replaced_after is not None, row


def main() -> bool:
    global FAKE_URL
    print(f"rate {RATE:.0f}/s for {DURATION:.0f}s per run, {SERVE_PROCESSES} workers, "
          f"PostgreSQL at {make_url(pg_base_url()).render_as_string(hide_password=True)}")  # fmt: skip
    fake = FakeSlack().start()
    FAKE_URL = fake.url
    for user in [*OWNERS, ADMIN]:
        fake.add_user(user, admin=user == ADMIN)
    ok = True
    table: list = []
    try:
        with ThrowawayDatabase() as url:
            owners = seed(url)
            for name, run in [("steady", steady_run), ("1 worker SIGKILLed", crash_run)]:
                run_ok, row = run(url, fake, owners)
                table.append((name, row))
                ok &= run_ok
                fake.reset()
    finally:
        fake.stop()
    print("\nrun                  answered  errors  p50 ms  p95 ms  p99 ms  "
          "CPU ms/req  check-ins acked/confirmed/stored")  # fmt: skip
    for run, row in table:
        cpu = f"{row['cpu_ms']:.2f}" if "cpu_ms" in row else "-"
        print(
            f"{run:<20} {row['answered']:>8}  {row['errors']:>6}  {row['p50']:>6.1f}  "
            f"{row['p95']:>6.1f}  {row['p99']:>6.1f}  {cpu:>10}  {row['acked']}/{row['confirmed']}/{row['stored']}"
        )
    return bool(ok)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
