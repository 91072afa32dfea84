"""App Home: published on app_home_opened and after the user's own writes."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.home import home_view
from slackapp.context import Deps
from storage.home import home_data

log = logging.getLogger(__name__)

# Features may contribute sections/buttons: fn(session, team_id, user_id) -> (buttons, blocks)
HOME_CONTRIBUTORS: list = []


def build_home(deps: Deps, *, team_id: str, user_id: str):
    buttons, extra = [], []
    with deps.session() as session:
        data = home_data(session, team_id=team_id, user_id=user_id)
        for contribute in HOME_CONTRIBUTORS:
            b, s = contribute(session, team_id=team_id, user_id=user_id)
            buttons += b
            extra += s
    return home_view(data, user_id=user_id, extra_buttons=buttons, extra_sections=extra)


def publish_home(deps: Deps, client, *, team_id: str, user_id: str) -> None:
    try:
        client.views_publish(
            user_id=user_id, view=build_home(deps, team_id=team_id, user_id=user_id)
        )
    except SlackApiError as exc:  # a stale Home is not worth failing the user's write over
        log.warning("views.publish failed for %s: %s", user_id, exc.response.get("error"))


def handle_home_opened(event, context, client):
    if event.get("tab") not in (None, "home"):
        return
    publish_home(context["deps"], client, team_id=context["team_id"], user_id=context["user_id"])


def handle_new_objective_button(ack, body, context, client):
    ack()
    from slackapp.listeners.objectives import open_new_objective_modal

    open_new_objective_modal(context, client, body["trigger_id"])


def register(app: App) -> None:
    app.event("app_home_opened")(handle_home_opened)
    app.action("home_new_objective")(handle_new_objective_button)
