"""`/okr setup`: the admin's workspace settings modal."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_sdk.models.blocks import (
    CheckboxesElement,
    ConversationSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from slackapp.blocks.common import as_dicts, modal, notice_modal, plain, section
from slackapp.commands import CommandContext
from slackapp.context import Deps
from slackapp.listeners import feedback
from slackapp.roles import Caller
from storage.errors import FieldErrors
from storage.teams import get_or_create_team, team_timezone, update_settings

log = logging.getLogger(__name__)

CALLBACK_ID = "okr_setup"
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _day_select(block_id: str, label: str, initial: int) -> InputBlock:
    options = [Option(value=str(i), text=d) for i, d in enumerate(DAYS)]
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        element=StaticSelectElement(
            action_id="value", options=options, initial_option=options[initial]
        ),
    )


def _channel(block_id: str, label: str, initial: str | None, hint: str) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        optional=True,
        hint=plain(hint, 2000),
        element=ConversationSelectElement(
            action_id="value",
            initial_conversation=initial,
            filter={"include": ["public", "private"]},
        ),
    )


def service_account_email(path: str | None) -> str | None:
    """`client_email` of the Google service account key file, or None when it can't be read."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            email = json.load(fh).get("client_email")
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("Could not read the service account's email from its key file: %s", exc)
        return None
    return email if isinstance(email, str) and email else None


def _spreadsheet_field(initial: str | None, share_with: str | None) -> InputBlock:
    if share_with:
        hint = (
            f"First share the sheet with {share_with} (Viewer) in Google Sheets. "
            "Values are read at each scheduled KPI sync; leave empty to disconnect."
        )
    else:
        hint = (
            "The server has no Google service account yet (GOOGLE_SERVICE_ACCOUNT_FILE): ask "
            "whoever runs Loyalty OKRs to set one up, then share the sheet with its email."
        )
    return InputBlock(
        block_id="kpi_spreadsheet",
        label=plain("KPI spreadsheet (key or URL)"),
        optional=True,
        hint=plain(hint, 2000),
        element=PlainTextInputElement(
            action_id="value",
            max_length=500,
            initial_value=initial or None,
            placeholder=plain("https://docs.google.com/spreadsheets/d/…/edit", 150),
        ),
    )


def _channel_inputs(team) -> list[InputBlock]:
    return [
        _channel(
            "leadership_channel",
            "Leadership channel",
            team.leadership_channel,
            "Gets the cross-department digest and the quarterly review pack.",
        ),
        _channel(
            "recognition_channel",
            "Recognition channel",
            team.recognition_channel,
            "Where kudos are posted publicly.",
        ),
        _channel(
            "feedback_channel",
            "Customer-feedback channel",
            team.feedback_channel,
            "Heads react here with the recognition emoji to recognize people.",
        ),
        InputBlock(
            block_id="recognition_emoji",
            label=plain("Recognition emoji"),
            element=PlainTextInputElement(
                action_id="value", max_length=100, initial_value=team.recognition_emoji
            ),
        ),
    ]


def _schedule_inputs(team) -> list[InputBlock]:
    return [
        _day_select("digest_weekday", "Weekly digest day", team.digest_weekday),
        InputBlock(
            block_id="digest_time",
            label=plain("Weekly digest time"),
            element=TimePickerElement(action_id="value", initial_time=team.digest_time),
        ),
        _day_select("reminder_weekday", "Check-in reminder day", team.reminder_weekday),
        InputBlock(
            block_id="reminder_time",
            label=plain("Check-in reminder time (each owner's own timezone)"),
            element=TimePickerElement(action_id="value", initial_time=team.reminder_time),
        ),
        InputBlock(
            block_id="review_lead_days",
            label=plain("Quarterly review: days before quarter end"),
            element=PlainTextInputElement(
                action_id="value", max_length=2, initial_value=str(team.review_lead_days)
            ),
        ),
    ]


def _rule_inputs(team, default_tz: str) -> list[InputBlock]:
    """When a key result is stale, the workspace's timezone, and whether kudos need a
    behavior."""
    yes = Option(value="yes", text="Kudos must name a behavior (#B-5)")
    return [
        InputBlock(
            block_id="stale_days",
            label=plain("Stale key results: days without a check-in"),
            hint=plain("Key results with no check-in for this long are marked stale.", 2000),
            element=PlainTextInputElement(
                action_id="value", max_length=2, initial_value=str(team.stale_days)
            ),
        ),
        InputBlock(
            block_id="timezone",
            label=plain("Workspace timezone"),
            hint=plain("IANA name such as Europe/Paris or America/New_York.", 2000),
            element=PlainTextInputElement(
                action_id="value", max_length=64, initial_value=team_timezone(team, default_tz)
            ),
        ),
        InputBlock(
            block_id="kudos_require_behavior",
            label=plain("Kudos"),
            optional=True,
            element=CheckboxesElement(
                action_id="value",
                options=[yes],
                initial_options=[yes] if team.kudos_require_behavior else None,
            ),
        ),
    ]


