"""What the benches share to set up: a migrated SQLite database, the rows bulk seeders start
from (a team, departments and their members), the settings of an app talking to the fake Slack
or of a KPI sync reading the fake Google, and the sync's read of the spreadsheet."""

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


def sheet_settings(url: str, key_file: str | Path, sheets_url: str, **extra: object) -> Settings:
    """Settings of a KPI sync on `url` reading spreadsheet SHEET123 from the fake Google."""
    return Settings(
        _env_file=None,
        database_url=url,
        google_service_account_file=str(key_file),
        kpi_spreadsheet="SHEET123",
        google_sheets_api_url=sheets_url,
        **extra,
    )


def fetch_with(settings: Settings):
    """The KPI sync's read of the spreadsheet `settings` name (one batchGet), as the sync
    itself makes it: the KPI tabs, the praise tab and, when there is one, the Feedback tab."""
    from jobs.sheets_client import fetch_sheet

    return fetch_sheet(
        service_account_file=settings.google_service_account_file,
        spreadsheet=settings.kpi_spreadsheet,
        worksheets=settings.worksheet_names,
        praise_worksheet=settings.kpi_praise_worksheet,
        api_url=settings.google_sheets_api_url,
        feedback_worksheet=settings.kpi_feedback_worksheet,
    )


def user_id(dept: int, person: int) -> str:
    """The Slack id of person `person` of department `dept` in the bulk-seeded data sets."""
    return f"U{dept:05d}{person:02d}"


def department_rows(
    team_id: str, count: int, now: datetime, *, digits: int = 4, channels: bool = False
) -> list[dict]:
    """`department` rows 1..count ("Department 0001"…), each with channel C00000001… if asked."""
    return [
        {
            "id": d,
            "team_id": team_id,
            "name": f"Department {d:0{digits}d}",
            "name_key": f"department {d:0{digits}d}",
            "created_by": "U0ADMIN01",
            "created_at": now,
            **({"channel_id": f"C{d:08d}"} if channels else {}),
        }
        for d in range(1, count + 1)
    ]


def member_rows(team_id: str, count: int, people: int, now: datetime) -> list[dict]:
    """`people` members of each department 1..count (`user_id(d, p)`), person 0 its head."""
    return [
        {
            "team_id": team_id,
            "department_id": d,
            "user_id": user_id(d, p),
            "is_head": p == 0,
            "added_at": now,
        }
        for d in range(1, count + 1)
        for p in range(people)
    ]
