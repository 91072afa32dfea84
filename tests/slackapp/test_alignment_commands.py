"""`/okr align`, `/okr unalign`, `/okr tree` and rolled-up progress in `/okr show` and
`/okr list`, through signed requests against the fake Slack."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from storage.models import AuditLog, Objective, ObjectiveLink
from storage.objectives import KeyResultInput
from storage.quarters import next_quarter, quarter_of
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state

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


# ---- "Company-wide" and "Contributes to" in the /okr new and /okr edit modals -------------------


def contributes(*ids) -> dict:
    return {
        "contributes_to": {
            "value": {
                "type": "multi_static_select",
                "selected_options": [{"value": str(i)} for i in ids],
            }
        }
    }


def new_values(department_value, quarter, *parent_ids, title="Win back detractors"):
    values = state(
        department=("option", department_value), title=title, quarter=("option", quarter),
        owner=("user", ADMIN), kr0_title="NPS", kr0_baseline="30", kr0_target="40",
    )  # fmt: skip
    values.update(contributes(*parent_ids))
    return values


def objective_count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Objective)).one()


def test_new_modal_offers_company_first_to_admins_only(driver, slack, engine, world):
    driver.command("/okr", "new", user=ADMIN)
    blocks = {b.get("block_id"): b for b in slack.wait_for("views.open")[0]["view"]["blocks"]}
    options = blocks["department"]["element"]["options"]
    assert (options[0]["value"], options[0]["text"]["text"]) == ("company", "Company-wide")
    parents = [o["value"] for o in blocks["contributes_to"]["element"]["options"]]
    assert parents[0] == str(world["company"].id)  # company objectives first
    assert set(parents) == {str(world[k].id) for k in ("company", "s", "p")}
    slack.reset()
    driver.command("/okr", "new", user=ALICE)  # a head, not an admin
    blocks = {b.get("block_id"): b for b in slack.wait_for("views.open")[0]["view"]["blocks"]}
    assert [o["value"] for o in blocks["department"]["element"]["options"]] == [
        str(world["support"].id)
    ]


def test_new_company_objective_and_contributing_objective_by_modal(driver, slack, engine, world):
    quarter = world["s"].quarter
    resp = driver.view_submission("okr_new_objective", new_values("company", quarter), user=ADMIN)
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        company = s.exec(select(Objective).order_by(Objective.id.desc())).first()
        assert company.department_id is None and company.title == "Win back detractors"
    values = new_values(str(world["support"].id), quarter, company.id, world["company"].id,
                        title="Call detractors")  # fmt: skip
    resp = driver.view_submission("okr_new_objective", values, user=ALICE)
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        child = s.exec(select(Objective).order_by(Objective.id.desc())).first()
        assert {r.parent_id for r in s.exec(select(ObjectiveLink))} == {
            company.id,
            world["company"].id,
        }
        assert all(r.child_id == child.id for r in s.exec(select(ObjectiveLink)))


def test_company_choice_forged_by_a_head_is_refused(driver, engine, world):
    before = objective_count(engine)
    body = driver.view_submission(
        "okr_new_objective", new_values("company", world["s"].quarter), user=ALICE
    ).body
    assert "admin" in json.loads(body)["errors"]["department"]
    assert objective_count(engine) == before


def test_forged_foreign_parent_in_new_modal_writes_nothing(driver, engine, world):
    other = department(engine, "Support", team_id=TEAM_B, channel="C0BSUPP001")
    foreign, _ = objective(engine, other, team_id=TEAM_B)
    before = objective_count(engine)
    values = new_values(str(world["support"].id), world["s"].quarter, foreign.id)
    body = json.loads(driver.view_submission("okr_new_objective", values, user=ALICE).body)
    assert "not in this workspace" in body["errors"]["contributes_to"]
    values = new_values(str(world["support"].id), world["s"].quarter, "x'; drop")
    body = json.loads(driver.view_submission("okr_new_objective", values, user=ALICE).body)
    assert "not in this workspace" in body["errors"]["contributes_to"]
    assert objective_count(engine) == before and links(engine) == 0


def test_new_modal_parent_in_another_quarter_is_a_field_error(driver, engine, world):
    later = next_quarter(world["s"].quarter)
    values = new_values(str(world["support"].id), later, world["company"].id)
    body = json.loads(driver.view_submission("okr_new_objective", values, user=ALICE).body)
    assert "own quarter" in body["errors"]["contributes_to"]
    assert links(engine) == 0


def edit_values(obj, kr_number, *parent_ids) -> dict:
    values = state(
        title=obj.title, description="", owner=("user", ALICE),
        due_date=("date", obj.due_date.isoformat()), kr0_title="NPS", kr0_unit="pts",
        kr0_target="50", kr0_owner=("user", ALICE),
    )  # fmt: skip
    values.update(contributes(*parent_ids))
    return values


def test_edit_modal_shows_and_replaces_parents(driver, slack, engine, world):
    c, s_, p = world["company"], world["s"], world["p"]
    reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{c.number} weight 2", ALICE)
    slack.reset()
    driver.command("/okr", f"edit O-{s_.number}", user=ALICE)
    view = slack.wait_for("views.open")[0]["view"]
    block = next(b for b in view["blocks"] if b.get("block_id") == "contributes_to")
    assert [o["value"] for o in block["element"]["initial_options"]] == [str(c.id)]
    assert str(s_.id) not in [o["value"] for o in block["element"]["options"]]  # not itself
    meta = view["private_metadata"]
    resp = driver.view_submission("okr_edit_objective", edit_values(s_, world["s_kr"].number,
                                  c.id, p.id), user=ALICE, private_metadata=meta)  # fmt: skip
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        assert {(r.parent_id, r.weight) for r in s.exec(select(ObjectiveLink))} == {
            (c.id, 2.0),  # kept with its weight
            (p.id, 1.0),
        }
    # A forged submission naming itself as parent: refused, links unchanged.
    body = driver.view_submission("okr_edit_objective", edit_values(s_, 1, s_.id), user=ALICE,
                                  private_metadata=meta).body  # fmt: skip
    assert "itself" in json.loads(body)["errors"]["contributes_to"]
    assert links(engine) == 2


def test_app_home_shows_company_objectives_with_department_progress(driver, slack, engine, world):
    c, s_, p = world["company"], world["s"], world["p"]
    reply_of(driver, slack, "/okr", f"align O-{s_.number} to O-{c.number}", ADMIN)
    reply_of(driver, slack, "/okr", f"align O-{p.number} to O-{c.number}", ADMIN)
    reply_of(driver, slack, "/checkin", f"KR-{world['p_kr'].number} 5 7/10", BOB)  # Product 50%
    slack.reset()
    driver.home_opened(CAROL)
    view = slack.wait_for("views.publish", where=lambda c: c["user_id"] == CAROL)[-1]["view"]
    assert len(view["blocks"]) <= 100
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] in ("section", "header")]
    at = texts.index("Company objectives")
    line = texts[at + 1]
    # company: (own 0 + Support 0 + Product 0.5) / 3 = 17%
    assert f"*O-{c.number}* Loyal customers" in line and "17%" in line
    assert "Support `░░░░░` 0%" in line and "Product `██░░░` 50%" in line


def test_forged_tree_page_action_with_foreign_objective(driver, slack, engine, world):
    other = department(engine, "Support", team_id=TEAM_B, channel="C0BSUPP001")
    for _ in range(5):
        foreign, _ = objective(engine, other, team_id=TEAM_B, title="B secret")
    slack.reset()
    driver.block_action("okr_tree_next", f"O-{foreign.number}|2", user=CAROL)
    reply = driver.last_reply_text()
    assert "out of date" in reply and "B secret" not in reply


def test_contributes_to_search_offers_this_teams_quarter_only(driver, engine, world):
    other = department(engine, "Support", team_id=TEAM_B, channel="C0BSUPP001")
    objective(engine, other, team_id=TEAM_B, title="Callbacks of team B")
    body = json.loads(driver.block_suggestion("contributes_search", "callbacks", user=ALICE).body)
    assert [o["value"] for o in body["options"]] == [str(world["s"].id)]