def setup_modal(
    team,
    default_tz: str,
    extra_blocks: list | None = None,
    *,
    own_spreadsheet: bool = False,
    share_with: str | None = None,
) -> View:
    """`own_spreadsheet`: multi-workspace mode, where each workspace connects its own KPI
    sheet here; `share_with` is the service account's email the sheet must be shared with;
    `extra_blocks`: other features' settings (customer feedback)."""
    spreadsheet = [_spreadsheet_field(team.kpi_spreadsheet, share_with)] if own_spreadsheet else []
    return modal(
        "Loyalty OKRs setup",
        callback_id=CALLBACK_ID,
        submit="Save",
        blocks=[
            *_channel_inputs(team),
            *_schedule_inputs(team),
            *_rule_inputs(team, default_tz),
            *spreadsheet,
            *(extra_blocks or []),
        ],
    )


def open_setup_modal(ctx: CommandContext, rest: str) -> None:
    """`/okr setup`: the settings form for admins, a notice saying so for everyone else."""
    deps, team_id = ctx.deps, ctx.team_id
    with deps.session() as session:
        if not ctx.caller.is_admin(session):
            view = notice_modal(
                "Loyalty OKRs setup",
                "Only a workspace admin can change these settings. "
                "Ask an admin, or have them add you to `LOYALTY_ADMINS`.",
            )
        else:
            settings = deps.settings
            view = setup_modal(
                get_or_create_team(session, team_id=team_id),
                settings.loyalty_timezone,
                feedback.setup_part(session, deps, team_id=team_id, user_id=ctx.user_id),
                own_spreadsheet=settings.oauth_enabled,
                share_with=service_account_email(settings.google_service_account_file)
                if settings.oauth_enabled
                else None,
            )
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


def read_setup(values: dict) -> dict:
    def el(block):
        return values.get(block, {}).get("value", {})

    out = {
        "leadership_channel": el("leadership_channel").get("selected_conversation"),
        "recognition_channel": el("recognition_channel").get("selected_conversation"),
        "feedback_channel": el("feedback_channel").get("selected_conversation"),
        "recognition_emoji": el("recognition_emoji").get("value") or "",
        "digest_weekday": int((el("digest_weekday").get("selected_option") or {}).get("value", 4)),
        "digest_time": el("digest_time").get("selected_time") or "",
        "reminder_weekday": int(
            (el("reminder_weekday").get("selected_option") or {}).get("value", 0)
        ),
        "reminder_time": el("reminder_time").get("selected_time") or "",
        "review_lead_days": el("review_lead_days").get("value") or "",
        "timezone": (el("timezone").get("value") or "").strip() or None,
        "kudos_require_behavior": bool(el("kudos_require_behavior").get("selected_options")),
    }
    if "stale_days" in values:
        out["stale_days"] = el("stale_days").get("value") or ""
    if "kpi_spreadsheet" in values:  # multi-workspace mode only
        out["kpi_spreadsheet"] = el("kpi_spreadsheet").get("value") or ""
    return out


def handle_setup_submission(
    ack, view, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    values = read_setup(view["state"]["values"])
    if not deps.settings.oauth_enabled:  # one workspace: the server's KPI_SPREADSHEET rules
        values.pop("kpi_spreadsheet", None)
    with deps.session() as session:
        if not caller.is_admin(session):
            ack(
                response_action="errors",
                errors={"leadership_channel": "Only a workspace admin can change settings."},
            )
            return
        try:
            update_settings(session, team_id=team_id, actor_id=user_id, values=values)
            feedback.save_setup_part(session, view["state"]["values"], **caller.as_user(session))
        except FieldErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
    ack()
    text = ":gear: Settings saved. Schedules follow them from the next run."
    if values.get("kpi_spreadsheet"):
        text += " KPIs are read from the connected spreadsheet at the next hourly sync."
    client.chat_postMessage(
        channel=user_id, text="Loyalty OKRs settings saved.", blocks=as_dicts([section(text)])
    )


def register(app: App) -> None:
    app.view(CALLBACK_ID)(handle_setup_submission)
