"""The request's Caller: the role is looked up once per request, whatever asks for it."""

from __future__ import annotations

from sqlmodel import delete

from slackapp.context import Deps
from slackapp.roles import Caller
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.models import SlackUser
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import TEAM, department


def caller_for(settings, engine, user_id: str) -> Caller:
    """What the middleware builds for one request."""
    deps = Deps(settings=settings, engine=engine)
    return Caller(deps=deps, client=make_web_client(settings), team_id=TEAM, user_id=user_id)


def test_admin_flag_and_headed_departments_resolved_once(engine, settings, slack):
    sales = department(engine, "Sales", heads=[ALICE])
    caller = caller_for(settings, engine, ADMIN)
    with session_scope(engine) as session:
        assert caller.is_admin(session) is True
        session.exec(delete(SlackUser))  # a second lookup would have to ask Slack again
        assert caller.as_actor(session) == {"team_id": TEAM, "actor_id": ADMIN, "is_admin": True}
        assert caller.as_user(session) == {"team_id": TEAM, "user_id": ADMIN, "is_admin": True}
        assert [d.id for d in caller.managed_departments(session)] == [sales.id]  # admin: all
    assert len(slack.calls_to("users.info")) == 1

    head = caller_for(settings, engine, ALICE)
    with session_scope(engine) as session:
        assert head.is_admin(session) is False and head.is_head(session)
        assert [d.name for d in head.managed_departments(session)] == ["Sales"]
    member = caller_for(settings, engine, BOB)
    with session_scope(engine) as session:
        assert member.managed_departments(session) == [] and not member.is_head(session)
