"""The survey webhook under load: `POST /hooks/feedback` at 100 requests a second for 30 s
against a real `loyalty serve` (gunicorn) on a throwaway PostgreSQL database, with the fake
Slack answering the heads' DMs.

Budget: p95 latency under 50 ms, no request failed, nothing lost — every answer acknowledged
with a 200 is in the database once (one request in ten re-sends an id already sent: stored
once), and every detractor's heads were told. The heads' DMs are sent after the response, so
they never count in the latency.

Environment as bench/load_bench.py: LOYALTY_BENCH_POSTGRES_URL, LOYALTY_BENCH_DURATION
(default 30 here), LOYALTY_BENCH_WEBHOOK_RATE (default 100).
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, func, select

from bench.load_bench import ThrowawayDatabase
from bench.measure import percentile
from bench.servers import product_server
from storage.db import make_engine, session_scope, upgrade
from storage.departments import create_department
from storage.models import Feedback, Followup
from tests.fakes.slack_api import FakeSlack

TOKEN = "bench-feedback-token-0123456789"
RATE = float(os.environ.get("LOYALTY_BENCH_WEBHOOK_RATE", "100"))
DURATION = float(os.environ.get("LOYALTY_BENCH_DURATION", "30"))
P95_BUDGET_S = 0.050
TEAM = "T0TEAMA01"
DEPARTMENTS = ["Support", "Logistics", "Billing", "Stores", "Product"]
HEADS = [f"U0HEAD{n:03d}" for n in range(len(DEPARTMENTS))]


def seed(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        for name, head in zip(DEPARTMENTS, HEADS, strict=True):
            create_department(s, team_id=TEAM, actor_id="U0ADMIN01", is_admin=True, name=name,
                              channel_id=None, head_ids=[head])  # fmt: skip
    engine.dispose()


def body(i: int) -> dict:
    n = i - 7 if i % 10 == 9 and i > 7 else i  # one in ten re-sends an earlier id
    return {"id": f"resp-{n}", "customer": f"customer{n % 3000}@example.com",
            "score": n % 11, "comment": f"answer {n} about the parcel",
            "department": DEPARTMENTS[n % len(DEPARTMENTS)]}  # fmt: skip


def main() -> bool:
    fake = FakeSlack().start()
    for head in HEADS:
        fake.add_user(head, name=head)
    os.environ["LOYALTY_FEEDBACK_TOKEN"] = TOKEN
    latencies: list[float] = []
    errors: list[str] = []
    acked: set[str] = set()
    lock = threading.Lock()
    try:
        with ThrowawayDatabase() as url:
            seed(url)
            server = product_server(url, fake, max(2, os.cpu_count() or 1), admins="U0ADMIN01")
            try:

                def send(i: int) -> None:
                    payload = body(i)
                    data = json.dumps(payload).encode()
                    started = time.perf_counter()
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                        conn.request("POST", "/hooks/feedback", body=data, headers={
                            "Content-Type": "application/json",
                            "Authorization": f"Bearer {TOKEN}"})  # fmt: skip
                        resp = conn.getresponse()
                        resp.read()
                        conn.close()
                    except (OSError, http.client.HTTPException) as exc:
                        with lock:
                            errors.append(f"#{i}: {type(exc).__name__}")
                        return
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        if resp.status == 200:
                            acked.add(payload["id"])
                        else:
                            errors.append(f"#{i}: HTTP {resp.status}")

                cpu_before = sum(server.cpu_seconds().values())
                total = int(RATE * DURATION)
                pool = ThreadPoolExecutor(32)
                gc.collect()
                gc.disable()
                start = time.perf_counter()
                for i in range(total):
                    due = start + i / RATE
                    now = time.perf_counter()
                    if due > now:
                        time.sleep(due - now)
                    pool.submit(send, i)
                pool.shutdown(wait=True)
                gc.enable()
                elapsed = time.perf_counter() - start
                time.sleep(3)  # the DMs after the responses
                cpu_ms = (sum(server.cpu_seconds().values()) - cpu_before) * 1000 / max(1, total)
                engine = create_engine(url)
                with engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(Feedback)).scalar_one()
                    followups = conn.execute(
                        select(func.count()).select_from(Followup)
                    ).scalar_one()
                    unannounced = conn.execute(
                        select(func.count()).select_from(Followup)
                        .where(Followup.heads_notified_at.is_(None))
                    ).scalar_one()  # fmt: skip
                engine.dispose()
            finally:
                server.stop()
    finally:
        fake.stop()
        os.environ.pop("LOYALTY_FEEDBACK_TOKEN", None)
    p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    dms = len(fake.calls_to("chat.postMessage"))
    ok = not errors and p95 < P95_BUDGET_S and stored == len(acked) and unannounced == 0
    print(
        f"Webhook: {len(latencies)} requests in {elapsed:.1f}s ({RATE:.0f}/s offered) · "
        f"p50 {p50 * 1000:.1f} ms · p95 {p95 * 1000:.1f} ms (budget {P95_BUDGET_S * 1000:.0f}) · "
        f"p99 {p99 * 1000:.1f} ms · server CPU {cpu_ms:.1f} ms/request (DMs included) · "
        f"{len(errors)} failed · {len(acked)} distinct answers acked, "
        f"{stored} stored · {followups} follow-ups, {dms} DMs to heads, {unannounced} untold "
        f"{'ok' if ok else 'OVER BUDGET'}"
    )
    for line in errors[:5]:
        print("  " + line)
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
