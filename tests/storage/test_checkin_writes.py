"""What a check-in writes, on both databases: the check-in row, the key result's new state,
and one audit row naming the check-in — on PostgreSQL in a single statement after the read."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, select

from storage.checkins import CHECKIN_ACTION, record_checkin
from storage.db import session_scope
from storage.models import AuditLog, CheckIn, KeyResult
from tests.support.factories import department, objective
from tests.support.sql_count import counted_statements


def _check_in(engine, **what):
    with session_scope(engine) as s:
        row, _kr = record_checkin(
            s, team_id="T0TEAMA01", user_id="U0ALICE01", is_admin=False, ref="KR-1", **what
        )
    return row


def test_a_checkin_writes_its_row_the_key_result_and_one_audit_row(engine):
    _, (kr,) = objective(engine, department(engine, "Support"))
    with Session(engine) as s:
        created = s.get(KeyResult, kr.id).created_at
    first = _check_in(engine, value=40, confidence=7, note="calls back", blocker="no data")
    second = _check_in(engine, value=42.5, confidence=None)  # keeps the last confidence
    with Session(engine) as s:
        rows = s.exec(select(CheckIn).order_by(CheckIn.id)).all()
        assert [(r.id, r.value, r.confidence, r.note, r.blocker) for r in rows] == [
            (first.id, 40, 7, "calls back", "no data"),
            (second.id, 42.5, 7, "", ""),
        ]
        stored = s.get(KeyResult, kr.id)
        # Only the check-in's columns change: the key result keeps its team and creation time.
        assert (stored.current_value, stored.last_confidence) == (42.5, 7)
        assert stored.team_id == "T0TEAMA01" and stored.created_at == created
        assert stored.last_checkin_at == rows[1].created_at
        audits = s.exec(
            select(AuditLog).where(AuditLog.action == CHECKIN_ACTION).order_by(AuditLog.id)
        ).all()
    assert len(audits) == 2
    for audit, row, value, confidence in zip(audits, rows, (40, 42.5), (7, 7), strict=True):
        before, after = json.loads(audit.before), json.loads(audit.after)
        assert (audit.entity, audit.entity_id, audit.actor_id) == ("key_result", kr.id, "U0ALICE01")
        assert after["checkin_id"] == row.id and isinstance(after["checkin_id"], int)
        assert after["blocker"] is (row.blocker != "")
        assert (after["current_value"], after["last_confidence"]) == (value, confidence)
        assert datetime.fromisoformat(after["last_checkin_at"]) == row.created_at
        assert set(after) - set(before) == {"checkin_id", "blocker"}
    assert json.loads(audits[1].before)["current_value"] == 40


def test_a_checkin_reads_once_and_writes_once_on_postgresql(engine):
    objective(engine, department(engine, "Support"))
    with counted_statements(engine) as sent:
        _check_in(engine, value=41, confidence=6)
    writes = [s for s in sent if not s.lstrip().upper().startswith("SELECT")]
    if engine.dialect.name == "postgresql":
        assert len(sent) == 2 and sent[1].lstrip().startswith("WITH")
    else:  # SQLite has no writing WITH clauses: three statements
        assert len(writes) == 3


def test_a_checkin_returns_what_it_wrote_and_updates_a_key_result_the_session_had_loaded(engine):
    """The check-in and the key result come back as plain rows holding what the database now
    holds; a key result the same session had loaded as an entity says the same, with no change
    left to flush."""
    _, (kr,) = objective(engine, department(engine, "Support"))
    with session_scope(engine) as s:
        loaded = s.get(KeyResult, kr.id)
        row, after = record_checkin(
            s,
            team_id="T0TEAMA01",
            user_id="U0ALICE01",
            is_admin=False,
            ref="KR-1",
            value=44,
            confidence=8,
        )
        assert not isinstance(row, CheckIn) and not isinstance(after, KeyResult)
        assert (loaded.current_value, loaded.last_confidence) == (44, 8)
        assert loaded.last_checkin_at == after.last_checkin_at == row.created_at
        assert not s.dirty
    with Session(engine) as s:
        assert row._asdict() == s.get(CheckIn, row.id).model_dump()
        assert after._asdict() == s.get(KeyResult, kr.id).model_dump()
