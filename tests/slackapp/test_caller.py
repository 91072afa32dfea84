"""The request's Caller: the role is looked up once per request, whatever asks for it."""

from __future__ import annotations

from sqlmodel import delete

from slackapp.context import Deps
from slackapp.roles import Caller
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.models import SlackUser
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import TEAM, department, objective


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
        actor, user = caller.as_actor(session), caller.as_user(session)
        assert (actor["team_id"], actor["actor_id"], bool(actor["is_admin"])) == (TEAM, ADMIN, True)
        assert (user["team_id"], user["user_id"], bool(user["is_admin"])) == (TEAM, ADMIN, True)
        assert [d.id for d in caller.managed_departments(session)] == [sales.id]  # admin: all
    assert len(slack.calls_to("users.info")) == 1

    head = caller_for(settings, engine, ALICE)
    with session_scope(engine) as session:
        assert head.is_admin(session) is False and head.is_head(session)
        assert [d.name for d in head.managed_departments(session)] == ["Sales"]
    member = caller_for(settings, engine, BOB)
    with session_scope(engine) as session:
        assert member.managed_departments(session) == [] and not member.is_head(session)


def test_admin_flag_looked_up_only_when_a_rule_needs_it(engine, settings, slack, driver):
    """An owner checking in on their own key result is allowed whoever they are: Slack is not
    asked about them. A head checking in on someone else's key result is."""
    sales = department(engine, "Sales", heads=[ALICE], members=[BOB])
    _, (kr,) = objective(engine, sales, owner=BOB)
    driver.command("/checkin", f"KR-{kr.number} 40 7/10", user=BOB)
    assert "Checked in" in driver.last_reply_text()
    assert slack.calls_to("users.info") == []
    caller = caller_for(settings, engine, BOB)
    with session_scope(engine) as session:
        flag = caller.as_user(session)["is_admin"]
        assert slack.calls_to("users.info") == []  # made, not yet looked up
        assert not flag and not flag  # looked up once, when tested
    assert [c.args.get("user") for c in slack.calls_to("users.info")] == [BOB]
    slack.reset()
    driver.command("/checkin", f"KR-{kr.number} 45 6/10", user=ALICE)
    assert "Checked in" in driver.last_reply_text()
    assert [c.args.get("user") for c in slack.calls_to("users.info")] == [ALICE]
