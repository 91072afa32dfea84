"""`/okr tree` over graphs (trees are graphs): signed requests through App.dispatch on SQLite,
timed until the reply reaches the fake Slack, p95 < 200 ms each:

- a 60-objective diamond (a top, 29 layers of two each contributing to both of the layer
  above, a bottom: 2^29 paths);
- a chain of 2,000 links;

each as `/okr tree`, `/okr tree <quarter>`, `/okr tree O-<top>` and a Next/Previous page.
And rendering alone (every page of the tree) for random acyclic graphs of up to 200
objectives, as the property test draws them: p95 < 200 ms per render.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime

from bench.measure import p95
from bench.okr_bench import seed
from bench.seed import app_settings, migrated_sqlite, user_id
from bench.slack_requests import button_body, signed_request, slash_body
from slackapp.app import create_app, freeze_startup_heap
from slackapp.blocks.alignment_tree import page_count, tree_lines, tree_page
from storage.quarters import quarter_of
from storage.rollup import Node, QuarterTree
from tests.fakes.slack_api import FakeSlack
from tests.support.graphs import chain, diamond
from tests.support.slack_driver import command_reply

TEAM = "T0BENCH01"
BUDGET_MS = 200.0
RUNS = 40  # per form of the command, after WARMUP
WARMUP = 5


def command_body(fake: FakeSlack, user: str, text: str, i: int) -> str:
    return slash_body(team_id=TEAM, user=user, command="/okr", text=text,
                      response_url=fake.response_url(f"tree{i}"), i=i)  # fmt: skip


def page_body(fake: FakeSlack, user: str, value: str, i: int) -> str:
    return button_body(team_id=TEAM, user=user, action_id="okr_tree_next", value=value,
                       response_url=fake.response_url(f"page{i}"), i=i)  # fmt: skip


def timed(app, fake: FakeSlack, body: str) -> tuple[float, float, dict]:
    """(ack ms, until the reply ms, the reply). A command's reply comes in its acknowledgement
    (or, after the acknowledgement's deadline, through the response URL); a button's through
    the response URL."""
    fake.reset()
    start = time.perf_counter()
    resp = app.bolt.dispatch(signed_request(body))
    acked = time.perf_counter()
    reply = command_reply(resp)
    if reply is None:
        reply = fake.wait_for("response_url", timeout=30)[-1].args
    done = time.perf_counter()
    assert resp.status == 200
    return (acked - start) * 1000, (done - start) * 1000, reply


def within_limits(reply: dict) -> bool:
    blocks = reply.get("blocks") or []
    return 0 < len(blocks) <= 50 and all(
        len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section"
    )


def bench_workspace(tmp: str, fake: FakeSlack, name: str, build) -> bool:
    """One workspace holding one graph: every form of `/okr tree` timed through the app."""
    url, engine = migrated_sqlite(tmp, name)
    seed(engine, 1)  # the team, one department with its people and ten objectives
    top = build(engine)
    settings = app_settings(url, fake.api_url)
    app = create_app(settings, engine)
    freeze_startup_heap()
    who = user_id(1, 1)
    quarter = quarter_of(datetime.now(UTC).date())
    forms = {"/okr tree": "tree", f"/okr tree {quarter}": f"tree {quarter}",
             f"/okr tree O-{top}": f"tree O-{top}"}  # fmt: skip
    ok, i, all_full = True, 0, []
    for label, text in forms.items():
        full_ms, ack_ms = [], []
        for run in range(WARMUP + RUNS):
            i += 1
            ack, full, reply = timed(app, fake, command_body(fake, who, text, i))
            ok &= within_limits(reply)
            if run >= WARMUP:
                ack_ms.append(ack)
                full_ms.append(full)
        pages = int(str(reply["blocks"]).split("Page 1 of ")[1].split(" ")[0])
        print(f"  {label}: {pages} pages, until the reply p50 {statistics.median(full_ms):.1f} "
              f"ms, p95 {p95(full_ms):.1f} ms; ack p95 {p95(ack_ms):.1f} ms")  # fmt: skip
        all_full += full_ms
    # Paging: a random page of the quarter's tree, as its Next button asks for it.
    rng = random.Random(3)
    page_ms = []
    for run in range(WARMUP + RUNS):
        i += 1
        page = rng.randint(1, pages)
        _, full, reply = timed(app, fake, page_body(fake, who, f"O-{top}|{page}", i))
        ok &= within_limits(reply) and f"Page {page} of {pages}" in str(reply["blocks"])
        if run >= WARMUP:
            page_ms.append(full)
    print(f"  Next/Previous to a random page of O-{top}'s tree: p95 {p95(page_ms):.1f} ms")
    all_full += page_ms
    print(f"  {name}: p95 over every form {p95(all_full):.1f} ms (budget {BUDGET_MS:.0f} ms), "
          f"every page within Block Kit limits: {ok}")  # fmt: skip
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)
    app.deps.home_refresher.cancel_all(wait=30)
    engine.dispose()
    return ok and p95(all_full) < BUDGET_MS


def random_graph(rng: random.Random, size: int) -> QuarterTree:
    """As the property test draws them: each objective contributes to up to 6 earlier ones."""
    tree = QuarterTree(team_id=TEAM, quarter="2026-Q4", complete=True)
    for i in range(1, size + 1):
        department = None if rng.random() < 0.05 else rng.randint(1, 4)
        tree.nodes[i] = Node(i, i, f"Objective {i}", department, "U0OWNER01", "active",
                             rng.random(), 1)  # fmt: skip
        for parent in rng.sample(range(1, i), min(i - 1, rng.randint(0, 6))):
            weight = rng.choice([1.0, 2.0, 0.5])
            tree.nodes[i].parents.append((parent, weight))
            tree.nodes[parent].children.append((i, weight))
    return tree


def bench_render() -> bool:
    """Lines and every page of random 200-objective graphs, from a fresh tree each time (no
    progress memoised from an earlier render)."""
    rng = random.Random(17)
    names = {d: f"Department {d}" for d in range(1, 5)}
    now = datetime.now(UTC)
    render_ms, pages_total = [], 0
    for _ in range(60):
        tree = random_graph(rng, 200)
        start = time.perf_counter()
        lines = tree_lines(tree)
        pages = page_count(lines)
        for page in range(1, pages + 1):
            blocks = tree_page(lines, tree, names, title="t", page=page, scope_value="2026-Q4",
                               empty="", now=now)  # fmt: skip
            for block in blocks:
                block.to_dict()
        render_ms.append((time.perf_counter() - start) * 1000 / pages)
        pages_total += pages
    print(f"random 200-objective graphs (up to 6 parents each, {pages_total / 60:.0f} pages on "
          f"average): one page rendered p95 {p95(render_ms):.1f} ms (budget {BUDGET_MS:.0f} ms)")  # fmt: skip
    return p95(render_ms) < BUDGET_MS


def main() -> bool:
    fake = FakeSlack().start()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:

        def build_diamond(engine) -> int:
            rows = diamond(engine, 1, 29, team_id=TEAM, current=40.0)
            return rows[0][0][1]

        def build_chain(engine) -> int:
            return chain(engine, 1, 2000, team_id=TEAM, current=40.0)[0][1]

        print("60-objective diamond (2^29 paths, 118 links):")
        ok &= bench_workspace(tmp, fake, "diamond", build_diamond)
        print("chain of 2,000 links:")
        ok &= bench_workspace(tmp, fake, "chain", build_chain)
    fake.stop()
    ok &= bench_render()
    return ok


if __name__ == "__main__":
    main()
