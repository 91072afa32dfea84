"""Digest budgets (issue 4), on the foundation data set (bench/okr_bench.py: per department
10 objectives, 40 key results, 400 check-ins), every check-in with a note, every third key
result blocked and every other one commented on, and eight customer follow-ups per department
(open, overdue, contacted in time or late, recovered):

- building every department's digest and the leadership digest takes a number of SQL
  statements that does not grow with the number of departments (printed for 50 and 500), and
  under 5 s for 500 departments;
- posting three messages to each of 500 channels (1,500) against the fake Slack enforcing one
  message per second per channel (`FakeSlack.channel_rate = 1.0`, 429 + Retry-After otherwise),
  with every message sent exactly once, takes at most 1.5× what a bare `slack_sdk.WebClient`
  poster takes for the same messages on the same fake with the same pacing (one message per
  `PER_CHANNEL_INTERVAL` per channel, as many threads), timed in the same run; that ratio is
  printed first.
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy import insert, update

from bench import okr_bench
from bench.measure import print_ratios, ratio_line
from bench.seed import app_settings, migrated_sqlite
from jobs.posting import MAX_WORKERS, PER_CHANNEL_INTERVAL, Outgoing, Poster
from jobs.run_once import RunKey
from jobs.weekly_digest import plan_digest
from slackapp.web_client import make_web_client
from storage.models import CheckIn, Feedback, Followup, KpiValue, KrComment, Team
from tests.fakes.slack_api import FakeSlack
from tests.support.sql_count import counted_statements

BUILD_BUDGET_SECONDS = 5.0
# Customer voice per department: detractors this week in every state (contacted in time, late,
# open and overdue, open and not yet due), plus older ones still overdue and one recovered.
FOLLOWUPS_PER_DEPT = 8
MESSAGES_PER_CHANNEL = 3  # the pacing minimum is then 2 s per channel
POSTING_RATIO_GOAL = 1.5  # product posting time against the bare poster's


def seeded(tmp: str, departments: int):
    _, engine = migrated_sqlite(tmp, f"digest{departments}")
    okr_bench.seed(engine, departments)  # the foundation seeder, at this size
    today = datetime.now(UTC).date()
    with engine.begin() as conn:
        conn.execute(
            update(Team.__table__)
            .where(Team.team_id == okr_bench.TEAM)
            .values(leadership_channel="C0LEADERS1")
        )
        conn.execute(
            insert(KpiValue.__table__),
            [
                {
                    "team_id": okr_bench.TEAM,
                    "kpi_name": name,
                    "scope": scope,
                    "department_id": scope or None,
                    "day": today - timedelta(weeks=w),
                    "value": 40.0 + w + scope % 7,
                    "source": "sheet",
                    "synced_at": datetime.now(UTC),
                }
                for name in ("nps", "churn_rate", "csat")
                for scope in range(0, departments + 1)
                for w in range(8)
            ],
        )
        # What heads act on: notes, open blockers (every third key result's check-ins carry
        # one, so its latest does) and comments. The build must not read more per department.
        checkin = CheckIn.__table__
        conn.execute(
            update(checkin).values(note="Called last week's detractors; two promised to return")
        )
        conn.execute(
            update(checkin)
            .where(checkin.c.key_result_id % 3 == 0)
            .values(blocker="Waiting on Product to fix the loyalty points bug")
        )
        krs = departments * okr_bench.OBJ_PER_DEPT * okr_bench.KR_PER_OBJ
        conn.execute(
            insert(KrComment.__table__),
            [
                {
                    "team_id": okr_bench.TEAM,
                    "key_result_id": kr_id,
                    "author_id": "U0HEAD0001",
                    "text": "Can we pair on this with Support on Monday?",
                    "created_at": datetime.now(UTC),
                }
                for kr_id in range(1, krs + 1, 2)
            ],
        )
        seed_customer_voice(conn, departments)
    return engine


def seed_customer_voice(conn, departments: int) -> None:
    now = datetime.now(UTC)
    feedback, followups = [], []
    for dept in range(1, departments + 1):
        for i in range(FOLLOWUPS_PER_DEPT):
            n = (dept - 1) * FOLLOWUPS_PER_DEPT + i + 1
            received = now - timedelta(hours=(2, 20, 40, 60, 90, 130, 24 * 12, 24 * 30)[i])
            due = received + timedelta(hours=48)
            contact = received + timedelta(hours=(5, 70)[i % 2]) if i in (0, 3, 6, 7) else None
            contact = contact if contact is None or contact < now else None
            feedback.append({
                "id": n, "team_id": okr_bench.TEAM, "source": "webhook", "source_id": f"fb-{n}",
                "received_at": received, "customer": f"Customer {n} <@U0NOPING1>",
                "customer_key": f"customer {n}", "score": i % 7,
                "comment": "The points never arrived and nobody answered my emails " * 3,
                "department_id": dept, "created_by": "bench", "created_at": now,
            })  # fmt: skip
            followups.append({
                "team_id": okr_bench.TEAM, "number": n, "feedback_id": n, "department_id": dept,
                "score": i % 7, "received_at": received, "due_at": due,
                "status": "closed" if contact else "open", "first_contact_at": contact,
                "closed_at": contact, "outcome": "contacted" if contact else None,
                "recovered_at": now - timedelta(days=1) if i == 7 else None, "created_at": now,
            })  # fmt: skip
    conn.execute(insert(Feedback.__table__), feedback)
    conn.execute(insert(Followup.__table__), followups)


def build(engine):
    with counted_statements(engine) as statements:
        started = time.perf_counter()
        plan = plan_digest(
            engine, team_id=okr_bench.TEAM, now=datetime.now(UTC), period="bench-W01"
        )
        seconds = time.perf_counter() - started
    return plan, len(statements), seconds


def product_posting(engine, fake: FakeSlack, messages: list[Outgoing]) -> tuple[float, dict]:
    """The product's Poster (run records claimed and finished in `engine`): (seconds, facts)."""
    settings = app_settings(str(engine.url), fake.api_url)
    poster = Poster(make_web_client(settings), engine=engine)
    report = poster.post_all(messages)
    posted = fake.calls_to("chat.postMessage")
    distinct = {(c["channel"], c["text"], len(c.get("blocks") or [])) for c in posted}
    return report.elapsed, {
        "posted": len(posted), "distinct": len(distinct), "rate_limited": report.rate_limited,
        "failed": len(report.failed), "interval": poster.interval,
    }  # fmt: skip


