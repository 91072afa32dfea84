"""App Home: published on app_home_opened (and republished after writes, see
slackapp.home_refresher), and the Log button on its behaviors."""

from __future__ import annotations

import logging

from slack_bolt import App

from slackapp.blocks.behaviors import behavior_log_modal, department_progress_text
from slackapp.blocks.common import escape, notice_modal
from slackapp.blocks.home import HomeAction
from slackapp.context import Deps
from slackapp.home_refresher import publish_home
from slackapp.home_refresher import refresh_home as refresh_home  # other listeners import it here
from slackapp.middleware import RequestMiddleware
from slackapp.roles import Caller
from storage.behaviors import get_behavior, team_week, weekly_behavior_counts
from storage.departments import department_by_id, memberships
from storage.errors import DomainError, PermissionDenied
from storage.home import note_home_seen

log = logging.getLogger(__name__)


def handle_home_opened(event, deps: Deps, team_id: str, user_id: str, client):
    if event.get("tab") not in (None, "home"):
        return
    with deps.session() as session:
        note_home_seen(session, team_id=team_id, user_id=user_id)
    publish_home(deps, client, team_id=team_id, user_id=user_id)


def note_home_use(req, next):  # noqa: A002 - Bolt's parameter name
    """A button clicked on App Home: its owner is looking at it."""
    body = req.body
    view = body.get("view") or {}
    if body.get("type") == "block_actions" and view.get("type") == "home":
        # Every request passes here, some without a user (events): Bolt's own properties.
        team_id, user_id = req.context.team_id, req.context.user_id
        if team_id and user_id:
            with req.context["deps"].session() as session:
                note_home_seen(session, team_id=team_id, user_id=user_id)
    return next()


LOG_TITLE = "Log a behavior"


def handle_behavior_log_button(
    ack, body, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    """Log on a behavior of App Home: the `/behavior` log form with that behavior chosen (its
    submission is the same as `/behavior log`). Someone outside the behavior's department, or
    a value this app never drew, gets a note saying why instead."""
    ack()
    raw = str((body.get("actions") or [{}])[0].get("value") or "")
    if not raw.isdigit() or len(raw) > 9:
        view = notice_modal(
            LOG_TITLE,
            f"`{escape(raw[:40])}` is not a behavior number. Open App Home again, or use "
            "`/behavior log B-5 [count] [note]`.",
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)
        return
    try:
        with deps.session() as session:
            behavior = get_behavior(session, team_id=team_id, ref=f"B-{raw}")
            if not behavior.active:
                raise DomainError(f"B-{behavior.number} is retired; it can no longer be logged.")
            dept = department_by_id(session, team_id=team_id, department_id=behavior.department_id)
            mine = {m.department_id for m in memberships(session, team_id=team_id, user_id=user_id)}
            if dept.id not in mine and not caller.is_admin(session):
                raise PermissionDenied(f"members of {dept.name}", f"log B-{behavior.number}")
            start, end = team_week(session, team_id=team_id)
            progress = weekly_behavior_counts(
                session, team_id=team_id, department_ids=[dept.id], start=start, end=end
            ).get(dept.id, [])
        view = behavior_log_modal([behavior], department_progress_text(dept, progress))
    except DomainError as exc:
        view = notice_modal(LOG_TITLE, exc.message)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: App) -> None:
    app.event("app_home_opened")(handle_home_opened)
    app.action(HomeAction.LOG_BEHAVIOR)(handle_behavior_log_button)
    app.use(RequestMiddleware(note_home_use))
