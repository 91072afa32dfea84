"""More /okr flows: list paging, show, close, dept add, setup, check-in modal, App Home, export."""

from __future__ import annotations

import csv
import json

from sqlmodel import Session, func, select

from storage.export import export_team
from storage.models import AuditLog, CheckIn, DepartmentMember, Objective, Team
from storage.objectives import KeyResultInput
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state


def test_title_over_column_size_refused_inline(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    values = state(
        department=("option", str(dept.id)),
        title="x" * 3001,
        quarter=("option", "2026-Q4"),
        owner=("user", ALICE),
        kr0_title="NPS",
        kr0_baseline="30",
        kr0_target="40",
    )
    body = json.loads(driver.view_submission("okr_new_objective", values, user=ALICE).body)
    assert "3,001 characters" in body["errors"]["title"] and "200" in body["errors"]["title"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Objective)).one() == 0


def test_modal_bad_numbers_and_due_date_are_field_errors(driver, engine):
    dept = department(engine, heads=(ALICE,))
    values = state(
        department=("option", str(dept.id)),
        title="T",
        quarter=("option", "2026-Q4"),
        owner=("user", ALICE),
        due_date=("date", "2027-02-01"),
        kr0_title="NPS",
        kr0_baseline="abc",
        kr0_target="40",
    )
    errors = json.loads(driver.view_submission("okr_new_objective", values, user=ALICE).body)[
        "errors"
    ]
    assert "not a number" in errors["kr0_baseline"]
    values.update(state(kr0_baseline="30"))
    errors = json.loads(driver.view_submission("okr_new_objective", values, user=ALICE).body)[
        "errors"
    ]
    assert "inside 2026-Q4" in errors["due_date"]


def test_member_cannot_create_objective_in_modal(driver, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    values = state(
        department=("option", str(dept.id)),
        title="T",
        quarter=("option", "2026-Q4"),
        owner=("user", BOB),
        kr0_title="NPS",
        kr0_baseline="1",
        kr0_target="2",
    )
    errors = json.loads(driver.view_submission("okr_new_objective", values, user=BOB).body)[
        "errors"
    ]
    assert "head of Support" in errors["department"]


def test_okr_list_all_paginates_within_block_limits(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    for i in range(40):
        objective(engine, dept, title=f"Objective {i}")
    driver.command("/okr", "list all", user=BOB)
    first = driver.replies(1)[0]
    assert len(first["blocks"]) <= 50 and "Page 1 of 3" in json.dumps(first["blocks"])
    nxt = first["blocks"][-1]["elements"][-1]
    assert nxt["action_id"] == "okr_list_next"
    slack.reset()
    driver.block_action("okr_list_next", nxt["value"], user=BOB)
    second = driver.replies(1)[0]
    assert "Page 2 of 3" in json.dumps(second["blocks"]) and second["replace_original"] is True


def test_list_by_department_name_and_unknown(driver, engine):
    dept = department(engine, "Customer Care", heads=(ALICE,))
    objective(engine, dept, title="Answer within an hour")
    driver.command("/okr", "list customer care", user=BOB)
    assert "Answer within an hour" in driver.last_reply_text()


def test_show_and_close_by_head(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, (kr,) = objective(
        engine, dept, krs=[KeyResultInput(title="Churn", baseline=8, target=5, unit="%")]
    )
    driver.command("/checkin", f"KR-{kr.number} 6.5% 8/10 fewer cancellations", user=ALICE)
    slack.wait_for("response_url")
    slack.reset()
    driver.command("/okr", f"show O-{obj.number}", user=BOB)
    shown = driver.last_reply_text()
    assert "50%" in shown and "fewer cancellations" in shown and "6.5%" in shown
    slack.reset()
    driver.command("/okr", f"close O-{obj.number} 0.7", user=ALICE)
    assert "score of 0.70" in driver.last_reply_text()
    with Session(engine) as s:
        row = s.get(Objective, obj.id)
        assert (row.status, row.final_score) == ("closed", 0.7)
        assert (
            s.exec(select(AuditLog).where(AuditLog.action == "objective.close")).one().actor_id
            == ALICE
        )
    slack.reset()
    driver.command("/okr", f"close O-{obj.number} 1.5", user=ALICE)
    assert "already closed" in driver.last_reply_text()


def test_close_score_out_of_range(driver, engine):
    dept = department(engine, heads=(ALICE,))
    obj, _ = objective(engine, dept)
    driver.command("/okr", f"close O-{obj.number} 1.5", user=ALICE)
    assert "between 0.0 and 1.0" in driver.last_reply_text()


def test_dept_add_members_by_head_and_heads_by_admin(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,))
    driver.command("/okr", "dept add <@U0BOB0001|bob> <@U0CAROL01|carol> to support", user=ALICE)
    assert "Added" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "dept head <@U0BOB0001|bob> to Support", user=ALICE)
    assert "workspace admin" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "dept head <@U0BOB0001|bob> to Support", user=ADMIN)
    assert "as heads" in driver.last_reply_text()
    slack.reset()
    driver.command("/okr", "dept add <!subteam^S123|devs> to Support", user=ALICE)
    assert "/okr dept add" in driver.last_reply_text()
    with Session(engine) as s:
        rows = {m.user_id: m.is_head for m in s.exec(select(DepartmentMember))}
    assert rows == {ALICE: True, BOB: True, CAROL: False}


