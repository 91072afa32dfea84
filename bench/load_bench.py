"""`loyalty serve` under load: 200 signed requests per second of mixed commands on loopback.

Two runs against a throwaway PostgreSQL database, with real `loyalty serve` subprocesses and the
fake Slack Web API (tests/fakes) answering response_url posts and API calls:

1. one `loyalty serve --workers N` (N = cores, LOYALTY_BENCH_SERVE_WORKERS), 200 req/s for
   LOYALTY_BENCH_DURATION seconds (default 60);
2. two workers behind the load generator's round-robin, one of them stopped half-way
   (SIGTERM by default — an orchestrator's stop; LOYALTY_BENCH_KILL_SIGNAL=KILL for a crash):
   the other keeps serving, requests the stopped one refused are retried on the survivor, the
   way a load balancer fails over.

Each run checks: no request ends in an error, every check-in acknowledged with a 200 is in the
database afterwards (rows are counted), and prints p50/p95/p99 latency per request as measured
on loopback (the server's answer time; Slack's limit is 3 s).

Environment: LOYALTY_BENCH_POSTGRES_URL (else LOYALTY_TEST_POSTGRES_URL, else
postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names a server where a database can be
created; LOYALTY_BENCH_DURATION shortens the runs for a quick check; LOYALTY_BENCH_RATE changes
the rate (default 200).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
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
from tests.support.slack_driver import SIGNING_SECRET, sign  # noqa: E402

TEAM = "T0TEAMA01"
ADMIN = "U0ADMIN01"
OWNERS = [f"U0BENCH{n:03d}" for n in range(40)]
RATE = float(os.environ.get("LOYALTY_BENCH_RATE", "200"))
DURATION = float(os.environ.get("LOYALTY_BENCH_DURATION", "60"))
KILL_SIGNAL = {"TERM": signal.SIGTERM, "KILL": signal.SIGKILL}[
    os.environ.get("LOYALTY_BENCH_KILL_SIGNAL", "TERM").upper()
]
CLIENT_THREADS = 64
# `loyalty serve --workers N` for the steady run: one process per core (Python serves one
# request at a time per process).
SERVE_PROCESSES = int(os.environ.get("LOYALTY_BENCH_SERVE_WORKERS", str(os.cpu_count() or 1)))
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Worker:
    def __init__(self, url: str, fake: FakeSlack, processes: int = 1):
        self.port = free_port()
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
            Path(os.environ.get("TMPDIR", "/tmp")) / f"loyalty_bench_worker_{self.port}.log", "w"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loyalty", "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", str(processes)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited at start; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("worker did not become healthy within 60 s")

    def stop(self, sig=signal.SIGTERM, wait: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    failovers: int = 0
    checkins_acked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


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


class Balancer:
    """Round-robin over worker ports; a port that refuses connections is taken out."""

    def __init__(self, ports: list[int]):
        self.ports = list(ports)
        self.lock = threading.Lock()
        self.n = 0

    def pick(self, exclude: set[int]) -> int | None:
        with self.lock:
            alive = [p for p in self.ports if p not in exclude]
            if not alive:
                return None
            self.n += 1
            return alive[self.n % len(alive)]

    def remove(self, port: int) -> None:
        with self.lock:
            if port in self.ports and len(self.ports) > 1:
                self.ports.remove(port)


def send(i: int, owners, balancer: Balancer, results: Results, give_up_at: float) -> None:
    kind, body = build(i, owners)
    if time.perf_counter() > give_up_at:
        # Bounded in time: a server far behind the offered rate ends the run, as a failure.
        with results.lock:
            results.errors.append(f"#{i} {kind}: not sent, backlog past the time limit")
        return
    tried: set[int] = set()
    while True:
        port = balancer.pick(tried)
        if port is None:
            with results.lock:
                results.errors.append(f"#{i} {kind}: no worker left")
            return
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
            conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
            resp = conn.getresponse()
            answer = resp.read().decode("utf-8", "replace")
            conn.close()
        except (ConnectionError, http.client.RemoteDisconnected, OSError):
            # Refused or dropped before an answer: nothing was acknowledged; try the next worker.
            balancer.remove(port)
            tried.add(port)
            with results.lock:
                results.failovers += 1
            continue
        elapsed = time.perf_counter() - started
        with results.lock:
            results.latencies.append(elapsed)
            results.kinds[kind] += 1
            if resp.status != 200:
                results.errors.append(f"#{i} {kind}: HTTP {resp.status}")
            elif answer:  # a slash command is acknowledged with an empty body
                results.errors.append(f"#{i} {kind}: answered {answer[:120]!r}")
            elif kind == "checkin":
                results.checkins_acked += 1
        return


def run_load(owners, ports: list[int], *, duration: float, on_half=None) -> Results:
    results = Results()
    balancer = Balancer(ports)
    total = int(duration * RATE)
    pool = ThreadPoolExecutor(CLIENT_THREADS)
    start = time.perf_counter()
    give_up_at = start + duration * 3 + 30
    half_done = False
    late = 0
    for i in range(total):
        due = start + i / RATE
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        elif now - due > 0.5:
            late += 1
        if on_half and not half_done and i >= total // 2:
            half_done = True
            threading.Thread(target=on_half, daemon=True).start()
        pool.submit(send, i, owners, balancer, results, give_up_at)
    pool.shutdown(wait=True)
    results.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
    results.late = late  # type: ignore[attr-defined]
    return results


def stored_checkins(url: str, expected: int, timeout: float = 60) -> int:
    """Check-ins are written right after the ack; wait for stragglers, then count."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                n = conn.execute(select(func.count()).select_from(CheckIn.__table__)).scalar_one()
            if n >= expected or time.monotonic() > deadline:
                return n
            time.sleep(0.5)
    finally:
        engine.dispose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(name: str, results: Results, stored: int, baseline: int) -> bool:
    new_rows = stored - baseline
    lat = results.latencies
    print(
        f"{name}: {len(lat)} answered in {results.elapsed:.1f}s "  # type: ignore[attr-defined]
        f"({len(lat) / results.elapsed:.0f}/s), errors {len(results.errors)}, "  # type: ignore[attr-defined]
        f"failovers {results.failovers}, generator late {results.late}"  # type: ignore[attr-defined]
    )
    print(f"  mix: {dict(results.kinds)}")
    print(
        f"  latency p50 {pct(lat, 0.5) * 1000:.1f} ms · p95 {pct(lat, 0.95) * 1000:.1f} ms · "
        f"p99 {pct(lat, 0.99) * 1000:.1f} ms · max {max(lat, default=0) * 1000:.1f} ms"
    )
    print(f"  check-ins acknowledged {results.checkins_acked}, rows stored {new_rows}")
    for err in results.errors[:5]:
        print("  error:", err)
    ok = (
        not results.errors
        and new_rows >= results.checkins_acked
        and new_rows - results.checkins_acked <= results.failovers  # only retried ones may repeat
        and pct(lat, 0.99) <= P99_BUDGET_S
    )
    if new_rows < results.checkins_acked:
        print(f"  LOST {results.checkins_acked - new_rows} acknowledged check-ins")
    return ok


