"""The `loyalty` command: it reads the settings, builds the engine, the app and the scheduler,
and starts whatever the subcommand asks for (the app, the HTTP server, a sync, an export…)."""

from __future__ import annotations

import logging
import sys

import click

from slackapp.settings import ConfigError, Settings, drop_blank_oauth_env, load_settings, require

log = logging.getLogger("loyalty")

SLACK_HINT = (
    "Create the Slack app from manifest.yml (api.slack.com/apps → Create New App → "
    "From an app manifest), install it, then copy the Bot User OAuth Token (xoxb-…), "
    "the Signing Secret and, for Socket Mode, an App-Level Token with connections:write (xapp-…)."
)


def _settings(ctx: click.Context) -> Settings:
    """Settings are read when a command runs (never for --help), then logging is set up."""
    obj = ctx.find_root().ensure_object(dict)
    if "settings" not in obj:
        drop_blank_oauth_env()  # this process owns its environment; Bolt reads it
        settings = load_settings()
        from slackapp.logging_setup import configure

        configure("DEBUG" if obj.get("verbose") else settings.log_level, settings.log_format)
        obj["settings"] = settings
    return obj["settings"]


def log_start(settings: Settings) -> None:
    """At the start of a long-running command: which env file and database it uses."""
    from storage.db import safe_url

    log.info(
        "settings from %s; database %s",
        settings.env_file_read or "the environment (no env file)",
        safe_url(settings.database_url),
    )


def check_schema(settings: Settings) -> None:
    """Stop with one line unless the database schema is current (`loyalty db upgrade`)."""
    from storage.db import check_schema_current

    check_schema_current(settings.database_url)


@click.group()
@click.version_option(package_name="loyalty-okrs", prog_name="loyalty")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging (overrides LOG_LEVEL).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Loyalty OKRs: loyalty objectives every department owns, in Slack."""
    ctx.ensure_object(dict)["verbose"] = verbose


@cli.group()
def db() -> None:
    """Database schema, moving and backing up."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply database migrations (the one command that changes the schema)."""
    from storage.db import safe_url, sqlite_file, upgrade

    settings = _settings(ctx)
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        if not path.parent.is_dir():
            raise ConfigError(f"DATABASE_URL: the directory {path.parent} does not exist.")
        click.echo(f"No database at {path} yet: creating a new one.")
    upgrade(settings.database_url)
    click.echo(f"Database {safe_url(settings.database_url)} is up to date.")


@db.command("copy")
@click.option("--to", "to_url", required=True, metavar="URL", help="The empty target database.")
@click.pass_context
def db_copy(ctx: click.Context, to_url: str) -> None:
    """Copy every table into an empty database (e.g. from SQLite to PostgreSQL)."""
    from storage.db_copy import copy_database

    settings = _settings(ctx)
    report = copy_database(settings.database_url, to_url)
    width = max((len(name) for name in report.rows), default=0)
    for name, count in sorted(report.rows.items()):
        click.echo(f"  {name:<{width}}  {count:>8}")
    click.echo(
        f"Copied {report.total} rows in {len(report.rows)} tables from {report.source} to "
        f"{report.target}; row counts match. Point DATABASE_URL at the new database and restart."
    )


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def db_backup(ctx: click.Context, file: str) -> None:
    """Consistent copy of the SQLite database in FILE, while the app runs."""
    from storage.db_copy import backup_sqlite

    size = backup_sqlite(_settings(ctx).database_url, file)
    click.echo(f"Backed up the database to {file} ({size} bytes).")


@cli.command()
@click.option("--url", default=None, metavar="https://HOST", help="HTTP mode at this address.")
@click.option("--oauth", is_flag=True, help="Multi-workspace install (adds the redirect URL).")
def manifest(url: str | None, oauth: bool) -> None:
    """Print the Slack app manifest (Socket Mode without --url)."""
    from slackapp.manifest import ManifestError, render

    try:
        click.echo(render(url, oauth=oauth), nl=False)
    except ManifestError as exc:
        raise ConfigError(str(exc)) from None


