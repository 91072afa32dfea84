"""The users.info cache (admin flag, timezone) under concurrent first requests."""

from __future__ import annotations

from sqlmodel import Session, select

from slackapp.context import fetch_user
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.models import SlackUser
from tests.conftest import ADMIN


def test_first_requests_racing_to_cache_a_user_both_succeed(engine, settings, slack):
    answer = slack._m_users_info

    def another_request_cached_them_first(args):
        # While this request waits on users.info, a concurrent one stores the same user.
        with session_scope(engine) as other:
            other.add(SlackUser(team_id="T0TEAMA01", user_id=ADMIN, is_admin=False, tz="UTC"))
        return answer(args)

    slack._m_users_info = another_request_cached_them_first
    client = make_web_client(settings)
    with session_scope(engine) as session:
        row = fetch_user(session, client, team_id="T0TEAMA01", user_id=ADMIN)
        assert row.is_admin is True  # the fresh users.info facts win over the racing row
    with Session(engine) as s:
        rows = s.exec(select(SlackUser)).all()
    assert [(r.user_id, r.is_admin, r.tz) for r in rows] == [(ADMIN, True, "America/New_York")]


def test_unknown_user_is_cached_as_deleted(engine, settings, slack):
    client = make_web_client(settings)
    with session_scope(engine) as session:
        assert fetch_user(session, client, team_id="T0TEAMA01", user_id="U0GONE001").deleted
    with Session(engine) as s:
        assert s.get(SlackUser, ("T0TEAMA01", "U0GONE001")).deleted is True
