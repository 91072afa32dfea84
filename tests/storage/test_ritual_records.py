"""Blockers, comments on key results and nudges are covered by export, the audit log,
`loyalty user forget` and team purge, like every other record."""

from __future__ import annotations

import csv
from datetime import date

from sqlmodel import Session, func, select

from storage.checkins import record_checkin
from storage.db import session_scope
from storage.export import export_team
from storage.kr_comments import add_comment
from storage.lifecycle import forget_user, purge_team
from storage.models import AuditLog, CheckIn, KrComment, KrNudge
from storage.nudges import nudge
from tests.conftest import ALICE, CAROL
from tests.support.factories import TEAM, department, objective


def seed(engine):
    dept = department(engine, heads=(ALICE,), members=(CAROL,))
    objective(engine, dept, owner=CAROL)
    with session_scope(engine) as s:
        record_checkin(s, team_id=TEAM, user_id=CAROL, is_admin=False, ref="KR-1", value=35,
                       confidence=5, note="slow", blocker="Carol needs the CRM export")  # fmt: skip
        add_comment(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="KR-1",
                    text="Alice says: call Product today")  # fmt: skip
        nudge(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="KR-1", today=date(2026, 12, 3))


def test_export_and_audit_cover_blockers_comments_and_nudges(engine, tmp_path):
    seed(engine)
    manifest = export_team(engine, team_id=TEAM, out_dir=tmp_path)
    assert manifest["tables"]["krcomment"] == 1 and manifest["tables"]["krnudge"] == 1
    with (tmp_path / "checkin.csv").open(encoding="utf-8") as fh:
        (row,) = csv.DictReader(fh)
    assert row["blocker"] == "Carol needs the CRM export"
    with (tmp_path / "krcomment.csv").open(encoding="utf-8") as fh:
        assert next(csv.DictReader(fh))["text"] == "Alice says: call Product today"
    with Session(engine) as s:
        actions = set(s.exec(select(AuditLog.action)).all())
    assert {"checkin.create", "key_result.comment", "key_result.nudge"} <= actions


def test_forget_blanks_their_blockers_and_comments_and_hides_their_id(engine):
    seed(engine)
    with session_scope(engine) as s:
        forget_user(s, team_id=TEAM, user_id=CAROL)
        forget_user(s, team_id=TEAM, user_id=ALICE)
    with Session(engine) as s:
        checkin = s.exec(select(CheckIn)).one()
        assert (checkin.note, checkin.blocker) == ("", "")
        assert s.exec(select(KrComment.text)).one() == ""
        row = s.exec(select(KrNudge)).one()
        assert ALICE not in (row.nudged_by, row.owner_id) and CAROL not in (row.nudged_by,
                                                                          row.owner_id)  # fmt: skip


def test_purge_deletes_them(engine):
    seed(engine)
    with session_scope(engine) as s:
        counts = purge_team(s, team_id=TEAM)
    assert counts["krcomment"] == 1 and counts["krnudge"] == 1
    with Session(engine) as s:
        for model in (CheckIn, KrComment, KrNudge):
            assert s.exec(select(func.count()).select_from(model)).one() == 0
