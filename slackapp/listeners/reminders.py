"""The "Snooze a week" button on check-in reminders (their Check in buttons are checkin.py's)."""

from __future__ import annotations

import re

from slack_bolt import App

from slackapp.blocks.common import as_dicts, section
from slackapp.blocks.reminders import ReminderAction
from slackapp.context import Deps
from storage.reminder_snoozes import snooze

_PERIOD = re.compile(r"^\d{4}-W\d{2}$")


def handle_snooze(ack, body, deps: Deps, team_id: str, user_id: str, respond):
    ack()
    period = (body["actions"][0].get("value") or "").strip()
    if not _PERIOD.match(period):
        respond(
            text="That reminder button is out of date; nothing was changed.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    week, snoozed = snooze(deps.engine, team_id=team_id, user_id=user_id, period=period)
    if snoozed:
        text = (
            f":zzz: Snoozed: no check-in reminder in week {week}; they resume the week after. "
            "`/checkin` works any time."
        )
    else:
        text = f"Week {week}'s reminder has already gone out, so there is nothing to snooze."
    # Replace the reminder so its buttons cannot be clicked twice.
    respond(text=text, blocks=as_dicts([section(text)]), replace_original=True)


def register(app: App) -> None:
    app.action(ReminderAction.SNOOZE)(handle_snooze)
