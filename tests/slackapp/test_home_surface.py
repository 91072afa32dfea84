"""App Home for everyday use: "away until" first, commitments one owes, Log on each behavior,
KPI values with units and wrong-way marks, New objective only for those who may create one."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from slackapp.home_refresher import build_home
from storage.behaviors import log_behavior
from storage.db import session_scope
from storage.kpi_values import ValueIn, upsert_values
from storage.models import AuditLog, BehaviorLog, Commitment
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state
from tests.support.sql_count import counted_statements

TEAM = "T0TEAMA01"
DAVE = "U0DAVE001"


def home(driver, slack, user: str) -> dict:
    """Open App Home as `user`; the view published for them."""
    before = len([c for c in slack.calls_to("views.publish") if c.args["user_id"] == user])
    driver.home_opened(user)
    calls = slack.wait_for(
        "views.publish", count=before + 1, where=lambda c: c.args["user_id"] == user
    )
    view = calls[-1].args["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return view


def texts(view: dict) -> list[str]:
    out = []
    for b in view["blocks"]:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [e.get("text", "") for e in b.get("elements", []) if isinstance(e.get("text"), str)]
        out += [e["text"]["text"] for e in b.get("elements", []) if isinstance(e.get("text"), dict)]
    return out


def section_after(view: dict, title: str) -> list[str]:
    """The texts of the blocks under the header `title`, up to the next divider."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if b.get("text", {}).get("text") == title)
    out = []
    for b in blocks[start + 1 :]:
        if b["type"] == "divider":
            break
        out.append(json.dumps(b, ensure_ascii=False))
    return out


def action_ids(view: dict) -> list[str]:
    ids = []
    for b in view["blocks"]:
        ids += [e["action_id"] for e in b.get("elements", []) if "action_id" in e]
        if b.get("accessory"):
            ids.append(b["accessory"]["action_id"])
    return ids


def reply_to(driver, slack, command: str, text: str, user: str) -> str:
    before = len(slack.calls_to("response_url"))
    driver.command(command, text, user=user)
    reply = slack.wait_for("response_url", before + 1)[-1].args
    return json.dumps(reply.get("blocks") or reply.get("text"), ensure_ascii=False)


@pytest.fixture
def world(engine, slack):
    slack.add_user(DAVE, name="Dave")
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    product = department(engine, "Product", heads=(BOB,), members=(DAVE,), channel="C0PRODUCT1")
    return dict(support=support, product=product)


def test_away_note_is_the_first_block(driver, slack, engine, world):
    objective(engine, world["support"], owner=CAROL)
    until = date.today() + timedelta(days=5)
    reply = reply_to(driver, slack, "/checkin", f"away until {until.isoformat()}", CAROL)
    assert "away until" in reply
    view = home(driver, slack, CAROL)
    first = view["blocks"][0]
    assert first["type"] == "section"
    assert f"away until {until:%a %b %d, %Y}" in first["text"]["text"]
    assert sum("away until" in t for t in texts(view)) == 1  # shown once, at the top
    reply_to(driver, slack, "/checkin", "back", CAROL)
    assert not any("away until" in t for t in texts(home(driver, slack, CAROL)))


