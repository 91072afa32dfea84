"""The digest's bulk reads on hand-made data (SQLite and PostgreSQL): a key result's check-ins
this week and its value and confidence as they stood a week ago, and the forecasts read by
team (the path a big workspace takes) agreeing with those read by key result id."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from storage import forecast
from storage.db import session_scope
from storage.digest_queries import build_digest_data
from storage.forecast import forecasts
from storage.models import CheckIn, KeyResult
from storage.objectives import KeyResultInput
from tests.support.factories import TEAM, department, objective

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday in 2026-Q4


def add_checkin(engine, kr, when: datetime, value: float | None, confidence: int) -> None:
    with session_scope(engine) as s:
        s.add(
            CheckIn(
                team_id=TEAM,
                key_result_id=kr.id,
                author_id="U0ALICE01",
                value=value,
                confidence=confidence,
                created_at=when,
            )
        )
        row = s.get(KeyResult, kr.id)
        row.current_value, row.last_confidence, row.last_checkin_at = value, confidence, when
        s.add(row)


def test_week_counts_and_values_a_week_ago(engine):
    d = department(engine)
    _, (busy, quiet, fresh) = objective(
        engine,
        d,
        quarter="2026-Q4",
        krs=[
            KeyResultInput(title="Busy", baseline=0, target=100),
            KeyResultInput(title="Quiet", baseline=0, target=100),
            KeyResultInput(title="Fresh", baseline=0, target=100),
        ],
    )
    # Busy: two check-ins before the week (the later one is "a week ago"), two in the week.
    add_checkin(engine, busy, NOW - timedelta(days=20), 10, 3)
    add_checkin(engine, busy, NOW - timedelta(days=9), 20, 5)
    add_checkin(engine, busy, NOW - timedelta(days=3), 30, 7)
    add_checkin(engine, busy, NOW - timedelta(hours=1), 35, 8)
    # Quiet: one check-in before the week, none since.
    add_checkin(engine, quiet, NOW - timedelta(days=12), 40, 6)
    # Fresh: only this week.
    add_checkin(engine, fresh, NOW - timedelta(days=1), 5, 9)
    with session_scope(engine) as s:
        data = build_digest_data(s, team_id=TEAM, now=NOW)
    (dept,) = data.departments
    got = {
        k.key_result.title: (k.checkins_this_week, k.value_week_ago, k.confidence_week_ago)
        for k in dept.key_results
    }
    assert got == {"Busy": (2, 20, 5), "Quiet": (0, 40, 6), "Fresh": (1, None, None)}
    assert [k.key_result.title for k in dept.moved] == ["Busy", "Fresh"]


def test_forecasts_by_team_match_forecasts_by_key_result_id(engine, monkeypatch):
    d = department(engine)
    _, krs = objective(
        engine,
        d,
        quarter="2026-Q4",
        krs=[
            KeyResultInput(title="Line", baseline=30, target=50),
            KeyResultInput(title="One value", baseline=0, target=10),
            KeyResultInput(title="Same time", baseline=0, target=10),
            KeyResultInput(title="Last quarter too", baseline=0, target=100),
        ],
    )
    line, one, same, spans = krs

    def at(day: date, hour: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    for day, value in [(date(2026, 10, 1), 30), (date(2026, 10, 11), 30), (date(2026, 10, 21), 33)]:
        add_checkin(engine, line, at(day, 9), value, 7)
    add_checkin(engine, line, at(date(2026, 10, 25)), None, 7)  # no value: not a point
    add_checkin(engine, one, at(date(2026, 10, 5)), 4, 7)
    for value in (3, 5):
        add_checkin(engine, same, at(date(2026, 10, 5)), value, 7)
    add_checkin(engine, spans, at(date(2026, 9, 30)), 90, 7)  # before the quarter: ignored
    add_checkin(engine, spans, at(date(2026, 10, 2)), 10, 7)
    add_checkin(engine, spans, at(date(2026, 11, 2)), 40, 7)
    with Session(engine) as s:
        rows = s.exec(select(KeyResult)).all()
        by_id = forecasts(s, team_id=TEAM, quarter="2026-Q4", key_results=rows)
        monkeypatch.setattr(forecast, "ID_LIST_MAX", 1)
        by_team = forecasts(s, team_id=TEAM, quarter="2026-Q4", key_results=rows)
    assert set(by_id) == set(by_team) == {line.id, spans.id}
    for kr_id, f in by_id.items():
        g = by_team[kr_id]
        assert (g.on, g.points) == (f.on, f.points)
        assert g.value == pytest.approx(f.value)
        assert g.progress == pytest.approx(f.progress)
    # 10 on day 1, 40 on day 32: 30/31 a day, at day 91: 10 + 90·30/31.
    assert by_id[spans.id].value == pytest.approx(10 + 90 * 30 / 31)
