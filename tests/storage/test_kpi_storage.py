"""storage.kpi_values queries behind `/kpi`, staleness, and the /kpi message limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from slackapp.blocks.kpi import kpi_overview, rejected_lines
from storage.db import session_scope
from storage.kpi_values import (
    ValueIn,
    is_stale,
    latest_values,
    series,
    sync_period,
    upsert_values,
)
from tests.support.factories import TEAM, department


def test_latest_values_change_since_last_week_and_team_isolation(engine):
    support = department(engine, "Support")
    with session_scope(engine) as s:
        upsert_values(
            s,
            team_id=TEAM,
            values=[
                ValueIn("nps", 0, date(2026, 11, 2), 30),
                ValueIn("nps", 0, date(2026, 11, 9), 33),
                ValueIn("nps", 0, date(2026, 11, 12), 35),
                ValueIn("nps", support.id, date(2026, 11, 12), 20),
                ValueIn("churn_rate", 0, date(2026, 11, 12), 4),
            ],
        )
        upsert_values(s, team_id="T0OTHER01", values=[ValueIn("nps", 0, date(2026, 11, 20), 99)])
    with session_scope(engine) as s:
        latest = latest_values(s, team_id=TEAM)
        got = [(v.kpi_name, v.department, v.day, v.value, v.previous, v.change) for v in latest]
        assert got == [
            ("nps", None, date(2026, 11, 12), 35, 30, 5),  # a week before Nov 12 → Nov 2's value
            ("nps", "Support", date(2026, 11, 12), 20, None, None),
            ("churn_rate", None, date(2026, 11, 12), 4, None, None),
        ]
        assert series(s, team_id=TEAM, kpi_name="nps") == {
            "company-wide": [
                (date(2026, 11, 2), 30),
                (date(2026, 11, 9), 33),
                (date(2026, 11, 12), 35),
            ],
            "Support": [(date(2026, 11, 12), 20)],
        }


def test_latest_values_one_meaning_of_before_and_its_filters(engine):
    """ "Before" is the newest value at least 7 days older (exactly 7 counts), across a month end;
    scope, as_of and since narrow what is newest."""
    support = department(engine, "Support")
    with session_scope(engine) as s:
        upsert_values(
            s,
            team_id=TEAM,
            values=[
                ValueIn("csat", 0, date(2026, 11, 25), 80),
                ValueIn("csat", 0, date(2026, 11, 26), 82),
                ValueIn("csat", 0, date(2026, 11, 30), 85),
                ValueIn("csat", 0, date(2026, 12, 3), 90),
                ValueIn("csat", support.id, date(2026, 12, 3), 70),
                ValueIn("nps", 0, date(2026, 8, 1), 10),
            ],
        )
    with session_scope(engine) as s:
        company = latest_values(s, team_id=TEAM, scope=0)
        assert [(v.kpi_name, v.day, v.value, v.previous_day, v.change) for v in company] == [
            ("nps", date(2026, 8, 1), 10, None, None),
            ("csat", date(2026, 12, 3), 90, date(2026, 11, 26), 8),  # Dec 3 − 7 days = Nov 26
        ]
        earlier = latest_values(s, team_id=TEAM, kpi_name="csat", as_of=date(2026, 12, 2))
        assert [(v.scope, v.day, v.previous_day) for v in earlier] == [
            (0, date(2026, 11, 30), None)  # nothing at or before Nov 23
        ]
        recent = latest_values(s, team_id=TEAM, since=date(2026, 11, 1))
        assert [(v.kpi_name, v.department, v.value) for v in recent] == [
            ("csat", None, 90),
            ("csat", "Support", 70),
        ]
        assert recent[0].improved is True


def test_stale_after_two_sync_periods():
    now = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    assert sync_period("0 * * * *", now) == timedelta(hours=1)
    assert sync_period("0 6 * * *", now) == timedelta(days=1)
    assert not is_stale(now - timedelta(minutes=119), cron="0 * * * *", now=now)
    assert is_stale(now - timedelta(minutes=121), cron="0 * * * *", now=now)
    assert is_stale(None, cron="0 * * * *", now=now)


def test_overview_respects_block_limit_with_many_custom_kpis(engine):
    with session_scope(engine) as s:
        upsert_values(
            s,
            team_id=TEAM,
            values=[ValueIn(f"custom_{i:03d}", 0, date(2026, 11, 23), i) for i in range(80)],
        )
    with session_scope(engine) as s:
        blocks = kpi_overview(latest_values(s, team_id=TEAM), last=None, last_ok=None, stale=True)
    assert len(blocks) <= 50
    assert any("more KPIs" in str(b.to_dict()) for b in blocks)


def test_rejected_lines_come_from_the_rejected_block_only():
    report = "head\nsummary\nRejected (2):\n  KPIs!C4: x\n  KPIs!C5: y\nNotes (1):\n  KPIs!A1: z"
    assert rejected_lines(report) == ["KPIs!C4: x", "KPIs!C5: y"]
