"""Workspaces: their settings, timezone and admins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from storage import audit
from storage.db import upsert_insert
from storage.errors import FieldErrors
from storage.models import SlackUser, Team
from storage.staleness import parse_stale_days

SETTING_FIELDS = (
    "leadership_channel",
    "recognition_channel",
    "feedback_channel",
    "recognition_emoji",
    "digest_weekday",
    "digest_time",
    "reminder_weekday",
    "reminder_time",
    "review_lead_days",
    "timezone",
    "kudos_require_behavior",
    "stale_days",
    "kpi_spreadsheet",
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A Google spreadsheet key (the long id in its address) and the address itself.
_SHEET_KEY = re.compile(r"^[A-Za-z0-9_-]{20,120}$")
_SHEET_URL = re.compile(
    r"^https://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]{20,120})(?:[/?#].*)?$"
)


def get_or_create_team(session: Session, *, team_id: str) -> Team:
    """The team's row, created with its defaults on first use; two first requests at once
    both get it (the second insert does nothing)."""
    team = session.get(Team, team_id)
    if team is None:
        new_row = Team(team_id=team_id).model_dump()
        session.execute(
            upsert_insert(session, Team)
            .values(new_row)
            .on_conflict_do_nothing(index_elements=[Team.team_id])
        )
        team = session.get(Team, team_id)
    return team


def team_or_default(session: Session, *, team_id: str) -> Team:
    """The team's row, or an unsaved one holding the defaults (a workspace that has changed no
    setting yet has no row)."""
    return session.get(Team, team_id) or Team(team_id=team_id)


def team_timezone(team: Team | None, default: str = "UTC") -> str:
    """The workspace's timezone, or `default` (the configured LOYALTY_TIMEZONE) when unset."""
    return (team.timezone if team is not None else None) or default


def zone_info(name: str | None, default: str = "UTC") -> ZoneInfo:
    """`name` as a zone; `default`, then UTC, when it is unset or not a timezone."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def team_zone(team: Team | None, default: str = "UTC") -> ZoneInfo:
    """The workspace's timezone as a zone (see team_timezone and zone_info)."""
    return zone_info(team_timezone(team, default), default)


def team_now(team: Team | None, default: str = "UTC", *, now: datetime | None = None) -> datetime:
    """`now` (else the current time) on the workspace's clock: due dates are calendar days
    there, not in UTC."""
    return (now or datetime.now(UTC)).astimezone(team_zone(team, default))


def spreadsheet_key(text: str | None) -> str | None:
    """The spreadsheet key in a pasted key or address (None when blank); ValueError when it is
    neither."""
    text = (text or "").strip()
    if not text:
        return None
    if _SHEET_KEY.match(text):
        return text
    match = _SHEET_URL.match(text)
    if match:
        return match.group(1)
    raise ValueError(text)


def kpi_spreadsheet_for(
    team: Team | None, *, multi_workspace: bool, configured: str | None
) -> str | None:
    """The spreadsheet a workspace's KPIs come from, or None when it has none.

    With one workspace it is the server's configured one; with many (OAuth installs) each
    workspace's own, so none ever reads another's sheet."""
    if not multi_workspace:
        return configured or None
    return team.kpi_spreadsheet if team is not None else None


def team_kpi_spreadsheet(
    session: Session, *, team_id: str, multi_workspace: bool, configured: str | None
) -> str | None:
    """`kpi_spreadsheet_for` the team stored under `team_id`."""
    return kpi_spreadsheet_for(
        session.get(Team, team_id), multi_workspace=multi_workspace, configured=configured
    )


def admin_ids(session: Session, *, team_id: str, configured: Iterable[str] = ()) -> list[str]:
    """The workspace's admins: the configured LOYALTY_ADMINS first, then the Slack
    admins and owners seen in `users.info` (not deactivated, not bots), each once."""
    cached = session.exec(
        select(SlackUser.user_id)
        .where(
            SlackUser.team_id == team_id,
            SlackUser.is_admin.is_(True),
            SlackUser.deleted.is_(False),
            SlackUser.is_bot.is_(False),
        )
        .order_by(SlackUser.user_id)
    ).all()
    return list(dict.fromkeys([*configured, *cached]))


def validate_settings(values: dict) -> dict:
    """Check a settings form; raises FieldErrors keyed by field name."""
    errors: dict[str, str] = {}
    for key in ("digest_time", "reminder_time"):
        if key in values and not _HHMM.match(str(values[key] or "")):
            errors[key] = f"`{values[key]}` is not a time; use 24-hour HH:MM like 16:00."
    for key in ("digest_weekday", "reminder_weekday"):
        if key in values and not (0 <= int(values[key]) <= 6):
            errors[key] = "Pick a day of the week."
    if "review_lead_days" in values:
        try:
            days = int(values["review_lead_days"])
            if not 1 <= days <= 60:
                raise ValueError
            values["review_lead_days"] = days
        except (TypeError, ValueError):
            errors["review_lead_days"] = "Review lead days must be a whole number from 1 to 60."
    if "stale_days" in values:
        try:
            values["stale_days"] = parse_stale_days(values["stale_days"])
        except FieldErrors as exc:
            errors.update(exc.errors)
    if values.get("timezone"):
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = f"`{values['timezone']}` is not a timezone like Europe/Paris."
    if "recognition_emoji" in values:
        emoji = str(values["recognition_emoji"] or "").strip().strip(":")
        if not re.match(r"^[a-z0-9_+\-']{1,100}$", emoji):
            errors["recognition_emoji"] = "Give an emoji name like `star` (without colons)."
        values["recognition_emoji"] = emoji
    if "kpi_spreadsheet" in values:
        try:
            values["kpi_spreadsheet"] = spreadsheet_key(values["kpi_spreadsheet"])
        except ValueError:
            errors["kpi_spreadsheet"] = (
                f"`{str(values['kpi_spreadsheet']).strip()[:200]}` is not a Google Sheets "
                "address or key; paste the sheet's address "
                "(https://docs.google.com/spreadsheets/d/…/edit) or just its key."
            )
    if errors:
        raise FieldErrors(errors)
    return values


def _spreadsheet_taken(session: Session, *, team_id: str, key: str) -> bool:
    return (
        session.exec(
            select(Team.team_id).where(Team.kpi_spreadsheet == key, Team.team_id != team_id)
        ).first()
        is not None
    )


def update_settings(session: Session, *, team_id: str, actor_id: str, values: dict) -> Team:
    values = validate_settings(dict(values))
    sheet = values.get("kpi_spreadsheet")
    if sheet and _spreadsheet_taken(session, team_id=team_id, key=sheet):
        # One workspace's KPI sheet is never read into another, even with its address known.
        raise FieldErrors(
            {
                "kpi_spreadsheet": "That spreadsheet is connected to another workspace; "
                "each workspace connects its own."
            }
        )
    team = get_or_create_team(session, team_id=team_id)
    before = team.model_dump()
    for key in SETTING_FIELDS:
        if key in values:
            setattr(team, key, values[key])
    session.add(team)
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="settings.update",
        entity="team",
        before=before,
        after=team,
    )
    return team


def cached_users(session: Session, *, team_id: str, user_ids: list[str]) -> dict[str, SlackUser]:
    """The users.info facts cached for these people (absent: never fetched), by user id."""
    rows = session.exec(
        select(SlackUser).where(SlackUser.team_id == team_id, col(SlackUser.user_id).in_(user_ids))
    ).all()
    return {row.user_id: row for row in rows}