def _app(settings: Settings):
    from storage.db import make_engine

    check_schema(settings)
    return _build_app(settings, make_engine(settings.database_url))


def _build_app(settings: Settings, engine):
    """create_app, with Slack being unreachable or refusing the token said in one line."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from slackapp.app import create_app

    try:
        return create_app(settings, engine)
    except (BoltError, SlackApiError, OSError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise ConfigError(
            f"Slack did not accept SLACK_BOT_TOKEN at SLACK_API_URL ({settings.slack_api_url}): "
            f"{reason}"
        ) from None


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Socket Mode app with the scheduler in the same process."""
    settings = _settings(ctx)
    require(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", hint=SLACK_HINT)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app = _app(settings)
    log_start(settings)
    scheduler = _start_scheduler(app)
    handler = SocketModeHandler(app.bolt, settings.slack_app_token)
    from slackapp.app import freeze_startup_heap

    freeze_startup_heap()
    click.echo("Loyalty OKRs is running in Socket Mode. Press Ctrl+C to stop.")
    try:
        handler.start()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _start_scheduler(app):
    try:
        from jobs.scheduler import start_background_scheduler
    except ImportError:
        return None
    return start_background_scheduler(app)


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes sharing the port (one per CPU core uses the whole machine).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """HTTP mode (POST /slack/events, GET /healthz) under gunicorn; no scheduler.

    A worker that dies is replaced; `kill -HUP` restarts the workers gracefully; SIGTERM stops
    accepting and lets requests in progress and acknowledged work finish first."""
    settings = _settings(ctx)
    if not settings.oauth_enabled:
        require(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", hint=SLACK_HINT)
    else:
        require(settings, "SLACK_SIGNING_SECRET", "LOYALTY_ENCRYPTION_KEY", hint=SLACK_HINT)
    from storage.db import make_engine

    check_schema(settings)  # once, before any worker starts
    log_start(settings)

    def make_app():
        return _build_app(settings, make_engine(settings.database_url))

    # Build the app once here so a refused token says so in one line and stops the start,
    # instead of failing in every worker; the workers build their own after the fork.
    probe = make_app()
    probe.deps.engine.dispose()
    del probe
    from slackapp.http_server import serve as serve_gunicorn

    serve_gunicorn(make_app, host, port, workers)


@cli.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory to write the CSV files into.",
)
@click.option("--team", "team_id", default=None, help="Slack team id (default: the only team).")
@click.pass_context
def export(ctx: click.Context, out_dir: str, team_id: str | None) -> None:
    """Every table of a team as CSV, with a manifest of row counts."""
    from storage.export import export_team, only_team

    engine = _engine(_settings(ctx))
    team_id = team_id or only_team(engine)
    manifest = export_team(engine, team_id=team_id, out_dir=out_dir)
    total = sum(manifest["tables"].values())
    click.echo(
        f"Exported {total} rows of team {team_id} in {len(manifest['tables'])} tables to {out_dir}"
    )


@cli.group()
def kpi() -> None:
    """KPIs from the Google Sheet."""


@kpi.command("sync")
@click.option("--team", "team_id", default=None, help="Slack team id (default: the bot token's).")
@click.pass_context
def kpi_sync(ctx: click.Context, team_id: str | None) -> None:
    """One KPI sync now, printing the sync report (exit 1 when nothing landed).

    With several workspaces (OAuth), --team T reads T's own spreadsheet, set in /okr setup."""
    from jobs.kpi_sync import run_kpi_sync
    from slackapp.web_client import make_web_client

    settings = _settings(ctx)
    hint = "See README § KPIs from Google Sheets for the service account set-up."
    if settings.oauth_enabled:  # multi-workspace: the team's own stored token and spreadsheet
        require(settings, "GOOGLE_SERVICE_ACCOUNT_FILE", hint=hint)
        engine = _engine(settings)
        team_id, client = _team_and_client(settings, engine, team_id)
    else:
        require(settings, "GOOGLE_SERVICE_ACCOUNT_FILE", "KPI_SPREADSHEET", hint=hint)
        if team_id is None:
            require(settings, "SLACK_BOT_TOKEN", hint="Or pass --team T… to sync without Slack.")
        client = make_web_client(settings) if settings.slack_bot_token else None
        if team_id is None:
            from slack_sdk.errors import SlackApiError

            try:  # single workspace: the sync belongs to the bot token's team
                team_id = client.auth_test()["team_id"]
            except SlackApiError as exc:
                raise ConfigError(
                    f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')}); "
                    "copy the Bot User OAuth Token (xoxb-…) again"
                ) from None
        engine = _engine(settings)
    report = run_kpi_sync(
        settings=settings, engine=engine, client=client, team_id=team_id, notify_admins=False
    )
    click.echo(report.text())
    if not report.ok:
        click.echo(f"loyalty: {report.error}", err=True)  # one line: what to fix
        sys.exit(1)


def _engine(settings: Settings):
    from storage.db import make_engine

    check_schema(settings)
    return make_engine(settings.database_url)


@cli.group()
def user() -> None:
    """One person's data."""


@user.command("forget")
@click.option("--team", "team_id", required=True, help="Slack team id (T…).")
@click.option("--user", "user_id", required=True, help="Slack user id (U…) to forget.")
@click.pass_context
def user_forget(ctx: click.Context, team_id: str, user_id: str) -> None:
    """Remove or anonymize one person's personal data (aggregates are kept)."""
    from storage.db import session_scope
    from storage.lifecycle import forget_user

    with session_scope(_engine(_settings(ctx))) as session:
        result = forget_user(session, team_id=team_id, user_id=user_id, actor_id="cli")
    total = sum(result["changed"].values())
    click.echo(
        f"Forgot {user_id} in team {team_id}: {total} values removed or replaced by "
        f"{result['pseudonym']}; totals and history are kept."
    )


@cli.group()
def feedback() -> None:
    """Customer feedback (the same columns as the sheet's Feedback tab)."""


@feedback.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--team", "team_id", default=None, help="Slack team id (default: the only team).")
@click.pass_context
def feedback_import(ctx: click.Context, file: str, team_id: str | None) -> None:
    """Import FILE.csv: date, customer, score, comment, department, staff (once per row)."""
    from pathlib import Path

    from jobs.feedback_sync import import_csv
    from storage.export import only_team

    settings = _settings(ctx)
    engine = _engine(settings)
    team_id = team_id or only_team(engine)
    client = None
    if settings.oauth_enabled or settings.slack_bot_token:  # heads are told about detractors
        team_id, client = _team_and_client(settings, engine, team_id)
    report = import_csv(
        engine,
        team_id=team_id,
        path=Path(file),
        client=client,
        configured_admins=settings.admin_ids,
        retention_days=settings.loyalty_feedback_retention_days,
    )
    click.echo(report.text())


@cli.group()
def customer() -> None:
    """One customer's data (feedback they gave)."""


@customer.command("forget")
@click.option("--team", "team_id", required=True, help="Slack team id (T…).")
@click.option("--customer", "customer_name", required=True, help="The customer as recorded.")
@click.pass_context
def customer_forget(ctx: click.Context, team_id: str, customer_name: str) -> None:
    """Erase a customer's name and words (scores and follow-up counts are kept)."""
    from storage.db import session_scope
    from storage.feedback import forget_customer

    with session_scope(_engine(_settings(ctx))) as session:
        changed = forget_customer(session, team_id=team_id, customer=customer_name, actor_id="cli")
    click.echo(
        f"Forgot the customer in team {team_id}: {changed['feedback']} answers erased "
        f"({changed['followup']} follow-up notes, {changed['praise_draft']} praise drafts, "
        f"{changed['auditlog']} audit entries scrubbed); scores and counts are kept."
    )


@cli.group()
def team() -> None:
    """A workspace's data."""


@team.command("purge")
@click.option("--team", "team_id", required=True, help="Slack team id (T…).")
@click.option("--force", is_flag=True, help="Purge even though the app is still installed there.")
@click.pass_context
def team_purge(ctx: click.Context, team_id: str, force: bool) -> None:
    """Delete an uninstalled team's data now (instead of after the retention period)."""
    from storage.db import session_scope
    from storage.errors import DomainError
    from storage.lifecycle import is_team_active, purge_team
    from storage.models import Team

    with session_scope(_engine(_settings(ctx))) as session:
        if session.get(Team, team_id) is None:
            raise DomainError(f"No team {team_id} here; nothing to purge.")
        if is_team_active(session, team_id=team_id) and not force:
            raise DomainError(
                f"Team {team_id} still has the app installed; uninstall it from Slack first, "
                "or pass --force to delete its data anyway."
            )
        counts = purge_team(session, team_id=team_id)
    click.echo(f"Purged team {team_id}: {sum(counts.values())} rows in {len(counts)} tables.")


@cli.group()
def tokens() -> None:
    """Stored Slack tokens (OAuth installs)."""


@tokens.command("reencrypt")
@click.pass_context
def tokens_reencrypt(ctx: click.Context) -> None:
    """Re-encrypt stored tokens with the first key of LOYALTY_ENCRYPTION_KEY (key rotation)."""
    from storage import token_crypto
    from storage.oauth_tables import reencrypt_tokens

    settings = _settings(ctx)
    require(settings, "LOYALTY_ENCRYPTION_KEY")
    token_crypto.configure(settings.loyalty_encryption_key)
    count = reencrypt_tokens(_engine(settings))
    click.echo(f"Re-encrypted {count} stored secrets with the newest key; older keys may go now.")


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """The scheduler alone (digests, reminders, reviews, KPI sync); safe to start twice."""
    settings = _settings(ctx)
    if not settings.oauth_enabled:  # OAuth mode: each team's stored token
        require(settings, "SLACK_BOT_TOKEN", hint=SLACK_HINT)
    from jobs.scheduler import run_blocking_scheduler

    app = _app(settings)
    log_start(settings)
    click.echo("Loyalty OKRs scheduler started (one fires at a time). Press Ctrl+C to stop.")
    run_blocking_scheduler(settings, app.deps.engine, app=app)


def _team_and_client(settings: Settings, engine, team_id: str | None):
    from slackapp.web_client import make_web_client
    from storage.export import only_team

    team_id = team_id or only_team(engine)
    if settings.oauth_enabled:  # the team's own stored (encrypted) token
        from slackapp.oauth import team_client
        from storage.errors import DomainError

        client = team_client(settings, engine, team_id)
        if client is None:
            raise DomainError(f"Team {team_id} has no installation (uninstalled?).")
    else:
        require(settings, "SLACK_BOT_TOKEN", hint=SLACK_HINT)
        client = make_web_client(settings)
    _notice_reinstall(engine, client, team_id)
    return team_id, client


def _notice_reinstall(engine, client, team_id: str) -> None:
    """A team marked uninstalled whose token works has the app again (e.g. reinstalled in
    single-workspace mode, where no OAuth redirect reports it): jobs resume for it."""
    from slackapp.oauth import reactivate_if_token_works
    from storage.db import session_scope
    from storage.lifecycle import is_team_active

    with session_scope(engine) as session:
        if is_team_active(session, team_id=team_id):
            return
    try:
        reactivate_if_token_works(engine, client, team_id=team_id)
    except Exception:  # noqa: BLE001 - the command itself will say what Slack answers
        log.debug("could not check whether team %s has the app again", team_id)


@cli.command()
@click.option("--department", default=None, help="Only this department's digest.")
@click.option("--dry-run", is_flag=True, help="Print the Block Kit JSON instead of sending.")
@click.option("--team", "team_id", default=None, help="Slack team id (default: the only team).")
@click.pass_context
def digest(ctx: click.Context, department: str | None, dry_run: bool, team_id: str | None) -> None:
    """Send the weekly digest now (an extra send; the scheduled one still goes out)."""
    import json

    from jobs.weekly_digest import dry_run_payloads, plan_digest, send_weekly_digest
    from storage.models import utcnow

    settings = _settings(ctx)
    engine = _engine(settings)
    now = utcnow()
    # Its own period, so it neither replaces nor is replaced by the scheduled digest.
    period = f"manual-{now:%Y%m%dT%H%M%S}"
    if dry_run:
        from storage.export import only_team

        plan = plan_digest(
            engine,
            team_id=team_id or only_team(engine),
            now=now,
            period=period,
            department=department,
            default_timezone=settings.loyalty_timezone,
        )
        click.echo(json.dumps(dry_run_payloads(plan), indent=2, ensure_ascii=False))
        return
    team_id, client = _team_and_client(settings, engine, team_id)
    from storage.db import session_scope
    from storage.teams import admin_ids

    with session_scope(engine) as session:
        admins = admin_ids(session, team_id=team_id, configured=settings.admin_ids)
    report = send_weekly_digest(
        engine,
        client,
        team_id=team_id,
        now=now,
        period=period,
        department=department,
        admins=admins,
        default_timezone=settings.loyalty_timezone,
    )
    click.echo(f"Sent {len(report.sent)} message(s) in {report.elapsed:.1f}s.")
    for msg, error in report.failed:
        click.echo(f"Not sent to {msg.channel} ({msg.label}): {error}", err=True)
    if report.failed:
        sys.exit(1)


@cli.group()
def review() -> None:
    """Quarterly reviews."""


@review.command("start")
@click.option("--quarter", default=None, help="Like 2026-Q4 (default: the current quarter).")
@click.option("--team", "team_id", default=None, help="Slack team id (default: the only team).")
@click.pass_context
def review_start(ctx: click.Context, quarter: str | None, team_id: str | None) -> None:
    """Start the quarterly review now: leadership prompt and a DM to each head."""
    from jobs.quarterly_review import start_and_prompt
    from storage.models import utcnow
    from storage.quarters import parse_quarter, quarter_of

    settings = _settings(ctx)
    if not settings.oauth_enabled:
        require(settings, "SLACK_BOT_TOKEN", hint=SLACK_HINT)
    quarter = parse_quarter(quarter) if quarter else quarter_of(utcnow().date())
    engine = _engine(settings)
    team_id, client = _team_and_client(settings, engine, team_id)
    from storage.db import session_scope
    from storage.teams import admin_ids

    with session_scope(engine) as session:
        admins = admin_ids(session, team_id=team_id, configured=settings.admin_ids)
    report = start_and_prompt(engine, client, team_id=team_id, quarter=quarter, admins=admins)
    click.echo(
        f"{quarter} review: {len(report.sent)} prompt(s) sent, "
        f"{len(report.skipped)} already sent earlier."
    )
    for msg, error in report.failed:
        click.echo(f"Not sent to {msg.channel}: {error}", err=True)
    if report.failed:
        sys.exit(1)


def main() -> None:
    """Entry point: configuration and user errors end in one line, never a traceback."""
    from storage.db import SchemaNotCurrent
    from storage.errors import DomainError

    try:
        cli(standalone_mode=True)
    except (ConfigError, SchemaNotCurrent) as exc:
        click.echo(f"loyalty: {exc}", err=True)
        sys.exit(2)
    except DomainError as exc:
        click.echo(f"loyalty: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
