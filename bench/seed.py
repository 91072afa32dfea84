"""What the benches share to set up: a migrated SQLite database, the team row bulk seeders
start from, and the settings of an app talking to the fake Slack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from slackapp.settings import Settings
from storage.db import make_engine, upgrade
from tests.support.slack_driver import SIGNING_SECRET


def migrated_sqlite(tmp: str | Path, name: str) -> tuple[str, Engine]:
    """A fresh SQLite database `name`.db in `tmp`, migrated to the latest schema."""
    url = f"sqlite:///{Path(tmp) / f'{name}.db'}"
    upgrade(url)
    return url, make_engine(url)


def team_row(team_id: str, now: datetime, **settings: object) -> dict:
    """A `team` row for a bulk insert, with the defaults a new install gets."""
    return {
        "team_id": team_id,
        "installed_at": now,
        "recognition_emoji": "star",
        "digest_weekday": 4,
        "digest_time": "16:00",
        "reminder_weekday": 0,
        "reminder_time": "10:00",
        "review_lead_days": 7,
        "kudos_require_behavior": False,
        **settings,
    }


def app_settings(url: str, slack_api_url: str) -> Settings:
    """Settings of an app on `url` in single-workspace mode, talking to the fake Slack."""
    return Settings(
        _env_file=None,
        database_url=url,
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api_url,
    )
