"""`/okr list at-risk | off-track | stale | blocked [<department>]`, and a filter that is not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, func, select

from storage.checkins import record_checkin
from storage.db import session_scope
from storage.models import AuditLog, CheckIn, KeyResult, utcnow
from storage.objectives import KeyResultInput
from tests.conftest import ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective


def checkin(engine, ref, user, value, confidence, blocker=""):
    with session_scope(engine) as s:
        record_checkin(s, team_id=TEAM, user_id=user, is_admin=False, ref=ref, value=value,
                       confidence=confidence, blocker=blocker)  # fmt: skip


def kr(title, owner):
    return KeyResultInput(title=title, baseline=0, target=100, owner_id=owner)


def test_filters_pick_key_results_by_status_staleness_and_blocker(driver, slack, engine):
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    sales = department(engine, "Sales", heads=(BOB,), channel="C0SALES001")
    objective(engine, support, owner=CAROL, krs=[kr("Shaky one", CAROL), kr("Sinking one", CAROL),
                                                 kr("Quiet one", CAROL)])  # fmt: skip
    objective(engine, sales, owner=BOB, krs=[kr("Sales shaky", BOB)])
    checkin(engine, "KR-1", CAROL, 90, 5, blocker="Waiting on Sales for the price list")
    checkin(engine, "KR-2", CAROL, 90, 2)
    checkin(engine, "KR-4", BOB, 90, 6)
    with session_scope(engine) as s:  # KR-3 has not been checked in on for a month
        s.execute(update(KeyResult).where(KeyResult.number == 3)
                  .values(created_at=utcnow() - timedelta(days=30)))  # fmt: skip

    def listed(text):
        slack.reset()
        driver.command("/okr", text, user=BOB)
        return driver.last_reply_text()

    at_risk = listed("list at-risk")
    assert "Shaky one" in at_risk and "Sales shaky" in at_risk and "Sinking one" not in at_risk
    assert "Sales shaky" not in listed("list at-risk support")
    off = listed("list OFF-TRACK Support")
    assert "Sinking one" in off and "Shaky one" not in off
    stale = listed("list stale")
    assert "Quiet one" in stale and "Shaky one" not in stale
    blocked = listed("list blocked")
    assert "Shaky one" in blocked and "Waiting on Sales for the price list" in blocked
    assert "Sinking one" not in blocked
    assert "Nothing here" in listed("list blocked sales")


def test_unknown_filter_or_department_quotes_input_and_writes_nothing(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,))
    with Session(engine) as s:
        before = s.exec(select(func.count()).select_from(AuditLog)).one()
    for text in ("list sideways", "list blocked nowhere"):
        slack.reset()
        driver.command("/okr", text, user=ALICE)
        reply = driver.last_reply_text()
        assert f"/okr {text}" in reply, reply
        assert "/okr list at-risk | off-track | stale | blocked" in reply
        assert "sideways" in reply or "no department named *nowhere*" in reply
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AuditLog)).one() == before
        assert s.exec(select(func.count()).select_from(CheckIn)).one() == 0
