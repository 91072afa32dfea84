"""Commitments in storage (SQLite and PostgreSQL): validation, one decision under concurrent
accepts, overdue, and export / `user forget` / team purge covering links and commitments."""

from __future__ import annotations

import csv
import threading
from datetime import date, timedelta

import pytest
from sqlmodel import Session, func, select

from storage import alignment, commitments
from storage.db import session_scope
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.export import export_team
from storage.lifecycle import forget_user, purge_team
from storage.models import AuditLog, Commitment, ObjectiveLink
from storage.objectives import get_objective
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective

TEAM_B = "T0TEAMB02"
TODAY = date(2026, 11, 20)
DAVE = "U0DAVE001"


@pytest.fixture
def world(engine):
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    product = department(engine, "Product", heads=(BOB, DAVE), channel="C0PRODUCT1")
    return dict(support=support, product=product)


def ask(engine, world, *, due=TODAY + timedelta(days=5), asker=CAROL, what="Fix the export"):
    with session_scope(engine) as s:
        return commitments.ask(s, team_id=TEAM, actor_id=asker, is_admin=False,
                               department=world["product"], what=what, due_date=due, today=TODAY)  # fmt: skip


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_due_dates_and_department_parsing(engine, world):
    assert commitments.parse_due_date("2026-11-20", today=TODAY) == TODAY
    for bad, msg in [("2026-11-19", "in the past"), ("31/02/2026", "not a date"),
                     ("2026-02-31", "not a date"), ("20261120", "not a date")]:  # fmt: skip
        with pytest.raises(DomainError, match=msg):
            commitments.parse_due_date(bad, today=TODAY)
    with Session(engine) as s:
        dept, rest = commitments.split_department(s, team_id=TEAM, text="product Fix it now")
        assert (dept.name, rest) == ("Product", "Fix it now")
        with pytest.raises(NotFound, match="`Sales`"):
            commitments.split_department(s, team_id=TEAM, text="Sales Fix it")
        with pytest.raises(DomainError, match="Say what you need"):
            commitments.split_department(s, team_id=TEAM, text="Product")


def test_refusals_write_nothing(engine, world):
    with pytest.raises(DomainError, match="You are in Product"):
        ask(engine, world, asker=BOB)
    with pytest.raises(DomainError, match="in the past"):
        ask(engine, world, due=TODAY - timedelta(days=1))
    with pytest.raises(PermissionDenied, match="member of a department"):
        ask(engine, world, asker="U0NOBODY1")
    with pytest.raises(DomainError, match="Say what"):
        ask(engine, world, what="  ")
    assert count(engine, Commitment) == 0
    with Session(engine) as s:
        assert not s.exec(select(AuditLog).where(AuditLog.entity == "commitment")).all()


