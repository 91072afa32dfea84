"""Configuration read once at start-up from the environment or a `.env` file."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What each variable should hold, used to turn a validation failure into one readable line.
EXPECTED = {
    "DATABASE_URL": "a SQLAlchemy URL such as sqlite:///./loyalty.db or postgresql+psycopg://user@host/db",
    "SLACK_API_URL": "an http(s) URL ending in /api/, e.g. https://slack.com/api/",
    "GOOGLE_SHEETS_API_URL": "an http(s) URL, e.g. https://sheets.googleapis.com/v4/spreadsheets",
    "LOYALTY_TIMEZONE": "an IANA timezone name such as UTC or Europe/Paris",
    "LOYALTY_ADMINS": "comma-separated Slack user ids such as U012ABCDEF,U034GHIJKL",
    "KPI_WORKSHEETS": "comma-separated worksheet names, e.g. KPIs",
    "KPI_SYNC_CRON": "a five-field cron expression, e.g. '0 * * * *'",
    "KPI_NUMBER_LOCALE": "'auto', 'dot' (1,234.5) or 'comma' (1.234,5)",
    "LOYALTY_DATA_RETENTION_DAYS": "a whole number of days (0 or more)",
    "LOYALTY_FEEDBACK_RETENTION_DAYS": "a whole number of days (1 or more)",
    "LOYALTY_FEEDBACK_TOKEN": "a random secret of at least 16 characters (e.g. `openssl rand -hex 24`)",
    "KPI_FEEDBACK_WORKSHEET": "a worksheet name, e.g. Feedback",
    "LOYALTY_ENCRYPTION_KEY": "one or more comma-separated Fernet keys (newest first)",
    "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR",
    "LOG_FORMAT": "text or json",
}
# Secrets: a malformed one is named, its value never printed.
SECRETS = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "LOYALTY_ENCRYPTION_KEY",
    "LOYALTY_FEEDBACK_TOKEN",
    "DATABASE_URL",  # may hold a password
}
ENV_FILE_VARIABLE = "LOYALTY_ENV_FILE"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ConfigError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = "sqlite:///./loyalty.db"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    loyalty_encryption_key: str | None = None

    google_service_account_file: str | None = None
    kpi_spreadsheet: str | None = None
    kpi_worksheets: str = "KPIs"
    kpi_praise_worksheet: str = "Praise"
    kpi_feedback_worksheet: str = "Feedback"
    google_sheets_api_url: str = "https://sheets.googleapis.com/v4/spreadsheets"
    kpi_sync_cron: str = "0 * * * *"
    kpi_number_locale: str = "auto"

    loyalty_admins: str = ""
    loyalty_timezone: str = "UTC"
    loyalty_data_retention_days: int = Field(default=30, ge=0)
    # Customer voice: the survey-tool webhook's bearer token (single workspace) and how long
    # customers' feedback is kept.
    loyalty_feedback_token: str | None = None
    loyalty_feedback_retention_days: int = Field(default=730, ge=1)

    log_level: str = "INFO"
    log_format: str = "text"
    # The env file the settings were read from (None: environment only); set by load_settings.
    _env_file_read: str | None = PrivateAttr(default=None)

    @property
    def env_file_read(self) -> str | None:
        return self._env_file_read

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        if v.upper() not in LOG_LEVELS:
            raise ValueError("unknown level")
        return v.upper()

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        if v.lower() not in {"text", "json"}:
            raise ValueError("unknown format")
        return v.lower()

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError("unsupported")
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            # psycopg 3 is the driver we ship; accept the plain form people paste.
            v = "postgresql+psycopg://" + v.split("://", 1)[1]
        return v

    @field_validator("slack_api_url", "google_sheets_api_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("not a URL")
        return v

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @field_validator("loyalty_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown timezone") from exc
        return v

    @field_validator("loyalty_admins")
    @classmethod
    def _admins(cls, v: str) -> str:
        for part in _split(v):
            if not _USER_ID.match(part):
                raise ValueError(f"{part!r} is not a Slack user id")
        return v

    @field_validator("kpi_worksheets")
    @classmethod
    def _worksheets(cls, v: str) -> str:
        if not _split(v):
            raise ValueError("empty")
        return v

    @field_validator("kpi_sync_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as exc:
            raise ValueError("bad cron") from exc
        return v

    @field_validator("kpi_number_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v.lower() not in {"auto", "dot", "comma"}:
            raise ValueError("bad locale")
        return v.lower()

    @field_validator("loyalty_feedback_token")
    @classmethod
    def _feedback_token(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if len(v.strip()) < 16 or any(c.isspace() for c in v.strip()):
            raise ValueError("too short")
        return v.strip()

    @field_validator("loyalty_encryption_key")
    @classmethod
    def _fernet_keys(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        from storage.token_crypto import parse_keys

        parse_keys(v)  # ValueError names the bad key's position, never its value
        return v

    @cached_property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(_split(self.loyalty_admins))

    @cached_property
    def worksheet_names(self) -> list[str]:
        return _split(self.kpi_worksheets)

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)


def _split(value: str) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def env_file() -> Path | None:
    """The env file to read: the one LOYALTY_ENV_FILE names (it must exist), else `.env` in the
    current directory when there is one, else none (the environment alone)."""
    named = os.environ.get(ENV_FILE_VARIABLE, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"{ENV_FILE_VARIABLE} names {named}, which is not a file; "
                "point it at your settings file or unset it."
            )
        return path.resolve()
    default = Path(".env")
    return default.resolve() if default.is_file() else None


def resolve_sqlite_path(url: str, base: Path) -> str:
    """A relative SQLite path (sqlite:///./loyalty.db) made absolute against `base`."""
    match = re.match(r"^(sqlite(?:\+\w+)?:///)(.*)$", url)
    if not match or not match.group(2) or match.group(2).startswith(("/", ":memory:", "file:")):
        return url
    path, sep, query = match.group(2).partition("?")
    return f"{match.group(1)}{(base / path).resolve()}{sep}{query}"


def load_settings(**overrides) -> Settings:
    """Read settings, turning any validation error into a one-line ConfigError.

    The env file is `env_file()`'s; a relative SQLite path is resolved against that file's
    directory (the current directory when no env file is read), so a command run from another
    directory still finds the same database."""
    if "_env_file" not in overrides:
        path = env_file()
        overrides["_env_file"] = path
    path = overrides["_env_file"]
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err.get("loc") else "configuration"
        want = EXPECTED.get(name, "a valid value")
        got = err.get("input")
        secret = name in SECRETS
        shown = f" (got {got!r})" if isinstance(got, str | int) and got != "" else ""
        raise ConfigError(
            f"{name} is malformed{'' if secret else shown}: it should be {want}."
        ) from None
    base = Path(path).resolve().parent if path else Path.cwd()
    settings.database_url = resolve_sqlite_path(settings.database_url, base)
    settings._env_file_read = str(Path(path).resolve()) if path else None
    return settings


def require(settings: Settings, *names: str, hint: str = "") -> None:
    """Stop with one line when required variables are unset."""
    missing = [n for n in names if not getattr(settings, n.lower())]
    if missing:
        line = f"Set {', '.join(missing)} in the environment or .env."
        raise ConfigError(line + (f" {hint}" if hint else ""))


# Bolt switches itself to file-based OAuth stores whenever both exist in the environment.
BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


def drop_blank_oauth_env(environ=os.environ) -> None:
    """`docker run --env-file .env` exports .env.example's empty SLACK_CLIENT_ID/SECRET lines;
    the process entry point drops them so Bolt does not take them for an OAuth setup."""
    for key in BOLT_OAUTH_ENV:
        if key in environ and not environ[key].strip():
            del environ[key]