def test_setup_modal_admin_only_and_validation(driver, slack, engine):
    driver.command("/okr", "setup", user=BOB)
    refused = slack.wait_for("views.open")[0]["view"]
    assert "Only a workspace admin" in json.dumps(refused)
    slack.reset()
    driver.command("/okr", "setup", user=ADMIN)
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "okr_setup"
    values = state(
        leadership_channel=("conversation", "C0LEAD0001"),
        recognition_channel=("conversation", "C0KUDOS001"),
        feedback_channel=("conversation", "C0VOICE001"),
        recognition_emoji=":tada:",
        digest_weekday=("option", "4"),
        digest_time=("time", "16:00"),
        reminder_weekday=("option", "0"),
        reminder_time=("time", "10:00"),
        review_lead_days="abc",
        timezone="Europe/Paris",
        kudos_require_behavior=("checkboxes", []),
    )
    errors = json.loads(driver.view_submission("okr_setup", values, user=ADMIN).body)["errors"]
    assert "review_lead_days" in errors
    values.update(state(review_lead_days="10"))
    resp = driver.view_submission("okr_setup", values, user=ADMIN)
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        team = s.get(Team, "T0TEAMA01")
        assert (
            team.leadership_channel,
            team.recognition_emoji,
            team.review_lead_days,
            team.timezone,
        ) == ("C0LEAD0001", "tada", 10, "Europe/Paris")
    resp = driver.view_submission("okr_setup", values, user=BOB)
    assert "Only a workspace admin" in json.loads(resp.body)["errors"]["leadership_channel"]


def test_checkin_modal_and_home_button(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    _, (kr,) = objective(engine, dept, owner=BOB)
    driver.home_opened(BOB)  # Bob is on App Home: his check-in republishes it
    slack.wait_for("views.publish")
    slack.reset()
    driver.command("/checkin", "", user=BOB)  # alone: the form for all of Bob's key results
    assert slack.wait_for("views.open")[0]["view"]["callback_id"] == "checkin_all_submit"
    slack.reset()
    driver.block_action("checkin_open", str(kr.number), user=BOB)  # a key result's own button
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "checkin_submit"
    values = state(kr=("option", str(kr.number)), value="42", confidence=("option", "7"), note="ok")
    bad = dict(values, **state(value="4 2"))
    assert (
        "not a number"
        in json.loads(driver.view_submission("checkin_submit", bad, user=BOB).body)["errors"][
            "value"
        ]
    )
    resp = driver.view_submission("checkin_submit", values, user=BOB)
    assert resp.status == 200 and not resp.body
    slack.wait_for("views.publish")
    assert "Checked in" in slack.wait_for("chat.postMessage")[0]["text"]
    slack.reset()
    driver.block_action("checkin_open", str(kr.number), user=BOB)
    again = slack.wait_for("views.open")[0]["view"]
    assert again["blocks"][0]["element"]["initial_option"]["value"] == str(kr.number)
    # Carol neither owns it nor heads Support: refused inline.
    resp = driver.view_submission("checkin_submit", values, user=CAROL)
    assert "owner of KR-1" in json.loads(resp.body)["errors"]["kr"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(CheckIn)).one() == 1


def test_app_home_published_within_limits(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    for i in range(30):
        objective(engine, dept, owner=ALICE, title=f"Objective {i} " + "long " * 36)
    driver.home_opened(ALICE)
    call = slack.wait_for("views.publish")[0]
    view = call["view"]
    assert call["user_id"] == ALICE and view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = json.dumps(view)
    assert "Your key results" in text and "Check-in due" in text and "more" in text
    for block in view["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def test_export_every_table_of_one_team(engine, tmp_path):
    dept = department(engine, heads=(ALICE,))
    objective(engine, dept)
    department(engine, "Other", team_id="T0OTHER01", heads=("U0ZED0001",))
    manifest = export_team(engine, team_id="T0TEAMA01", out_dir=tmp_path)
    assert manifest["tables"]["department"] == 1 and manifest["tables"]["objective"] == 1
    assert manifest["tables"]["keyresult"] == 1 and manifest["tables"]["auditlog"] >= 2
    with (tmp_path / "department.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == ["Support"] and rows[0]["team_id"] == "T0TEAMA01"
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert saved["tables"] == manifest["tables"]
    for name, count in manifest["tables"].items():
        with (tmp_path / f"{name}.csv").open(encoding="utf-8") as fh:
            assert sum(1 for _ in fh) == count + 1


def test_rate_limited_views_open_is_retried_after_retry_after(driver, slack, engine):
    department(engine, heads=(ALICE,))
    slack.rate_limit("views.open", retry_after=1, times=1)
    driver.command("/okr", "new", user=ALICE)
    opened = slack.wait_for("views.open", timeout=15)
    statuses = [c.status for c in slack.calls if c.method == "views.open"]
    assert statuses == [429, 200] and opened[0]["view"]["callback_id"] == "okr_new_objective"
    gap = [c.at for c in slack.calls if c.method == "views.open"]
    assert gap[1] - gap[0] >= 0.9  # honoured Retry-After


def test_users_info_error_means_no_write_and_a_clear_reply(driver, slack, engine):
    slack.api_error("users.info", "internal_error", times=5)
    driver.command("/okr", "dept create Sales", user=ADMIN)
    reply = driver.last_reply_text()
    assert "Slack" in reply and "try again" in reply
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Objective)).one() == 0