def test_numbers_per_team_and_one_decision(engine, world):
    first = ask(engine, world)
    second = ask(engine, world)
    assert (first.number, second.number) == (1, 2)
    other = department(engine, "Ops", team_id=TEAM_B, heads=(BOB,), channel="C0BOPS0001")
    with session_scope(engine) as s:
        b = commitments.ask(s, team_id=TEAM_B, actor_id=ADMIN, is_admin=True, department=other,
                            what="x", due_date=TODAY, today=TODAY)  # fmt: skip
        assert b.number == 1
    with session_scope(engine) as s:
        won = commitments.accept(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1")
        assert won.won and won.commitment.owner_id == BOB
    with session_scope(engine) as s:
        again = commitments.accept(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1")
        assert not again.won and again.commitment.owner_id == BOB
    with session_scope(engine) as s, pytest.raises(FieldErrors) as exc:
        commitments.decline(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-2", reason="")
    assert "reason" in exc.value.errors
    with session_scope(engine) as s, pytest.raises(PermissionDenied, match="head of Product"):
        commitments.accept(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="C-2")


def test_concurrent_accepts_leave_one_owner(engine, world):
    ask(engine, world)
    results = []

    def accept(user):
        with session_scope(engine) as s:
            results.append(
                commitments.accept(s, team_id=TEAM, actor_id=user, is_admin=False, ref="C-1").won
            )

    threads = [threading.Thread(target=accept, args=(u,)) for u in (BOB, DAVE, BOB, DAVE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "commitment.accept")).one() == 1  # fmt: skip


def test_done_by_owner_or_head_only(engine, world):
    ask(engine, world)
    with session_scope(engine) as s:
        commitments.accept(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1")
    with session_scope(engine) as s, pytest.raises(PermissionDenied, match="owner of C-1"):
        commitments.complete(s, team_id=TEAM, actor_id=CAROL, is_admin=False, ref="C-1")
    with session_scope(engine) as s:
        row = commitments.complete(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1",
                                   note="shipped")  # fmt: skip
        assert (row.status, row.done_by, row.owner_id) == ("done", BOB, DAVE)
    with Session(engine) as s:
        assert commitments.overdue(s, team_id=TEAM, today=TODAY + timedelta(days=30)) == []


def test_export_forget_and_purge_cover_links_and_commitments(engine, world, tmp_path):
    company, _ = objective(engine, None, title="Company goal", owner=ADMIN)
    child, _ = objective(engine, world["support"], title="Callbacks")
    with session_scope(engine) as s:
        alignment.align(s, team_id=TEAM, actor_id=ALICE, is_admin=False,
                        child=get_objective(s, team_id=TEAM, ref=f"O-{child.number}"),
                        parent=get_objective(s, team_id=TEAM, ref=f"O-{company.number}"))  # fmt: skip
    ask(engine, world, what=f"Call <@{CAROL}> back")
    with session_scope(engine) as s:
        commitments.accept(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1")
        commitments.complete(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1",
                             note="Bob's private note")  # fmt: skip
    other = department(engine, "Ops", team_id=TEAM_B, heads=(BOB,), channel="C0BOPS0001")
    with session_scope(engine) as s:
        commitments.ask(s, team_id=TEAM_B, actor_id=ADMIN, is_admin=True, department=other,
                        what="B only", due_date=TODAY, today=TODAY)  # fmt: skip

    manifest = export_team(engine, team_id=TEAM, out_dir=tmp_path)
    assert manifest["tables"]["objectivelink"] == 1 and manifest["tables"]["commitment"] == 1
    with (tmp_path / "commitment.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["what"] for r in rows] == [f"Call <@{CAROL}> back"]

    with session_scope(engine) as s:
        forgotten = forget_user(s, team_id=TEAM, user_id=CAROL, actor_id=ADMIN)
        forget_user(s, team_id=TEAM, user_id=BOB, actor_id=ADMIN)
    with Session(engine) as s:
        row = s.exec(select(Commitment).where(Commitment.team_id == TEAM)).one()
        assert row.asker_id == forgotten["pseudonym"] and CAROL not in row.what
        assert row.owner_id != BOB and row.done_by != BOB and not row.done_note

    with session_scope(engine) as s:
        counts = purge_team(s, team_id=TEAM)
    assert counts["objectivelink"] == 1 and counts["commitment"] == 1
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ObjectiveLink)).one() == 0
        assert [c.what for c in s.exec(select(Commitment))] == ["B only"]


# ---- state changes are conditional on the state they were read in ------------------------------


class ReadFirst(Session):
    """A session that has read the commitment (as a request does before it decides) and
    holds on to what it read while other sessions change it."""

    def __init__(self, engine, ref="C-1"):
        super().__init__(engine, expire_on_commit=False)
        self.read = commitments.get_commitment(self, team_id=TEAM, ref=ref)
        assert self.read.status in commitments.PENDING


def read_then(engine):
    return ReadFirst(engine)


def test_done_after_a_decline_landed_in_between_changes_nothing(engine, world):
    ask(engine, world)
    late = read_then(engine)
    with session_scope(engine) as s:
        commitments.decline(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1",
                            reason="No capacity")  # fmt: skip
    with late, pytest.raises(commitments.AlreadyChanged, match="C-1 is already declined"):
        commitments.complete(late, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1",
                             note="done anyway")  # fmt: skip
    with Session(engine) as s:
        row = s.exec(select(Commitment)).one()
        assert (row.status, row.decline_reason, row.done_by) == ("declined", "No capacity", None)
        actions = s.exec(select(AuditLog.action).where(AuditLog.entity == "commitment")).all()
        assert sorted(actions) == ["commitment.ask", "commitment.decline"]


def test_reassign_after_a_decline_landed_in_between_changes_nothing(engine, world):
    ask(engine, world)
    late = read_then(engine)
    with session_scope(engine) as s:
        commitments.decline(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1",
                            reason="No capacity")  # fmt: skip
    with late, pytest.raises(commitments.AlreadyChanged, match="C-1 is already declined"):
        commitments.reassign(late, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1",
                             owner_id=DAVE)  # fmt: skip
    with Session(engine) as s:
        row = s.exec(select(Commitment)).one()
        assert (row.status, row.owner_id, row.decided_by) == ("declined", None, DAVE)
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "commitment.reassign")).one() == 0  # fmt: skip


def test_second_done_read_before_the_first_closed_it_changes_nothing(engine, world):
    ask(engine, world)
    with session_scope(engine) as s:
        commitments.accept(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1")
    late = read_then(engine)
    with session_scope(engine) as s:
        commitments.complete(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1",
                             note="first")  # fmt: skip
    with late, pytest.raises(commitments.AlreadyChanged, match="C-1 is already done"):
        commitments.complete(late, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1",
                             note="second")  # fmt: skip
    with Session(engine) as s:
        row = s.exec(select(Commitment)).one()
        assert (row.status, row.done_by, row.done_note) == ("done", DAVE, "first")
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "commitment.done")).one() == 1  # fmt: skip


def test_reassign_or_done_after_the_owner_changed_in_between_changes_nothing(engine, world):
    ask(engine, world)
    with session_scope(engine) as s:
        commitments.accept(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1")
    late_reassign, late_done = read_then(engine), read_then(engine)
    with session_scope(engine) as s:
        commitments.reassign(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-1",
                             owner_id=BOB)  # fmt: skip
    # Dave read himself as the owner: he may close it no longer, nor hand it on.
    with late_reassign, pytest.raises(commitments.AlreadyChanged, match="C-1 changed"):
        commitments.reassign(late_reassign, team_id=TEAM, actor_id=DAVE, is_admin=False,
                             ref="C-1", owner_id=DAVE)  # fmt: skip
    with late_done, pytest.raises(commitments.AlreadyChanged, match="C-1 changed"):
        commitments.complete(late_done, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1")
    with Session(engine) as s:
        row = s.exec(select(Commitment)).one()
        assert (row.status, row.owner_id) == ("accepted", BOB)
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "commitment.reassign")).one() == 1  # fmt: skip


def test_concurrent_dones_close_once(engine, world):
    ask(engine, world)
    with session_scope(engine) as s:
        commitments.accept(s, team_id=TEAM, actor_id=DAVE, is_admin=False, ref="C-1")
    outcomes = []

    def close(user):
        try:
            with session_scope(engine) as s:
                commitments.complete(s, team_id=TEAM, actor_id=user, is_admin=False, ref="C-1")
            outcomes.append("closed")
        except commitments.AlreadyChanged:
            outcomes.append("already")

    threads = [threading.Thread(target=close, args=(u,)) for u in (BOB, DAVE, BOB, DAVE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already", "already", "already", "closed"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "commitment.done")).one() == 1  # fmt: skip
