"""`/checkin away until <YYYY-MM-DD>` and `/checkin back`: no reminders or escalations while
someone is away."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slackapp.blocks.insights import away_text
from slackapp.context import Deps
from slackapp.home_refresher import refresh_home
from slackapp.replies import UsageError, guarded, reply
from slackapp.slack_users import fetch_user
from storage.away import MAX_AWAY_DAYS, end_away, parse_until, set_away

USAGE = "`/checkin away until 2026-12-24` · `/checkin back`"
VERBS = ("away", "back")


def user_today(session, client, *, team_id: str, user_id: str) -> date:
    """Today in the user's own timezone (users.info), else UTC."""
    tz = fetch_user(session, client, team_id=team_id, user_id=user_id).tz
    try:
        return datetime.now(ZoneInfo(tz or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now(UTC).date()


def handle_away_text(deps: Deps, client, respond, text: str, *, team_id: str, user_id: str) -> None:
    verb, _, rest = text.partition(" ")
    verb, words = verb.lower(), rest.split()

    def run():
        if verb == "back":
            if words:
                raise UsageError("`back` takes nothing after it.")
            with deps.session() as s:
                today = user_today(s, client, team_id=team_id, user_id=user_id)
                until = end_away(s, team_id=team_id, user_id=user_id, today=today)
            reply(
                respond,
                f":wave: Welcome back. You were away until {until:%b %d}; reminders and "
                "missed-check-in escalations include you again.",
            )
        else:
            if len(words) != 2 or words[0].lower() != "until":
                raise UsageError(
                    f"Say until when, as a date up to {MAX_AWAY_DAYS} days ahead.", usage=USAGE
                )
            with deps.session() as s:
                today = user_today(s, client, team_id=team_id, user_id=user_id)
                until = parse_until(words[1], today=today)
                set_away(s, team_id=team_id, user_id=user_id, until=until)
            reply(
                respond,
                f"{away_text(until)}. No check-in reminders and no missed-check-in escalations "
                "until then; your department's digest says you are away. "
                "`/checkin back` ends it early.",
            )
        refresh_home(deps, client, team_id=team_id, user_id=user_id)

    guarded(respond, f"/checkin {text}", USAGE, run)


def register(app) -> None:
    """`/checkin away|back` arrive through the /checkin command; App Home shows "away until …"
    itself (slackapp.blocks.home)."""
