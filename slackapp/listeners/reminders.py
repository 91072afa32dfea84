"""The "Snooze a week" button on check-in reminders (Check in is `checkin_open`, in checkin.py)."""

from __future__ import annotations

import re

from slack_bolt import App

from slackapp.blocks.common import as_dicts, section
from slackapp.blocks.reminders import SNOOZE_ACTION
from storage.reminder_snoozes import snooze

_PERIOD = re.compile(r"^\d{4}-W\d{2}$")


def handle_snooze(ack, body, context, respond):
    ack()
    deps = context["deps"]
    team_id, user_id = context["team_id"], context["user_id"]
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
    app.action(SNOOZE_ACTION)(handle_snooze)