def test_commitments_you_owe(driver, slack, engine, world):
    later = (date.today() + timedelta(days=9)).isoformat()
    soon = (date.today() + timedelta(days=2)).isoformat()
    assert "C-1" in reply_to(driver, slack, "/okr", f"ask Product fix the export by {later}", CAROL)
    assert "C-2" in reply_to(driver, slack, "/okr", f"ask Product call Acme by {soon}", CAROL)
    assert "C-3" in reply_to(driver, slack, "/okr", f"ask Support write docs by {later}", DAVE)
    # Product's head sees both asks Product has not answered yet, oldest due first.
    owed = section_after(home(driver, slack, BOB), "Commitments you owe")
    assert ["C-2" in owed[0], "C-1" in owed[1], len(owed)] == [True, True, 2]
    assert "call Acme" in owed[0] and f"due {soon}" in owed[0] and "overdue" not in owed[0]
    # Members of Product owe nothing until one of them owns a commitment.
    assert "Commitments you owe" not in texts(home(driver, slack, DAVE))
    driver.block_action("commitment_accept", "C-1", user=BOB)
    slack.wait_for(
        "chat.postMessage", where=lambda c: c["channel"] == CAROL and "accepted" in c["text"]
    )
    assert "now owned by" in reply_to(
        driver, slack, "/okr", f"commit C-1 owner <@{DAVE}|dave>", BOB
    )
    # An overdue one is marked (its due date moved into the past, as time passing would).
    with session_scope(engine) as s:
        row = s.exec(select(Commitment).where(Commitment.number == 1)).one()
        row.due_date = date.today() - timedelta(days=3)
    dave_owes = section_after(home(driver, slack, DAVE), "Commitments you owe")
    assert len(dave_owes) == 1 and "C-1" in dave_owes[0] and "overdue" in dave_owes[0]
    # Once accepted it is no longer Product's open ask on Bob's Home; done, it is gone.
    bob_owes = section_after(home(driver, slack, BOB), "Commitments you owe")
    assert len(bob_owes) == 1 and "C-2" in bob_owes[0]
    assert "Closed *C-1*" in reply_to(driver, slack, "/okr", "done C-1 shipped", DAVE)
    assert "Commitments you owe" not in texts(home(driver, slack, DAVE))
    # The asker is owed these, not owing them.
    assert "Commitments you owe" not in texts(home(driver, slack, CAROL))


def add_behavior(driver, slack, dept: str, text: str, head: str) -> None:
    assert "Added" in reply_to(driver, slack, "/behavior", f"add {dept} {text}", head)


def test_log_button_opens_the_log_form_for_that_behavior(driver, slack, engine, world):
    add_behavior(driver, slack, "Support", "Call every detractor --target 5", ALICE)
    add_behavior(driver, slack, "Product", "Reply to every bug report", BOB)
    view = home(driver, slack, CAROL)
    behaviors = section_after(view, "Behaviors this week")
    assert any("B-1" in b and "home_behavior_log" in b for b in behaviors)
    assert not any("B-2" in b for b in behaviors)  # Product's behavior is not Carol's
    button = next(
        b["accessory"] for b in view["blocks"]
        if b.get("accessory", {}).get("action_id") == "home_behavior_log"
    )  # fmt: skip
    assert button["value"] == "1"
    driver.block_action("home_behavior_log", button["value"], user=CAROL, view={"type": "home"})
    form = slack.wait_for("views.open")[-1]["view"]
    assert form["callback_id"] == "behavior_log_submit"
    select_el = next(b for b in form["blocks"] if b.get("block_id") == "behavior")["element"]
    assert select_el["initial_option"]["value"] == "1"
    assert "0/5 this week" in json.dumps(form)
    values = state(behavior=("option", "1"), count="2", note="called three detractors")
    resp = driver.view_submission("behavior_log_submit", values, user=CAROL)
    assert resp.status == 200 and not resp.body
    confirmation = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)[-1]
    assert "Logged *B-1*" in confirmation["text"] and "2/5 this week" in confirmation["text"]
    with Session(engine) as s:
        (log,) = s.exec(select(BehaviorLog)).all()
        assert (log.user_id, log.count) == (CAROL, 2)
        assert s.exec(select(AuditLog).where(AuditLog.action == "behavior.log")).one()
    slack.wait_for("views.publish", where=lambda c: "2/5 this week" in json.dumps(c.args["view"]))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("2", "Only members of Product can log B-2"),  # another department's behavior
        ("999", "no behavior `B-999`"),
        ("1; DROP TABLE behavior", "is not a behavior number"),
        ("", "is not a behavior number"),
        ("9" * 40, "is not a behavior number"),
    ],
)
def test_log_button_refuses_other_departments_and_forged_values(
    driver, slack, engine, world, value, said
):
    add_behavior(driver, slack, "Support", "Call every detractor", ALICE)
    add_behavior(driver, slack, "Product", "Reply to every bug report", BOB)
    driver.block_action("home_behavior_log", value, user=CAROL, view={"type": "home"})
    notice = slack.wait_for("views.open")[-1]["view"]
    assert notice.get("callback_id") != "behavior_log_submit" and "submit" not in notice
    assert said in json.dumps(notice)
    # Submitting the log form anyway is refused by the same rule as `/behavior log`.
    resp = driver.view_submission(
        "behavior_log_submit", state(behavior=("option", "2")), user=CAROL
    )
    assert "Only members of Product" in json.loads(resp.body)["errors"]["behavior"]
    with Session(engine) as s:
        assert s.exec(select(BehaviorLog)).all() == []


