"""`app_uninstalled` and `tokens_revoked`: tokens go at once, data after the retention period.

Slack sends both events when a workspace removes the app, in no guaranteed order and sometimes
more than once; each handler is idempotent. The team is marked uninstalled (jobs skip it) and
jobs/data_retention.py deletes its data LOYALTY_DATA_RETENTION_DAYS later, unless the app is
reinstalled first.
"""

from __future__ import annotations

import logging
import time

from slack_bolt import App

from slackapp.context import Deps
from slackapp.middleware import RequestMiddleware
from slackapp.oauth import installation_store
from storage.lifecycle import mark_uninstalled, reactivate_if_uninstalled

log = logging.getLogger(__name__)
REACTIVATE_CHECK_SECONDS = 60.0


def _team_id(context, body) -> str | None:
    # These events may come without a team in Bolt's context: Bolt's property, then the body.
    return context.team_id or body.get("team_id")


def register(app: App) -> None:
    def handle_app_uninstalled(body, context, deps: Deps):
        team_id = _team_id(context, body)
        if not team_id:
            return
        store = installation_store(app)
        if store is not None:
            store.delete_team(team_id)
        with deps.session() as session:
            mark_uninstalled(session, team_id=team_id)
        checked.pop(team_id, None)
        log.info("Team %s uninstalled the app: tokens deleted, data kept until purge", team_id)

    def handle_tokens_revoked(body, event, context, deps: Deps):
        team_id = _team_id(context, body)
        if not team_id:
            return
        tokens = event.get("tokens") or {}
        user_ids = [u for u in tokens.get("oauth") or [] if isinstance(u, str)]
        store = installation_store(app)
        if store is not None and user_ids:
            store.delete_user_tokens(team_id, user_ids)
        if tokens.get("bot"):
            if store is not None:
                # This app installs bot-only: without the bot token an installation is empty.
                store.delete_team(team_id)
            # Without its bot token the app can do nothing for this team: same as uninstalled.
            with deps.session() as session:
                mark_uninstalled(session, team_id=team_id)
            checked.pop(team_id, None)
        log.info(
            "Team %s revoked tokens (bot: %s, users: %d)",
            team_id,
            bool(tokens.get("bot")),
            len(user_ids),
        )

    checked: dict[str, float] = {}  # team_id -> when this process last found it active

    def reactivate_team(req, next):  # noqa: A002 - Bolt's parameter name
        # A person using a command, button or modal proves the app is installed there (again),
        # e.g. a single-workspace reinstall that no OAuth redirect reported. Events are not
        # proof: a late retry may arrive after the uninstall. Checked at most once a minute per
        # team and process, so the hot path does not pay a query per request.
        team_id, body = req.context.team_id, req.body
        if (
            team_id
            and isinstance(body, dict)
            and body.get("type") != "event_callback"
            and time.monotonic() - checked.get(team_id, -REACTIVATE_CHECK_SECONDS)
            >= REACTIVATE_CHECK_SECONDS
        ):
            with req.context["deps"].session() as session:
                reactivate_if_uninstalled(session, team_id=team_id)
            checked[team_id] = time.monotonic()
        return next()

    app.event("app_uninstalled")(handle_app_uninstalled)
    app.event("tokens_revoked")(handle_tokens_revoked)
    app.use(RequestMiddleware(reactivate_team))
