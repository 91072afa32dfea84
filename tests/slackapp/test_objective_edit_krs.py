"""`/okr edit O-12` adds and removes key results: same checks as `/okr new`, a confirmation
before a key result's check-ins go, at least one key result kept, history in the audit log."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from storage import alignment, kr_comments, nudges
from storage.db import session_scope
from storage.models import AuditLog, CheckIn, Commitment, KeyResult, KrComment, KrNudge, Objective
from storage.objectives import KeyResultInput
from storage.rollup import quarter_tree
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state

TEAM = "T0TEAMA01"
TWO_KRS = [
    KeyResultInput(title="NPS", baseline=30, target=50, unit="pts"),
    KeyResultInput(title="CSAT", baseline=70, target=90, unit="%"),
]


def open_edit(driver, slack, obj, user=ALICE) -> dict:
    before = len(slack.calls_to("views.open"))
    driver.command("/okr", f"edit O-{obj.number}", user=user)
    return slack.wait_for("views.open", count=before + 1)[-1]["view"]


def form(obj, krs, *, remove=(), confirm=(), **extra):
    """The edit form as submitted: each existing key result kept as it is unless named in
    `remove` (ticked "Remove") or `confirm` (also ticked the history confirmation)."""
    fields = dict(title=obj.title, description="", owner=("user", obj.owner_id),
                  due_date=("date", obj.due_date.isoformat()))  # fmt: skip
    for i, kr in enumerate(krs):
        fields.update({f"kr{i}_title": kr.title, f"kr{i}_unit": kr.unit,
                       f"kr{i}_target": f"{kr.target:g}", f"kr{i}_owner": ("user", kr.owner_id)})  # fmt: skip
        ticked = []
        if kr.number in remove or kr.number in confirm:
            ticked.append("remove")
        if kr.number in confirm:
            ticked.append("confirm")
        fields[f"kr{i}_remove"] = ("checkboxes", ticked)
    fields.update(extra)
    return state(**fields)


def submit(driver, obj, krs, user=ALICE, meta=None, **kwargs):
    meta = meta or f"O-{obj.number}|" + ",".join(str(k.number) for k in krs)
    return driver.view_submission("okr_edit_objective", form(obj, krs, **kwargs), user=user,
                                  private_metadata=meta)  # fmt: skip


def errors_of(resp) -> dict:
    assert resp.status == 200 and resp.body, "expected field errors"
    return json.loads(resp.body)["errors"]


def kr_numbers(engine, obj) -> list[int]:
    with Session(engine) as s:
        return sorted(
            k.number for k in s.exec(select(KeyResult).where(KeyResult.objective_id == obj.id))
        )


def command_reply(driver, command: str, text: str, user: str) -> str:
    """Run a command and wait for its own reply (earlier replies are not mistaken for it)."""
    fake = driver.fake
    before = len(fake.calls_to("response_url"))
    driver.command(command, text, user=user)
    reply = fake.wait_for("response_url", before + 1)[-1].args
    return json.dumps(reply.get("blocks") or reply.get("text"), ensure_ascii=False)


def check_in(driver, kr, value, user=ALICE):
    assert "Checked in" in command_reply(driver, "/checkin", f"KR-{kr.number} {value} 7/10", user)


def test_edit_modal_offers_new_rows_and_remove_boxes(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    check_in(driver, k1, 40)
    view = open_edit(driver, slack, obj)
    ids = [b.get("block_id") for b in view["blocks"]]
    assert len(view["blocks"]) <= 100
    # Two existing key results, three empty rows: five in all, the limit on create.
    assert {"kr0_remove", "kr1_remove", "new0_title", "new2_target", "new2_baseline"} <= set(ids)
    assert "new3_title" not in ids
    boxes = {b["block_id"]: b for b in view["blocks"] if b.get("block_id", "").endswith("_remove")}
    first = [o["text"]["text"] for o in boxes["kr0_remove"]["element"]["options"]]
    assert first == [f"Remove KR-{k1.number}", f"Yes, remove KR-{k1.number} and its history"]
    assert "has 1 check-in" in boxes["kr0_remove"]["hint"]["text"]
    second = [o["text"]["text"] for o in boxes["kr1_remove"]["element"]["options"]]
    assert second == [f"Remove KR-{k2.number}"]  # no history, nothing more to confirm
    assert view["private_metadata"] == f"O-{obj.number}|{k1.number},{k2.number}"


def test_head_adds_key_results_with_owner_defaulting_to_the_objectives(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    obj, (kr,) = objective(engine, dept, owner=BOB)
    resp = submit(driver, obj, [kr], new0_title="Repeat purchase rate", new0_unit="%",
                  new0_baseline="20", new0_target="1,250.5", new1_title="Callbacks",
                  new1_baseline="0", new1_target="40", new1_owner=("user", CAROL))  # fmt: skip
    assert resp.status == 200 and not resp.body
    assert "Saved" in slack.wait_for("chat.postMessage")[0]["text"]
    with Session(engine) as s:
        rows = s.exec(
            select(KeyResult).where(KeyResult.objective_id == obj.id).order_by(KeyResult.number)
        ).all()
        assert [(r.title, r.unit, r.baseline, r.target, r.owner_id) for r in rows[1:]] == [
            ("Repeat purchase rate", "%", 20, 1250.5, BOB),
            ("Callbacks", "", 0, 40, CAROL),
        ]
        log = s.exec(select(AuditLog).where(AuditLog.action == "objective.update")).one()
        assert log.actor_id == ALICE and "Repeat purchase rate" in log.after
        assert "Repeat purchase rate" not in log.before
    # The new key results are checked in on like any other.
    check_in(driver, rows[2], 10, user=CAROL)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"new0_title": "Churn", "new0_baseline": "5", "new0_target": "5"},
         {"new0_target": "differ from the baseline"}),
        ({"new0_title": "Churn", "new0_target": "3"}, {"new0_baseline": "baseline number"}),
        ({"new0_title": "Churn", "new0_baseline": "5", "new0_target": "lots"},
         {"new0_target": "not a number"}),
        ({"new1_baseline": "5", "new1_target": "3"}, {"new1_title": "required"}),
        ({"new0_title": "x" * 201, "new0_baseline": "1", "new0_target": "2", "new0_unit": "u" * 17},
         {"new0_title": "the limit is 200", "new0_unit": "at most 16"}),
    ],
)  # fmt: skip
def test_new_key_results_get_the_checks_of_okr_new(driver, engine, fields, errors):
    dept = department(engine, heads=(ALICE,))
    obj, (kr,) = objective(engine, dept)
    got = errors_of(submit(driver, obj, [kr], **fields))
    for block, words in errors.items():
        assert words in got[block], got
    assert kr_numbers(engine, obj) == [kr.number]


def test_remove_a_key_result_without_history(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    assert submit(driver, obj, [k1, k2], remove=[k2.number]).status == 200
    slack.wait_for("chat.postMessage")
    assert kr_numbers(engine, obj) == [k1.number]
    with Session(engine) as s:
        (log,) = s.exec(select(AuditLog).where(AuditLog.action == "key_result.remove")).all()
        before = json.loads(log.before)
        assert (log.actor_id, before["number"], before["check_ins"]) == (ALICE, k2.number, [])
        update = s.exec(select(AuditLog).where(AuditLog.action == "objective.update")).one()
        assert json.loads(update.after)["removed"] == [f"KR-{k2.number}"]
    reply = command_reply(driver, "/checkin", f"KR-{k2.number} 80 7/10", ALICE)
    assert f"no key result `KR-{k2.number}`" in reply


def test_removing_a_key_result_with_check_ins_asks_first_and_keeps_its_history(
    driver, slack, engine
):
    support = department(engine, heads=(ALICE,))
    department(engine, "Product", heads=(CAROL,), members=(BOB,), channel="C0PRODUCT1")
    obj, (k1, k2) = objective(engine, support, krs=TWO_KRS)
    for value in (75, 80, 85):
        check_in(driver, k2, value)
    due = (date.today() + timedelta(days=10)).isoformat()
    asked = f"ask Support fix the survey link by {due} for KR-{k2.number}"
    assert "C-1" in command_reply(driver, "/okr", asked, BOB)

    got = errors_of(submit(driver, obj, [k1, k2], remove=[k2.number]))
    assert f"KR-{k2.number} has 3 check-ins" in got["kr1_remove"]
    assert f"Yes, remove KR-{k2.number} and its history" in got["kr1_remove"]
    assert kr_numbers(engine, obj) == [k1.number, k2.number]

    assert submit(driver, obj, [k1, k2], confirm=[k2.number]).status == 200
    assert kr_numbers(engine, obj) == [k1.number]
    with Session(engine) as s:
        assert s.exec(select(CheckIn)).all() == []
        commitment = s.exec(select(Commitment)).one()
        assert (commitment.key_result_id, commitment.status) == (None, "open")  # still owed
        log = s.exec(select(AuditLog).where(AuditLog.action == "key_result.remove")).one()
        before = json.loads(log.before)
        assert [c["value"] for c in before["check_ins"]] == [75, 80, 85]
        assert before["commitments_unlinked"] == ["C-1"] and before["title"] == "CSAT"
    assert "fix the survey link" in command_reply(driver, "/okr", "asks all", BOB)


def test_removing_a_key_result_takes_its_comments_and_nudges_along(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    with session_scope(engine) as s:
        kr_comments.add_comment(
            s,
            team_id=TEAM,
            actor_id=ALICE,
            is_admin=False,
            ref=f"KR-{k2.number}",
            text="Where are the survey numbers?",
        )
        nudges.nudge(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref=f"KR-{k2.number}",
                     today=date.today())  # fmt: skip
    assert submit(driver, obj, [k1, k2], remove=[k2.number]).status == 200
    assert kr_numbers(engine, obj) == [k1.number]
    with Session(engine) as s:
        assert s.exec(select(KrComment)).all() == [] and s.exec(select(KrNudge)).all() == []
        log = s.exec(select(AuditLog).where(AuditLog.action == "key_result.remove")).one()
        assert [c["text"] for c in json.loads(log.before)["comments"]] == [
            "Where are the survey numbers?"
        ]


def test_objective_keeps_at_least_one_key_result(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    got = errors_of(submit(driver, obj, [k1, k2], remove=[k1.number, k2.number]))
    assert "at least one key result" in got["kr0_remove"]
    assert kr_numbers(engine, obj) == [k1.number, k2.number]
    # Removing the last one and adding a new one in the same save is fine.
    resp = submit(driver, obj, [k1, k2], remove=[k1.number, k2.number], new0_title="Churn",
                  new0_unit="%", new0_baseline="8", new0_target="5")  # fmt: skip
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        (kr,) = s.exec(select(KeyResult).where(KeyResult.objective_id == obj.id)).all()
        assert (kr.title, kr.baseline, kr.target) == ("Churn", 8, 5)


def test_rolled_up_progress_follows_added_and_removed_key_results(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    company, _ = objective(engine, None, title="Loyal customers")
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    with session_scope(engine) as s:
        alignment.align(s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                        child=s.get(Objective, obj.id), parent=s.get(Objective, company.id),
                        weight=1)  # fmt: skip
    check_in(driver, k1, 50)  # NPS at its target; CSAT untouched

    def progress(oid):
        with Session(engine) as s:
            return quarter_tree(s, team_id=TEAM, quarter=obj.quarter).progress(oid)

    assert progress(obj.id) == pytest.approx(0.5)
    assert progress(company.id) == pytest.approx(0.25)  # its own KR at 0, the child at 0.5
    assert submit(driver, obj, [k1, k2], confirm=[k2.number]).status == 200
    assert progress(obj.id) == pytest.approx(1.0)
    assert progress(company.id) == pytest.approx(0.5)
    resp = submit(driver, obj, [k1], new0_title="Churn", new0_baseline="8", new0_target="5")
    assert resp.status == 200 and not resp.body
    assert progress(obj.id) == pytest.approx(0.5)
    assert progress(company.id) == pytest.approx(0.25)


def test_member_cannot_remove_or_add(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    got = errors_of(submit(driver, obj, [k1, k2], user=BOB, confirm=[k2.number],
                           new0_title="Churn", new0_baseline="8", new0_target="5"))  # fmt: skip
    assert "head of Support" in got["title"]
    assert kr_numbers(engine, obj) == [k1.number, k2.number]
    with Session(engine) as s:
        assert s.exec(select(AuditLog).where(AuditLog.action.startswith("key_result"))).all() == []


def test_forged_form_values_write_nothing(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    other, (foreign,) = objective(engine, dept, title="Other")
    # A key result of another objective named in the metadata, marked for removal.
    got = errors_of(submit(driver, obj, [k1, foreign], confirm=[foreign.number]))
    assert "not part of" in got["title"]
    # More key results than an objective can have: not a form this app drew.
    meta = f"O-{obj.number}|" + ",".join(str(n) for n in range(1, 8))
    got = errors_of(submit(driver, obj, [k1, k2], meta=meta))
    assert "out of date" in got["title"]
    # An unknown checkbox value removes nothing; rows beyond the limit are not read.
    resp = submit(driver, obj, [k1, k2], kr1_remove=("checkboxes", ["drop-table"]),
                  new3_title="Sneaky", new3_baseline="1", new3_target="2")  # fmt: skip
    assert resp.status == 200 and not resp.body
    assert kr_numbers(engine, obj) == [k1.number, k2.number]
    assert kr_numbers(engine, other) == [foreign.number]
    with Session(engine) as s:
        assert "Sneaky" not in [k.title for k in s.exec(select(KeyResult))]


def test_removing_a_kpi_bound_key_result_leaves_the_kpi_and_its_guardrail(driver, slack, engine):
    from storage.kpi_values import ValueIn, refresh_bound_key_results, upsert_values
    from storage.models import KpiGuardrail

    dept = department(engine, heads=(ALICE,))
    obj, (k1, k2) = objective(engine, dept, krs=TWO_KRS)
    with session_scope(engine) as s:
        upsert_values(s, team_id=TEAM, values=[ValueIn("nps", 0, date.today(), 41)])
    assert "nps" in command_reply(driver, "/okr", f"bind KR-{k1.number} nps", ALICE)
    reply = command_reply(driver, "/kpi", "target nps above 30", ADMIN)
    assert "nps" in reply and "30" in reply
    with Session(engine) as s:
        assert (s.get(KeyResult, k1.id).kpi_name, s.get(KeyResult, k1.id).current_value) == (
            "nps", 41,
        )  # fmt: skip
        assert s.exec(select(KpiGuardrail)).one().threshold == 30
    assert submit(driver, obj, [k1, k2], remove=[k1.number]).status == 200
    assert kr_numbers(engine, obj) == [k2.number]
    with session_scope(engine) as s:
        upsert_values(s, team_id=TEAM, values=[ValueIn("nps", 0, date.today(), 44)])
        assert refresh_bound_key_results(s, team_id=TEAM) == []  # nothing bound any more
        assert s.exec(select(KpiGuardrail)).one().kpi_name == "nps"