def test_kpis_show_units_and_mark_wrong_way_changes(driver, slack, engine, world):
    today = date.today()
    week_ago = today - timedelta(days=7)
    with session_scope(engine) as s:
        upsert_values(s, team_id=TEAM, values=[
            ValueIn("nps", 0, week_ago, 45), ValueIn("nps", 0, today, 42),
            ValueIn("churn_rate", 0, week_ago, 4.0), ValueIn("churn_rate", 0, today, 3.5),
            ValueIn("clv", 0, week_ago, 1200), ValueIn("clv", 0, today, 1234),
            ValueIn("retention_rate", 0, today, 88),
        ])  # fmt: skip
    (kpis,) = section_after(home(driver, slack, CAROL), "Company KPIs")
    lines = {line.split("*")[1]: line for line in json.loads(kpis)["text"]["text"].split("\n")}
    assert "42 pts" in lines["nps"] and ":warning:" in lines["nps"]  # NPS fell: wrong way
    assert "3.5%" in lines["churn_rate"] and ":warning:" not in lines["churn_rate"]  # fell: good
    assert "$1,234" in lines["clv"] and "+$34" in lines["clv"] and ":warning:" not in lines["clv"]
    assert "88%" in lines["retention_rate"] and "no value a week earlier" in lines["retention_rate"]


def test_new_objective_button_only_for_heads_and_admins(driver, slack, engine, world):
    hint = "ask your department head"
    member = home(driver, slack, CAROL)
    assert "home_new_objective" not in action_ids(member)
    assert any(hint in t for t in texts(member))
    for who in (ALICE, ADMIN):  # a head; a workspace admin in no department
        view = home(driver, slack, who)
        assert "home_new_objective" in action_ids(view)
        assert not any(hint in t for t in texts(view))
    # The button's modal is still refused to a member who forges the click.
    driver.block_action("home_new_objective", user=CAROL, view={"type": "home"})
    notice = slack.wait_for("views.open")[-1]["view"]
    assert "Only department heads and workspace admins" in json.dumps(notice)


def test_home_statements_do_not_grow_with_commitments_and_behaviors(
    app, driver, slack, engine, world
):
    """The same number of SQL statements for one or many commitments, behaviors and logs,
    and still at most 100 blocks."""

    def counted() -> tuple[int, int]:
        build_home(app.deps, team_id=TEAM, user_id=BOB, client=app.bolt.client)  # warm caches
        with counted_statements(engine) as statements:
            view = build_home(app.deps, team_id=TEAM, user_id=BOB, client=app.bolt.client)
        return len(statements), len(view.blocks)

    later = (date.today() + timedelta(days=9)).isoformat()
    reply_to(driver, slack, "/okr", f"ask Product fix the export by {later}", CAROL)
    add_behavior(driver, slack, "Product", "Reply to every bug report", BOB)
    objective(engine, world["product"], owner=BOB)
    few, _ = counted()
    for n in range(30):
        reply_to(driver, slack, "/okr", f"ask Product task {n} by {later}", CAROL)
        add_behavior(driver, slack, "Product", f"Behavior number {n}", BOB)
    for n in range(12):
        objective(engine, world["product"], owner=BOB, title=f"Objective {n}")
    with session_scope(engine) as s:
        for _ in range(50):
            log_behavior(s, team_id=TEAM, user_id=DAVE, is_admin=False, ref="B-1")
    many, blocks = counted()
    assert many == few and blocks <= 100
    owed = section_after(home(driver, slack, BOB), "Commitments you owe")
    assert len(owed) == 9 and "23 more" in owed[-1]  # 8 shown, oldest due first, then a count
