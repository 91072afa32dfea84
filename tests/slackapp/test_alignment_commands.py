"""`/okr align`, `/okr unalign`, `/okr tree` and rolled-up progress in `/okr show` and
`/okr list`, through signed requests against the fake Slack."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from storage.models import AuditLog, ObjectiveLink
from storage.objectives import KeyResultInput
from storage.quarters import next_quarter, quarter_of
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective

TEAM_B = "T0TEAMB02"


def links(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(ObjectiveLink)).one()


@pytest.fixture
def world(engine):
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    product = department(engine, "Product", heads=(BOB,), channel="C0PRODUCT1")
    company, _ = objective(
        engine, None, title="Loyal customers", owner=ADMIN,
        krs=[KeyResultInput(title="NPS", baseline=0, target=100)],
    )  # fmt: skip
    s_obj, s_krs = objective(engine, support, title="Callbacks within 48h")
    p_obj, p_krs = objective(
        engine, product, title="Fix top bugs", owner=BOB,
        krs=[KeyResultInput(title="bugs", baseline=0, target=10)],
    )  # fmt: skip
    return dict(company=company, s=s_obj, p=p_obj, s_kr=s_krs[0], p_kr=p_krs[0], support=support)


def reply_of(driver, slack, command, text, user):
    slack.reset()
    driver.command(command, text, user=user)
    return driver.last_reply_text()


def test_align_by_head_then_show_and_tree(driver, slack, engine, world):
    c, s_, p = world["company"], world["s"], world["p"]
    text = reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{c.number} weight 2", ALICE)
    assert f"O-{s_.number}* now contributes to *O-{c.number}" in text and "weight 2" in text
    reply_of(driver, slack, "/okr", f"align O-{p.number} to O-{c.number}", BOB)
    with Session(engine) as s:
        assert {(r.child_id, r.weight) for r in s.exec(select(ObjectiveLink))} == {
            (s_.id, 2.0),
            (p.id, 1.0),
        }
        actors = {
            a.actor_id for a in s.exec(select(AuditLog).where(AuditLog.action == "objective.align"))
        }
        assert actors == {ALICE, BOB}
    shown = reply_of(driver, slack, "/okr", f"show O-{s_.number}", CAROL)
    assert "Contributes to:" in shown and f"O-{c.number}" in shown
    shown = reply_of(driver, slack, "/okr", f"show O-{c.number}", CAROL)
    assert "Company-wide" in shown and "Contributions:" in shown and "weight 2" in shown
    tree = reply_of(driver, slack, "/okr", "tree", CAROL)
    assert tree.index("Company objectives") < tree.index(f"O-{c.number}*")
    assert tree.index(f"O-{c.number}*") < tree.index(f"↳ *O-{s_.number}*")
    assert "Support" in tree and "Product" in tree and "weight 2" in tree
    assert "Not aligned yet" not in tree  # everything is aligned


def test_checkin_three_levels_down_moves_every_ancestor(driver, slack, engine, world):
    c, s_, p = world["company"], world["s"], world["p"]
    ops = department(engine, "Ops", heads=(BOB,), channel="C0OPS00001")
    g, (g_kr,) = objective(
        engine, ops, title="Runbooks", owner=BOB,
        krs=[KeyResultInput(title="docs", baseline=0, target=100)],
    )  # fmt: skip
    reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{c.number}", ADMIN)
    reply_of(driver, slack, "/okr", f"align O-{g.number} to O-{s_.number}", ADMIN)
    assert "0%" in reply_of(driver, slack, "/okr", f"show O-{c.number}", CAROL)
    assert "Checked in" in reply_of(driver, slack, "/checkin", f"KR-{g_kr.number} 100 8/10", BOB)
    # Ops 100%; Support (own 0 + 1·1.0) / 2 = 50%; company (own 0 + 1·0.5) / 2 = 25%
    assert "100%" in reply_of(driver, slack, "/okr", f"show O-{g.number}", CAROL)
    assert "`█████░░░░░` 50%" in reply_of(driver, slack, "/okr", f"show O-{s_.number}", CAROL)
    shown = reply_of(driver, slack, "/okr", f"show O-{c.number}", CAROL)
    assert "`██░░░░░░░░` 25%" in shown  # round(2.5) == 2 cells
    listing = reply_of(driver, slack, "/okr", "list all", CAROL)
    assert "25%" in listing and "50%" in listing
    assert p.id  # Product stays unaligned
    tree = reply_of(driver, slack, "/okr", "tree", CAROL)
    assert tree.index("Not aligned yet") > tree.index(f"O-{g.number}*")
    assert tree.index(f"O-{p.number}*") > tree.index("Not aligned yet")


@pytest.mark.parametrize(
    "args, user, expect",
    [
        ("align O-{s} to O-{s}", "ALICE", "cannot contribute to itself"),
        ("align O-{s} to O-{c} weight 0", "ALICE", "greater than 0"),
        ("align O-{s} to O-{c} weight -1", "ALICE", "greater than 0"),
        ("align O-{s} to O-{c} weight abc", "ALICE", "is not a number"),
        ("align O-{s} to O-{c} weight 1e9", "ALICE", "is not a number"),
        ("align O-{s} to O-{c} weight 1000000000", "ALICE", "too large"),
        ("align O-{s} to O-{c}", "CAROL", "Only a head of Support"),  # a member
        ("align O-{s} to O-{c}", "BOB", "Only a head of Support"),  # another department's head
        ("align O-{c} to O-{s}", "ALICE", "Only a workspace admin"),  # company objective
        ("align O-{s} O-{c}", "ALICE", "Say which objective"),
        ("align O-{s} to O-999", "ALICE", "no objective `O-999`"),
        ("align O-{s} to banana", "ALICE", "not a objective reference"),
        ("unalign O-{s} from O-{c}", "ALICE", "does not contribute"),
        ("unalign O-{s}", "ALICE", "Say which link"),
        ("tree 2026-Q9", "CAROL", "not a quarter"),
        ("tree O-999", "CAROL", "no objective"),
    ],
)
def test_bad_alignment_input_quotes_it_and_writes_nothing(
    driver, slack, engine, world, args, user, expect
):
    users = {"ALICE": ALICE, "BOB": BOB, "CAROL": CAROL}
    text = args.format(s=world["s"].number, c=world["company"].number)
    reply = reply_of(driver, slack, "/okr", text, users[user])
    assert expect in reply, reply
    assert f"/okr {text}" in reply  # quotes the input
    assert "Usage" in reply and "/okr" in reply
    assert links(engine) == 0
    with Session(engine) as s:
        assert not s.exec(select(AuditLog).where(AuditLog.entity == "objective_link")).all()


def test_cycle_and_cross_quarter_refused_with_names(driver, slack, engine, world):
    c, s_, p = world["company"], world["s"], world["p"]
    reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{p.number}", ADMIN)
    reply_of(driver, slack, "/okr", f"align O-{p.number} to O-{c.number}", ADMIN)
    text = reply_of(driver, slack, "/okr", f"align O-{c.number} to O-{s_.number}", ADMIN)
    assert "cycle" in text
    assert f"O-{c.number} → O-{s_.number} → O-{p.number} → O-{c.number}" in text
    later, _ = objective(
        engine, world["support"], title="Later", quarter=next_quarter(quarter_of(s_.due_date))
    )
    text = reply_of(driver, slack, "/okr", f"align O-{later.number} to O-{c.number}", ADMIN)
    assert "own quarter" in text and f"O-{later.number}" in text and f"O-{c.number}" in text
    assert links(engine) == 2


def test_foreign_team_objective_is_not_found(driver, slack, engine, world):
    other = department(engine, "Support", team_id=TEAM_B, channel="C0BSUPP001")
    # Team B's objective numbers start at 1 like team A's: pick one that only B has.
    for _ in range(4):
        foreign, _ = objective(engine, other, team_id=TEAM_B)
    text = reply_of(
        driver, slack, "/okr", f"align O-{world['s'].number} to O-{foreign.number}", ADMIN
    )
    assert f"no objective `O-{foreign.number}`" in text
    assert links(engine) == 0


def test_unalign_by_head(driver, slack, engine, world):
    c, s_ = world["company"], world["s"]
    reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{c.number}", ALICE)
    text = reply_of(driver, slack, "/okr", f"unalign O-{s_.number} from O-{c.number}", ALICE)
    assert "no longer contributes" in text
    assert links(engine) == 0
    with Session(engine) as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "objective.unalign")).one()


def test_closed_parent_shown_on_child(driver, slack, engine, world):
    c, s_ = world["company"], world["s"]
    reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{c.number}", ALICE)
    assert "Closed" in reply_of(driver, slack, "/okr", f"close O-{c.number}", ADMIN)
    shown = reply_of(driver, slack, "/okr", f"show O-{s_.number}", ALICE)
    assert f"O-{c.number}" in shown and "closed" in shown


def test_tree_pages_stay_within_block_kit_limits(driver, slack, engine, world):
    c = world["company"]
    for i in range(45):
        obj, _ = objective(engine, world["support"], title=f"Objective {i} " + "x" * 150)
        reply_of(driver, slack, "/okr", f"align O-{obj.number} to O-{c.number}", ADMIN)
    slack.reset()
    driver.command("/okr", f"tree {quarter_of(c.due_date)}", user=CAROL)
    first = driver.replies()[-1]
    assert len(first["blocks"]) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in first["blocks"])
    buttons = [b for b in first["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [b["action_id"] for b in buttons] == ["okr_tree_next"]
    assert "Page 1 of 2" in json.dumps(first["blocks"])
    slack.reset()
    driver.block_action("okr_tree_next", buttons[0]["value"], user=CAROL)
    second = driver.replies()[-1]
    assert "Page 2 of 2" in json.dumps(second["blocks"]) and second.get("replace_original")
    assert "Not aligned yet" in json.dumps(second["blocks"])  # Product's objective, last
