"""Decisions from the quarterly review: the summary's Record decision button and modal,
`/okr decisions`, and the data lifecycle (export, forget, purge) of decisions."""

from __future__ import annotations

import csv
import json

from sqlmodel import select

from storage.db import session_scope
from storage.decisions import decisions_for_quarter
from storage.export import export_team
from storage.lifecycle import forget_user, purge_team
from storage.models import AuditLog, Decision, Objective, SlackUser
from storage.teams import get_or_create_team
from tests.conftest import ADMIN, ALICE
from tests.support import factories
from tests.support.slack_driver import state

TEAM = factories.TEAM
LEADERSHIP = "C0LEADERS1"
BUTTON = f"{TEAM}|2026-Q4"
META = json.dumps({"quarter": "2026-Q4"})


def wait_idle(driver):
    driver.app.listener_runner.listener_executor.submit(lambda: None).result(timeout=10)


def decision_form(text, owner="company", start=False):
    values = state(text=text, department=("option", owner))
    values["start_objective"] = {
        "value": {"type": "checkboxes", "selected_options": [{"value": "start"}] if start else []}
    }
    return values


def decisions(engine):
    with session_scope(engine) as s:
        return s.exec(select(Decision).order_by(Decision.id)).all()


def test_admin_records_a_decision_that_starts_a_company_objective(engine, slack, driver):
    support = factories.department(engine, "Support", heads=(ALICE,))
    driver.block_action("review_record_decision", BUTTON, user=ADMIN, channel=LEADERSHIP)
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "review_decision_submit"
    owners = next(b for b in view["blocks"] if b.get("block_id") == "department")["element"]
    assert [o["text"]["text"] for o in owners["options"]] == ["Company-wide", "Support"]
    long_title = "Call every detractor within a day, company-wide. " * 6  # > 200 characters
    resp = driver.view_submission(
        "review_decision_submit",
        decision_form(long_title, owner="company", start=True),
        user=ADMIN,
        private_metadata=view["private_metadata"],
    )
    assert resp.status == 200 and not resp.body
    dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ADMIN)[0]
    assert "is started in 2027-Q1" in dm["text"]
    resp = driver.view_submission(
        "review_decision_submit",
        decision_form("Support owns the callback rota", owner=str(support.id)),
        user=ADMIN,
        private_metadata=META,
    )
    assert resp.status == 200 and not resp.body
    first, second = decisions(engine)
    assert (first.quarter, first.department_id, first.decided_by) == ("2026-Q4", None, ADMIN)
    assert (second.department_id, second.objective_id) == (support.id, None)
    with session_scope(engine) as s:
        started = s.get(Objective, first.objective_id)
        assert (started.quarter, started.department_id, started.owner_id) == (
            "2027-Q1",
            None,
            ADMIN,
        )
        assert len(started.title) == 200 and started.title.endswith("…")
        actions = [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id)).all()]
        assert actions.count("decision.record") == 2 and "objective.create" in actions
        listed = decisions_for_quarter(s, team_id=TEAM, quarter="2026-Q4")
        assert [d.id for d in listed] == [first.id, second.id]


def test_only_admins_record_decisions_and_forged_buttons_are_refused(engine, slack, driver):
    factories.department(engine, "Support", heads=(ALICE,))
    driver.block_action("review_record_decision", BUTTON, user=ALICE, channel=LEADERSHIP)
    refusal = slack.wait_for("chat.postEphemeral")[0]
    assert refusal["user"] == ALICE
    assert "Only a workspace admin can record review decisions" in refusal["text"]
    # A button made in another workspace is refused, even for an admin.
    slack.reset()
    driver.block_action("review_record_decision", "T0OTHER01|2026-Q4", user=ADMIN,
                        channel=LEADERSHIP)  # fmt: skip
    refusal = slack.wait_for("chat.postEphemeral")[0]
    assert "not made for this workspace" in refusal["text"]
    for value in ("", "T0TEAMA01|Q9", "garbage"):
        driver.block_action("review_record_decision", value, user=ADMIN, channel=LEADERSHIP)
    wait_idle(driver)
    assert slack.calls_to("views.open") == []
    # A hand-made submission from a member writes nothing.
    resp = driver.view_submission(
        "review_decision_submit", decision_form("Members decide too"), user=ALICE,
        private_metadata=META,
    )  # fmt: skip
    body = json.loads(resp.body)
    assert body["response_action"] == "errors"
    assert "workspace admin" in json.dumps(body["errors"])
    assert decisions(engine) == []