def main() -> bool:
    global FAKE_URL
    print(f"rate {RATE:.0f}/s for {DURATION:.0f}s per run, PostgreSQL at "
          f"{make_url(pg_base_url()).render_as_string(hide_password=True)}")  # fmt: skip
    fake = FakeSlack().start()
    FAKE_URL = fake.url
    for user in [*OWNERS, ADMIN]:
        fake.add_user(user, admin=user == ADMIN)
    ok = True
    try:
        with ThrowawayDatabase() as url:
            owners = seed(url)
            # 1. One `loyalty serve`, steady load, with a worker process per core.
            worker = Worker(url, fake, processes=SERVE_PROCESSES)
            try:
                results = run_load(owners, [worker.port], duration=DURATION)
            finally:
                worker.stop()
            stored = stored_checkins(url, results.checkins_acked)
            ok &= report(f"one loyalty serve ({SERVE_PROCESSES} processes)", results, stored, 0)
            fake.reset()
            # 2. Two workers, one stopped half-way.
            workers = [Worker(url, fake), Worker(url, fake)]
            victim = workers[0]
            try:
                results = run_load(
                    owners,
                    [w.port for w in workers],
                    duration=DURATION,
                    on_half=lambda: victim.stop(KILL_SIGNAL),
                )
            finally:
                for w in workers:
                    w.stop()
            stored2 = stored_checkins(url, stored + results.checkins_acked)
            print(f"  (worker on port {victim.port} stopped with {KILL_SIGNAL.name} half-way)")
            ok &= report("two workers, one stopped", results, stored2, stored)
    finally:
        fake.stop()
    return bool(ok)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
