"""The `loyalty` command (spec §6)."""

from __future__ import annotations

import logging
import sys

import click

from slackapp.settings import ConfigError, Settings, load_settings, require

SLACK_HINT = (
    "Create the Slack app from manifest.yml (api.slack.com/apps → Create New App → "
    "From an app manifest), install it, then copy the Bot User OAuth Token (xoxb-…), "
    "the Signing Secret and, for Socket Mode, an App-Level Token with connections:write (xapp-…)."
)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Loyalty OKRs: loyalty objectives every department owns, in Slack."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings()


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply database migrations (Alembic)."""
    from storage.db import upgrade

    upgrade(_settings(ctx).database_url)
    click.echo("Database is up to date.")


def _app(settings: Settings):
    from slackapp.app import create_app
    from storage.db import make_engine, upgrade

    upgrade(settings.database_url)
    return create_app(settings, make_engine(settings.database_url))


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Socket Mode app with the scheduler in the same process."""
    settings = _settings(ctx)
    require(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", hint=SLACK_HINT)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app = _app(settings)
    scheduler = _start_scheduler(app)
    handler = SocketModeHandler(app, settings.slack_app_token)
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
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """HTTP mode (POST /slack/events, GET /healthz); no scheduler."""
    settings = _settings(ctx)
    if not settings.oauth_enabled:
        require(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", hint=SLACK_HINT)
    else:
        require(settings, "SLACK_SIGNING_SECRET", hint=SLACK_HINT)
    from slackapp.http_server import serve as serve_http

    serve_http(_app(settings), host, port)


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
    from storage.db import make_engine, upgrade
    from storage.export import export_team, only_team

    settings = _settings(ctx)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    team_id = team_id or only_team(engine)
    manifest = export_team(engine, team_id=team_id, out_dir=out_dir)
    total = sum(manifest["tables"].values())
    click.echo(
        f"Exported {total} rows of team {team_id} in {len(manifest['tables'])} tables to {out_dir}"
    )


def main() -> None:
    """Entry point: configuration and user errors end in one line, never a traceback."""
    from storage.errors import DomainError

    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"loyalty: {exc}", err=True)
        sys.exit(2)
    except DomainError as exc:
        click.echo(f"loyalty: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