def bare_posting(fake: FakeSlack, messages: list[Outgoing]) -> tuple[float, dict]:
    """The same messages through a plain `slack_sdk.WebClient`, with the Poster's pacing (one
    message per PER_CHANNEL_INTERVAL per channel, MAX_WORKERS threads, messages taken in the
    same order) and slack_sdk's own 429 handling (wait Retry-After, send again)."""
    client = WebClient(
        token="xoxb-bench", base_url=fake.api_url,
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=10)],
    )  # fmt: skip
    last_sent: dict[str, float] = {}
    lock = threading.Lock()

    def post(msg: Outgoing) -> None:
        with lock:
            last = last_sent.get(msg.channel)
        if last is not None and (wait := last + PER_CHANNEL_INTERVAL - time.monotonic()) > 0:
            time.sleep(wait)
        client.chat_postMessage(
            channel=msg.channel, text=msg.text, blocks=msg.blocks, unfurl_links=False
        )
        with lock:  # paced from the answer: the next post cannot reach Slack too early
            last_sent[msg.channel] = time.monotonic()

    started = time.monotonic()
    with ThreadPoolExecutor(MAX_WORKERS) as pool:
        list(pool.map(post, messages))
    elapsed = time.monotonic() - started
    posted = fake.calls_to("chat.postMessage")
    refused = [c for c in fake.calls if c.method == "chat.postMessage" and c.status == 429]
    return elapsed, {"posted": len(posted), "rate_limited": len(refused)}


