"""Alignment budgets (issue 10), on SQLite with 500 departments, 5,000 objectives in a
four-level alignment tree, 20,000 key results and 200,000 check-ins:

- `/okr tree` for the quarter and App Home: p95 < 200 ms, every tree page within Block Kit
  limits, and a number of SQL statements that does not grow with the tree (printed for 500 and
  5,000 objectives);
- a signed `/checkin` ack: p95 within 2 ms of the okr_bench baseline (15.1 ms).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import insert, update

from bench.measure import p95, print_ratios, ratio_line
from bench.okr_bench import (
    OBJ_PER_DEPT,
    mark_home_viewers,
    seed,
    stop_home_refresher,
    time_checkins,
)
from bench.seed import app_settings, migrated_sqlite, user_id
from bench.servers import bare_bolt_app
from slackapp.app import create_app, freeze_startup_heap
from slackapp.home_refresher import build_home
from slackapp.listeners import alignment as alignment_listener
from storage.models import Objective, ObjectiveLink
from storage.quarters import quarter_of
from tests.fakes.slack_api import FakeSlack
from tests.support.sql_count import counted_statements

TEAM = "T0BENCH01"
# The /checkin ack p95 may grow by this much once the workspace is aligned: measured in the same
# run, on the same data, before and after the links are added.
CHECKIN_MARGIN_MS = 2.0


def align_tree(engine, objectives: int) -> dict[str, int]:
    """Four levels over objective ids 1..n: 1% company objectives (no department), 9% under
    them, 30% under those, the rest under those but the last 2% (not aligned yet); every tenth
    leaf also contributes to a second parent (weight 2)."""
    company = max(1, objectives // 100)
    level1 = company + objectives * 9 // 100
    level2 = level1 + objectives * 30 // 100
    unaligned_from = objectives - objectives * 2 // 100
    quarter = quarter_of(datetime.now(UTC).date())
    now = datetime.now(UTC)
    rng = random.Random(11)
    links = []

    def link(child: int, parent: int, weight: float = 1.0) -> None:
        links.append({"team_id": TEAM, "quarter": quarter, "child_id": child, "parent_id": parent,
                      "weight": weight, "created_by": "U0ADMIN01", "created_at": now})  # fmt: skip

    for oid in range(company + 1, level1 + 1):
        link(oid, rng.randint(1, company))
    for oid in range(level1 + 1, level2 + 1):
        link(oid, rng.randint(company + 1, level1))
    for oid in range(level2 + 1, unaligned_from + 1):
        parent = rng.randint(level1 + 1, level2)
        link(oid, parent)
        if oid % 10 == 0:
            other = rng.randint(level1 + 1, level2)
            if other != parent:
                link(oid, other, 2.0)
    with engine.begin() as conn:
        conn.execute(
            update(Objective.__table__)
            .where(Objective.__table__.c.id <= company)
            .values(department_id=None)
        )
        conn.execute(insert(ObjectiveLink.__table__), links)
    return {"company": company, "links": len(links), "unaligned": objectives - unaligned_from}


def tree_reply(deps, quarter: str, page: int, user: str) -> dict:
    captured: dict = {}
    alignment_listener.respond_tree(deps, captured.update, quarter, team_id=TEAM, page=page)
    return captured


def within_limits(blocks: list[dict]) -> bool:
    return len(blocks) <= 50 and all(
        len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section"
    )


def build(tmp: str, depts: int, fake: FakeSlack, *, aligned: bool = True):
    url, engine = migrated_sqlite(tmp, f"align{depts}")
    owned = seed(engine, depts)
    shape = align_tree(engine, depts * OBJ_PER_DEPT) if aligned else {}
    settings = app_settings(url, fake.api_url)
    return engine, owned, shape, settings


def statement_counts(engine, deps, quarter: str, who: str) -> tuple[int, int]:
    """For a member of the last department (its objectives are not company-wide)."""
    tree_reply(deps, quarter, 1, who)  # warm caches (users.info) outside the count
    build_home(deps, team_id=TEAM, user_id=who)
    with counted_statements(engine) as tree_sql:
        tree_reply(deps, quarter, 1, who)
    with counted_statements(engine) as home_sql:
        build_home(deps, team_id=TEAM, user_id=who)
    return len(tree_sql), len(home_sql)


def main() -> bool:
    fake = FakeSlack().start()
    quarter = quarter_of(datetime.now(UTC).date())
    counts = {}
    ok = True
    lines: list[str] = []  # printed after the ratios
    with tempfile.TemporaryDirectory() as tmp:
        # Small workspace: 50 departments, 500 objectives — only the statement counts.
        engine, owned, shape, settings = build(tmp, 50, fake)
        app = create_app(settings, engine)
        counts[500] = statement_counts(engine, app.deps, quarter, user_id(50, 1))
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)
        stop_home_refresher(app)
        engine.dispose()

        t0 = time.perf_counter()
        engine, owned, _, settings = build(tmp, 500, fake, aligned=False)
        app = create_app(settings, engine)
        freeze_startup_heap()  # as `loyalty serve` and `loyalty run` do before serving
        deps = app.deps
        rng = random.Random(5)
        mark_home_viewers(engine, sorted(owned), rng)
        bare = bare_bolt_app(api_url=fake.api_url, commands=("/checkin",))
        # The same workspace before any alignment: the figure alignment must not move.
        before_ms, _, before_bare_ms = time_checkins(app, bare, fake, owned, rng, runs=600)
        stop_home_refresher(app)
        shape = align_tree(engine, 500 * OBJ_PER_DEPT)
        print(
            f"seeded 500 departments, 5,000 objectives ({shape['company']} company-wide, "
            f"{shape['links']} alignment links over four levels, {shape['unaligned']} not aligned), "
            f"20,000 key results, 200,000 check-ins in {time.perf_counter() - t0:.1f}s "
            "(with a /checkin run before the links)"
        )
        counts[5000] = statement_counts(engine, deps, quarter, user_id(500, 1))
        lines.append(
            f"SQL statements, 500 vs 5,000 objectives: /okr tree {counts[500][0]} vs "
            f"{counts[5000][0]}, App Home {counts[500][1]} vs {counts[5000][1]}"
        )
        ok &= counts[500] == counts[5000]

        first = tree_reply(deps, quarter, 1, user_id(1, 1))
        pages = int(re.search(r"Page 1 of (\d+)", json.dumps(first["blocks"])).group(1))
        all_ok = all(within_limits(tree_reply(deps, quarter, p, user_id(1, 1))["blocks"])
                     for p in range(1, pages + 1))  # fmt: skip
        tree_ms = []
        for i in range(60):
            start = time.perf_counter()
            reply = tree_reply(deps, quarter, 1 if i % 2 else rng.randint(1, pages), user_id(1, 1))
            tree_ms.append((time.perf_counter() - start) * 1000)
            all_ok &= within_limits(reply["blocks"])
        lines.append(
            f"/okr tree {quarter} (5,000 objectives, {pages} pages): p50 "
            f"{statistics.median(tree_ms):.1f} ms, p95 {p95(tree_ms):.1f} ms (budget 200 ms), "
            f"every page within Block Kit limits: {all_ok}"
        )
        home_ms, home_ok = [], True
        for i in range(60):
            who = user_id(rng.randint(1, 500), i % 5)
            start = time.perf_counter()
            view = build_home(deps, team_id=TEAM, user_id=who).to_dict()
            home_ms.append((time.perf_counter() - start) * 1000)
            home_ok &= len(view["blocks"]) <= 100 and "Company objectives" in str(view)
        lines.append(
            f"App Home build (with company objectives): p95 {p95(home_ms):.1f} ms "
            f"(budget 200 ms), within 100 blocks: {home_ok}"
        )
        ack_ms, full_ms, bare_ms = time_checkins(app, bare, fake, owned, rng, runs=600)
        budget = p95(before_ms) + CHECKIN_MARGIN_MS
        lines.append(
            f"/checkin ack before alignment: p50 {statistics.median(before_ms):.1f} ms, p95 "
            f"{p95(before_ms):.1f} ms (bare Bolt ack p95 {p95(before_bare_ms):.1f} ms); a tenth "
            "of key-result owners on App Home"
        )
        lines.append(
            f"/checkin ack on the aligned workspace: p50 {statistics.median(ack_ms):.1f} ms, "
            f"p95 {p95(ack_ms):.1f} ms (budget {budget:.1f} ms: before + "
            f"{CHECKIN_MARGIN_MS:.0f}); bare Bolt ack p95 {p95(bare_ms):.1f} ms; until the reply "
            f"p95 {p95(full_ms):.1f} ms"
        )
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)
        stop_home_refresher(app)
        engine.dispose()
    fake.stop()
    print_ratios(
        ratio_line(p95(ack_ms) / p95(before_ms), "/checkin ack p95 on the aligned workspace "
                   "against the same workspace before its links were added"),
        ratio_line(p95(ack_ms) / p95(bare_ms), "/checkin ack p95 on the aligned workspace "
                   "against a bare Bolt app acking the same signed request"),
    )  # fmt: skip
    print("\n".join(lines))
    return (
        ok
        and all_ok
        and home_ok
        and p95(tree_ms) < 200
        and p95(home_ms) < 200
        and p95(ack_ms) <= budget
    )


if __name__ == "__main__":
    main()
