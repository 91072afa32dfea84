"""storage.teams: the workspace's admins, its timezone, and the quarter in that timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import session_scope
from storage.models import SlackUser, Team
from storage.quarters import current_quarter_range
from storage.teams import admin_ids, team_timezone, team_zone
from tests.support.factories import TEAM


def test_admin_ids_configured_first_then_seen_admins_once(engine):
    with session_scope(engine) as s:
        s.add(Team(team_id=TEAM))
        s.add(Team(team_id="T0OTHER01"))
        s.add_all(
            [
                SlackUser(team_id=TEAM, user_id="U0ZED00001", is_admin=True),
                SlackUser(team_id=TEAM, user_id="U0AMY00001", is_admin=True),
                SlackUser(team_id=TEAM, user_id="U0GONE0001", is_admin=True, deleted=True),
                SlackUser(team_id=TEAM, user_id="U0BOT00001", is_admin=True, is_bot=True),
                SlackUser(team_id=TEAM, user_id="U0PLAIN001"),
                SlackUser(team_id="T0OTHER01", user_id="U0ELSE0001", is_admin=True),
            ]
        )
    with session_scope(engine) as s:
        assert admin_ids(s, team_id=TEAM) == ["U0AMY00001", "U0ZED00001"]
        assert admin_ids(s, team_id=TEAM, configured=("U0CONF0001", "U0ZED00001")) == [
            "U0CONF0001",
            "U0ZED00001",
            "U0AMY00001",
        ]
        assert admin_ids(s, team_id="T0NOBODY1") == []


def test_team_timezone_falls_back_to_the_configured_default():
    assert team_timezone(None, "Europe/Paris") == "Europe/Paris"
    assert team_timezone(Team(team_id=TEAM), "Europe/Paris") == "Europe/Paris"
    assert team_timezone(Team(team_id=TEAM, timezone="Asia/Tokyo"), "Europe/Paris") == "Asia/Tokyo"
    assert str(team_zone(Team(team_id=TEAM, timezone="Not/AZone"), "Europe/Paris")) == (
        "Europe/Paris"
    )
    assert str(team_zone(None, "Nor/This")) == "UTC"


def test_current_quarter_is_the_workspace_s(engine):
    with session_scope(engine) as s:
        s.add(Team(team_id=TEAM, timezone="Asia/Tokyo"))
    new_year_in_tokyo = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # Jan 1, 01:30 in Tokyo
    with session_scope(engine) as s:
        quarter, start, end = current_quarter_range(s, team_id=TEAM, now=new_year_in_tokyo)
        assert quarter == "2027-Q1"
        assert start == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)  # Jan 1 00:00 in Tokyo
        assert end == datetime(2027, 3, 31, 15, 0, tzinfo=UTC)
        other, _, _ = current_quarter_range(s, team_id="T0NOTEAM1", now=new_year_in_tokyo)
        assert other == "2026-Q4"  # an unknown workspace: the default, UTC