def posting_messages(plan) -> list[Outgoing]:
    """MESSAGES_PER_CHANNEL copies of every department channel's digest, round by round."""
    leadership = "C0LEADERS1"
    channel_digests = [
        m
        for m in plan.messages
        if m.send is None and m.channel.startswith("C") and m.channel != leadership
    ]
    return [
        Outgoing(
            channel=m.channel,
            text=m.text,
            blocks=m.blocks,
            key=RunKey(okr_bench.TEAM, "bench", f"{m.channel}:{i}", "bench-W01"),
        )
        for i in range(MESSAGES_PER_CHANNEL)
        for m in channel_digests
    ]


def compare_posting(engine, plan) -> tuple[bool, list[str], float]:
    """Product and bare poster on the same messages and the same rate-limited fake Slack:
    (every message sent once, the lines to print, product time / bare time)."""
    messages = posting_messages(plan)
    channels = len({m.channel for m in messages})
    fake = FakeSlack().start()
    fake.channel_rate = 1.0
    try:
        product_s, product = product_posting(engine, fake, messages)
        fake.reset()
        time.sleep(fake.channel_rate + 0.1)  # the channels' last posts leave the fake's window
        bare_s, bare = bare_posting(fake, messages)
    finally:
        fake.stop()
    minimum = (MESSAGES_PER_CHANNEL - 1) * product["interval"]
    lines = [
        f"  product Poster: {product['posted']} messages to {channels} channels "
        f"({MESSAGES_PER_CHANNEL} each) in {product_s:.2f}s "
        f"({product_s / minimum:.1f}× the rate-limit minimum {minimum:.1f}s; "
        f"{product_s * 1000 / len(messages):.2f} ms/message); "
        f"429s {product['rate_limited']}, failed {product['failed']}",
        f"  bare slack_sdk poster: {bare['posted']} messages in {bare_s:.2f}s "
        f"({bare_s * 1000 / len(messages):.2f} ms/message); 429s {bare['rate_limited']}",
    ]
    ok = product["posted"] == len(messages) and not product["failed"]
    ok &= product["distinct"] == channels  # same digest per channel, each part once per run
    ok &= bare["posted"] == len(messages)
    return ok, lines, product_s / bare_s


def main() -> bool:
    ok = True
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        counts = {}
        for departments in (50, 500):
            engine = seeded(tmp, departments)
            plan, statements, seconds = build(engine)
            counts[departments] = statements
            voiced = sum(
                1 for m in plan.messages if m.blocks and "Overdue follow-ups" in str(m.blocks)
            )
            ok &= voiced >= departments  # every head's copy lists its overdue follow-ups
            lines.append(
                f"digests for {departments} departments (with notes, blockers, comments, "
                f"{FOLLOWUPS_PER_DEPT} customer follow-ups each): "
                f"{len(plan.messages)} messages built "
                f"with {statements} SQL statements in {seconds:.2f}s "
                f"({seconds * 1000 / departments:.2f} ms/department)"
            )
            if departments == 500:
                ok &= seconds < BUILD_BUDGET_SECONDS
                big_plan, big_engine = plan, engine
            else:
                engine.dispose()
        constant = counts[50] == counts[500]
        lines.append(
            f"SQL statements, 50 vs 500 departments: {counts[50]} vs {counts[500]} "
            f"({'constant' if constant else 'GROWS'}); build budget {BUILD_BUDGET_SECONDS:.0f}s"
        )
        ok &= constant
        try:
            posted_ok, posting_lines, ratio = compare_posting(big_engine, big_plan)
        finally:
            big_engine.dispose()
    print_ratios(
        ratio_line(ratio, "posting the digests, product Poster against a bare slack_sdk poster "
                   "(same messages, same fake Slack, same pacing)", POSTING_RATIO_GOAL)
    )  # fmt: skip
    print("\n".join(posting_lines + lines))
    return ok and posted_ok and ratio <= POSTING_RATIO_GOAL


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
