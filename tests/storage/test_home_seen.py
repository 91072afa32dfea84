"""Who is looking at App Home (storage.home): the rule that decides whose Home a write
republishes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from storage.db import session_scope
from storage.home import HOME_SEEN_WINDOW, home_seen_recently, note_home_seen
from storage.models import SlackUser, utcnow

TEAM, OTHER_TEAM, USER = "T0TEAMA01", "T0TEAMB01", "U0ALICE01"


def test_seen_within_the_window_only(engine):
    now = utcnow()
    with session_scope(engine) as s:
        assert not home_seen_recently(s, team_id=TEAM, user_id=USER, now=now)
        note_home_seen(s, team_id=TEAM, user_id=USER, now=now - HOME_SEEN_WINDOW)
    with session_scope(engine) as s:
        assert home_seen_recently(s, team_id=TEAM, user_id=USER, now=now)
        later = now + timedelta(seconds=1)
        assert not home_seen_recently(s, team_id=TEAM, user_id=USER, now=later)
        # Another workspace's person with the same id has not looked at anything.
        assert not home_seen_recently(s, team_id=OTHER_TEAM, user_id=USER, now=now)


def test_noting_keeps_the_cached_user_facts(engine):
    with session_scope(engine) as s:
        s.add(SlackUser(team_id=TEAM, user_id=USER, is_admin=True, tz="Europe/Paris"))
    first, second = utcnow() - timedelta(minutes=90), utcnow()
    with session_scope(engine) as s:
        note_home_seen(s, team_id=TEAM, user_id=USER, now=first)
    with session_scope(engine) as s:
        note_home_seen(s, team_id=TEAM, user_id=USER, now=second)
    with Session(engine) as s:
        row = s.get(SlackUser, (TEAM, USER))
        assert (row.is_admin, row.tz, row.home_seen_at) == (True, "Europe/Paris", second)


def test_first_note_creates_a_row_that_users_info_still_fills(engine):
    with session_scope(engine) as s:
        note_home_seen(s, team_id=TEAM, user_id=USER)
    with Session(engine) as s:
        row = s.get(SlackUser, (TEAM, USER))
        # No users.info facts yet: the cache treats it as never fetched.
        assert row.fetched_at is None and row.home_seen_at is not None
        assert home_seen_recently(s, team_id=TEAM, user_id=USER)
