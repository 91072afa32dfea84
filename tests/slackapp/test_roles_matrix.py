"""Every write of spec §1 for each role — member, head of another department, head, admin:
allowed (and audit-logged with who, what, before/after) or refused with the role named and
nothing written. Driven through the real Bolt app with signed requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import Session, func, select

from storage.models import AuditLog
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import state

DAVE = "U0DAVE001"
ROLES = {"member": BOB, "other_head": CAROL, "head": ALICE, "admin": ADMIN}


@dataclass
class Write:
    name: str
    audit_action: str
    allowed: set[str]
    refusal: str  # the role named in the refusal
    run: Callable  # (driver, ctx, user) -> reply text (or modal response body)


def _cmd(command: str, text: str):
    def run(driver, ctx, user):
        driver.command(command, text.format(**ctx), user=user)
        return driver.last_reply_text()

    return run


def _new_objective(driver, ctx, user):
    values = state(
        department=("option", str(ctx["dept_id"])),
        title="Win back detractors",
        quarter=("option", ctx["quarter"]),
        owner=("user", user),
        due_date=("date", ctx["due"]),
        kr0_title="NPS",
        kr0_unit="pts",
        kr0_baseline="30",
        kr0_target="45",
    )
    resp = driver.view_submission("okr_new_objective", values, user=user)
    return resp.body or ""


def _edit_objective(driver, ctx, user):
    values = state(
        title="Delight every customer",
        owner=("user", ALICE),
        due_date=("date", ctx["due"]),
        kr0_title="NPS",
        kr0_target="60",
        kr0_owner=("user", BOB),
    )
    meta = f"O-{ctx['obj']}|{ctx['kr']}"
    resp = driver.view_submission("okr_edit_objective", values, user=user, private_metadata=meta)
    return resp.body or ""


def _setup(driver, ctx, user):
    values = state(
        leadership_channel=("conversation", "C0LEADERS1"),
        recognition_channel=("conversation", "C0KUDOS001"),
        digest_weekday=("option", "4"),
        digest_time=("time", "16:00"),
        reminder_weekday=("option", "0"),
        reminder_time=("time", "10:00"),
        review_lead_days="7",
        recognition_emoji="star",
    )
    return driver.view_submission("okr_setup", values, user=user).body or ""


WRITES = [
    Write(
        "dept create",
        "department.create",
        {"admin"},
        "workspace admin",
        _cmd("/okr", "dept create Logistics"),
    ),
    Write(
        "dept add member",
        "department.add_members",
        {"head", "admin"},
        "head of Support",
        _cmd("/okr", "dept add <@U0DAVE001> to Support"),
    ),
    Write(
        "dept appoint head",
        "department.add_members",
        {"admin"},
        "workspace admin",
        _cmd("/okr", "dept head <@U0DAVE001> to Support"),
    ),
    Write(
        "objective create", "objective.create", {"head", "admin"}, "head of Support", _new_objective
    ),
    Write(
        "objective edit", "objective.update", {"head", "admin"}, "head of Support", _edit_objective
    ),
    Write(
        "objective close",
        "objective.close",
        {"head", "admin"},
        "head of Support",
        _cmd("/okr", "close O-{obj} 0.7"),
    ),
    # BOB (the member) owns KR-1: owners, heads and admins check in; another head may not.
    Write(
        "check-in",
        "checkin.create",
        {"member", "head", "admin"},
        "head of Support",
        _cmd("/checkin", "KR-{kr} 40 7/10 steady"),
    ),
    Write(
        "kpi bind",
        "key_result.bind_kpi",
        {"head", "admin"},
        "head of Support",
        _cmd("/okr", "bind KR-{kr} nps"),
    ),
    Write("workspace settings", "settings.update", {"admin"}, "workspace admin", _setup),
    Write(
        "behavior add",
        "behavior.create",
        {"head", "admin"},
        "head of Support",
        _cmd("/behavior", "add Support Call every detractor within 48 hours --target 3"),
    ),
    Write(
        "behavior log",
        "behavior.log",
        {"member", "head", "admin"},
        "members of Support",
        _cmd("/behavior", "log B-{behavior} 2 called them"),
    ),
    Write(
        "kudos",
        "recognition.create",
        {"member", "other_head", "head", "admin"},
        "",
        _cmd("/kudos", "<@U0DAVE001> turned a detractor into a promoter"),
    ),
]


def audit_rows(engine, action: str) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action)).all())


def audit_count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(AuditLog)).one()


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
def test_role_matrix(write: Write, role: str, driver, slack, engine):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    department(engine, "Sales", heads=(CAROL,), channel="C0SALES001")
    obj, (kr,) = objective(engine, support, owner=BOB)
    ctx = {
        "dept_id": support.id,
        "obj": obj.number,
        "kr": kr.number,
        "quarter": obj.quarter,
        "due": obj.due_date.isoformat(),
        "behavior": 1,
    }
    slack.add_user(DAVE, name="Dave")
    if write.name == "behavior log":
        driver.command("/behavior", "add Support Call every detractor --target 3", user=ALICE)
        driver.last_reply_text()
    slack.reset()
    user = ROLES[role]
    before = {a.id for a in audit_rows(engine, write.audit_action)}
    total_before = audit_count(engine)
    answer = write.run(driver, ctx, user)
    new = [a for a in audit_rows(engine, write.audit_action) if a.id not in before]
    if role in write.allowed:
        assert "Only " not in answer, (write.name, role, answer)
        assert len(new) == 1, (write.name, role, answer)
        row = new[0]
        assert row.actor_id == user and row.team_id == "T0TEAMA01"
        assert row.created_at is not None and (row.after or row.before or row.entity_id)
        if row.after:
            json.loads(row.after)  # before/after are JSON snapshots
    else:
        assert f"Only {write.refusal}" in answer or write.refusal in answer, (
            write.name,
            role,
            answer,
        )
        assert new == [] and audit_count(engine) == total_before