def test_a_decision_over_3000_characters_is_a_field_error(engine, slack, driver):
    resp = driver.view_submission(
        "review_decision_submit", decision_form("x" * 3001), user=ADMIN, private_metadata=META
    )
    body = json.loads(resp.body)
    assert body == {
        "response_action": "errors",
        "errors": {"text": "At most 3,000 characters (this one has 3,001)."},
    }
    resp = driver.view_submission(
        "review_decision_submit", decision_form("   "), user=ADMIN, private_metadata=META
    )
    assert json.loads(resp.body)["errors"] == {"text": "Write the decision."}
    other = factories.department(engine, "Elsewhere", team_id="T0OTHER01", heads=())
    resp = driver.view_submission(
        "review_decision_submit",
        decision_form("Theirs", owner=str(other.id)),
        user=ADMIN,
        private_metadata=META,
    )
    assert json.loads(resp.body)["errors"] == {"department": "That department does not exist."}
    assert decisions(engine) == []


def test_okr_decisions_lists_the_latest_quarter_with_decisions_by_default(engine, slack, driver):
    support = factories.department(engine, "Support", heads=(ALICE,))
    for quarter, text, owner, start in (
        ("2026-Q3", "Older decision", "company", False),
        ("2026-Q4", "Hire two <!channel> agents", str(support.id), False),
        ("2026-Q4", "Detractor callbacks everywhere", "company", True),
    ):
        resp = driver.view_submission(
            "review_decision_submit",
            decision_form(text, owner=owner, start=start),
            user=ADMIN,
            private_metadata=json.dumps({"quarter": quarter}),
        )
        assert resp.status == 200 and not resp.body
    started = decisions(engine)[2].objective_id
    with session_scope(engine) as s:
        number = s.get(Objective, started).number
    driver.command("/okr", "decisions", user=ALICE)
    text = driver.last_reply_text()
    assert "Decisions from the 2026-Q4 review" in text
    assert "*Support* — Hire two &lt;!channel&gt; agents" in text
    assert "*Company-wide* — Detractor callbacks everywhere" in text
    assert f"started O-{number}" in text and "Older decision" not in text
    slack.reset()
    driver.command("/okr", "decisions 2026-Q3", user=ALICE)
    assert "Older decision" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "decisions 2025-Q1", user=ALICE)
    assert "No decisions were recorded for 2025-Q1" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "decisions Q9", user=ALICE)
    reply = driver.last_reply_text()
    assert "/okr decisions Q9" in reply and "`/okr decisions [2026-Q4]`" in reply


def test_decisions_are_exported_forgotten_and_purged(engine, slack, driver, tmp_path):
    with session_scope(engine) as s:
        get_or_create_team(s, team_id=TEAM)
        s.add(SlackUser(team_id=TEAM, user_id=ADMIN, is_admin=True))
    driver.view_submission(
        "review_decision_submit", decision_form("=cmd|' /C calc'!A0", start=True), user=ADMIN,
        private_metadata=META,
    )  # fmt: skip
    (decision,) = decisions(engine)
    out = tmp_path / "export"
    manifest = export_team(engine, team_id=TEAM, out_dir=out)
    assert manifest["tables"]["decision"] == 1
    with (out / "decision.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["decided_by"] == ADMIN and rows[0]["quarter"] == "2026-Q4"
    with session_scope(engine) as s:
        result = forget_user(s, team_id=TEAM, user_id=ADMIN)
    with session_scope(engine) as s:
        row = s.get(Decision, decision.id)
        assert row.decided_by == result["pseudonym"]
        assert s.get(Objective, row.objective_id).owner_id == result["pseudonym"]
        audit = s.exec(select(AuditLog).where(AuditLog.action == "decision.record")).one()
        assert ADMIN not in (audit.after or "") and ADMIN != audit.actor_id
    with session_scope(engine) as s:
        counts = purge_team(s, team_id=TEAM)
    assert counts["decision"] == 1
    assert decisions(engine) == []
