"""What every listener needs besides the Slack payload: settings, the database engine, the
App Home refresher and the slash commands' acknowledgement deadlines. Bolt passes them as the
listener's `deps` argument."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from slackapp.command_answer import AckDeadlines
from slackapp.home_refresher import HomeRefresher
from slackapp.settings import Settings

# Jobs and listeners import fetch_user from here, beside Deps.
from slackapp.slack_users import fetch_user as fetch_user
from storage.db import read_scope, session_scope


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    # App Home sections features contribute: fn(session, team_id=, user_id=) -> (buttons, blocks)
    home_sections: tuple = ()
    # Republishes Homes after writes, off the request path; one per app.
    home_refresher: HomeRefresher = field(default_factory=HomeRefresher)
    # Acknowledges slash commands whose answer is late (slackapp.command_answer); one per app.
    ack_deadlines: AckDeadlines = field(default_factory=AckDeadlines)

    def session(self):
        return session_scope(self.engine)

    def reading(self):
        """A session for a request that only reads (storage.db.read_scope)."""
        return read_scope(self.engine)
