"""The `loyalty` command as an admin deploying it meets it (spec §10): --version, help that
always works, secrets never echoed, LOG_LEVEL / LOYALTY_ENV_FILE checked, the env file and the
SQLite file found from any directory, explicit migrations, db copy / backup, manifest."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from loyalty.cli import cli
from storage.db import alembic_config, current_revisions, make_engine, upgrade
from tests.cli.test_settings_cli import CLEAN_ENV, run_cli
from tests.support.factories import department
from tests.support.oauth_helpers import seed_installation

ROOT = Path(__file__).resolve().parents[2]
BAD_SETTINGS = {
    "LOYALTY_TIMEZONE": "Mars/Olympus",
    "LOG_LEVEL": "LOUD",
    "DATABASE_URL": "mysql://u:pw@h/db",
    "LOYALTY_ENV_FILE": "/nonexistent/loyalty.env",
}


def one_line_error(result, *needles: str, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_version_is_the_packages():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"loyalty, version {version('loyalty-okrs')}"


@pytest.mark.parametrize("bad", list(BAD_SETTINGS.items()), ids=list(BAD_SETTINGS))
def test_help_of_every_command_works_with_bad_settings(bad, tmp_path):
    names = [()] + list(all_commands(cli))
    assert ("db", "copy") in names and ("manifest",) in names and ("serve",) in names
    for name in names:
        result = CliRunner().invoke(cli, [*name, "--help"], env=dict([bad]))
        assert result.exit_code == 0, (name, result.output, result.exception)
        assert "Usage: " in result.output
    # ... while running a command names the bad setting in one line.
    one_line_error(run_cli("db", "upgrade", env=dict([bad]), cwd=tmp_path), bad[0])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOYALTY_ENCRYPTION_KEY", "not-a-fernet-key-S3CRET"),
        ("LOYALTY_ENCRYPTION_KEY", "Y2AtWzfiOkJcJHXv0gPhp3QhTgqDxwBZs6rY7sJ0Lco=,S3CRET-second"),
        ("DATABASE_URL", "mysql://admin:S3CRET@db.example.com/loyalty"),
    ],
)
def test_malformed_secret_is_named_never_printed(name, value, tmp_path):
    line = one_line_error(run_cli("db", "upgrade", env={name: value}, cwd=tmp_path), name)
    assert "S3CRET" not in line and "Y2AtWzfi" not in line


def test_log_format_and_level_are_checked(tmp_path):
    one_line_error(run_cli("db", "upgrade", env={"LOG_LEVEL": "LOUD"}, cwd=tmp_path), "LOG_LEVEL")
    one_line_error(run_cli("db", "upgrade", env={"LOG_FORMAT": "xml"}, cwd=tmp_path), "LOG_FORMAT")
    assert not (tmp_path / "loyalty.db").exists()


def test_env_file_named_by_loyalty_env_file_must_exist(tmp_path):
    line = one_line_error(
        run_cli("db", "upgrade", env={"LOYALTY_ENV_FILE": str(tmp_path / "nope.env")}),
        "LOYALTY_ENV_FILE",
        "nope.env",
    )
    assert "not a file" in line


def test_env_file_and_relative_sqlite_found_from_any_directory(tmp_path):
    home, elsewhere = tmp_path / "okrs", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env_file = home / "production.env"
    env_file.write_text("DATABASE_URL=sqlite:///./loyalty.db\nLOYALTY_TIMEZONE=Europe/Paris\n")
    env = {"LOYALTY_ENV_FILE": str(env_file)}
    created = run_cli("db", "upgrade", env=env, cwd=elsewhere)
    assert created.returncode == 0, created.stderr
    assert f"No database at {home / 'loyalty.db'} yet: creating a new one." in created.stdout
    assert (home / "loyalty.db").exists() and not (elsewhere / "loyalty.db").exists()
    again = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert "creating" not in again.stdout and str(home / "loyalty.db") in again.stdout
    # `.env` in the current directory is read when LOYALTY_ENV_FILE is unset.
    (home / ".env").write_text("DATABASE_URL=sqlite:///./loyalty.db\n")
    exported = run_cli("export", "--out", str(tmp_path / "out"), "--team", "T0X", cwd=home)
    assert exported.returncode == 0, exported.stderr
    # A command other than `db upgrade` never creates a database where there is none.
    refused = run_cli("export", "--out", str(tmp_path / "o2"), "--team", "T0X", cwd=elsewhere)
    one_line_error(refused, "No database at", "loyalty db upgrade")
    assert not (elsewhere / "loyalty.db").exists()


def test_db_upgrade_refuses_a_directory_that_does_not_exist(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'x.db'}"
    one_line_error(run_cli("db", "upgrade", env={"DATABASE_URL": url}), "does not exist")


def _one_behind(url: str) -> str:
    script = ScriptDirectory.from_config(alembic_config(url))
    behind = script.get_revision(script.get_current_head()).down_revision
    upgrade(url, behind)
    return behind


SLACK_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_APP_TOKEN": "xapp-test-token",
    "SLACK_SIGNING_SECRET": "test-signing-secret",
}


@pytest.mark.parametrize(
    "args",
    [
        ("run",),
        ("serve", "--port", "0"),
        ("scheduler",),
        ("export", "--out", "OUT", "--team", "T0TEAMA01"),
        ("digest", "--dry-run", "--team", "T0TEAMA01"),
        ("review", "start", "--team", "T0TEAMA01"),
        ("user", "forget", "--team", "T0TEAMA01", "--user", "U0ALICE01"),
        ("team", "purge", "--team", "T0TEAMA01"),
        ("kpi", "sync", "--team", "T0TEAMA01"),
        ("tokens", "reencrypt"),
        ("db", "copy", "--to", "sqlite:///TARGET"),
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_commands_refuse_a_schema_one_migration_behind(args, tmp_path, slack):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    behind = _one_behind(url)
    args = [
        a.replace("OUT", str(tmp_path / "out")).replace("TARGET", str(tmp_path / "t.db"))
        for a in args
    ]
    env = {
        "DATABASE_URL": url,
        "SLACK_API_URL": slack.api_url,
        "LOYALTY_ENCRYPTION_KEY": "Y2AtWzfiOkJcJHXv0gPhp3QhTgqDxwBZs6rY7sJ0Lco=",
        "GOOGLE_SERVICE_ACCOUNT_FILE": str(tmp_path / "key.json"),
        "KPI_SPREADSHEET": "SHEET123",
        **SLACK_ENV,
    }
    result = run_cli(*args, env=env)
    one_line_error(result, "behind", "loyalty db upgrade")
    engine = make_engine(url)
    try:
        assert current_revisions(engine) == {behind}  # nothing migrated implicitly
    finally:
        engine.dispose()
    assert not (tmp_path / "out").exists() and not (tmp_path / "t.db").exists()


def test_scheduler_logs_env_file_and_database_at_start_in_json(db_url, slack, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text(f"DATABASE_URL={db_url}\n")
    env = {
        **CLEAN_ENV,
        "LOYALTY_ENV_FILE": str(env_file),
        "LOG_FORMAT": "json",
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty", "scheduler"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and "settings from" not in line:
            line = proc.stderr.readline()
        record = json.loads(line)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()
    assert record["level"] == "INFO" and record["logger"] == "loyalty"
    assert str(env_file) in record["message"] and db_url in record["message"]


def test_manifest_command_prints_each_variant_and_refuses_bad_urls():
    socket = run_cli("manifest")
    assert socket.returncode == 0
    assert socket.stdout == (ROOT / "manifest.yml").read_text(encoding="utf-8")
    http = run_cli("manifest", "--url", "https://okrs.example.com", "--oauth")
    assert http.returncode == 0
    assert "request_url: https://okrs.example.com/slack/events" in http.stdout
    assert "https://okrs.example.com/slack/oauth_redirect" in http.stdout
    assert "socket_mode_enabled: false" in http.stdout
    one_line_error(run_cli("manifest", "--url", "http://okrs.example.com"), "https://")
    one_line_error(run_cli("manifest", "--url", "https://okrs.example.com/slack"), "/slack")
    one_line_error(run_cli("manifest", "--url", "https://okrs.example.com?x=1"), "?x=1")
    one_line_error(run_cli("manifest", "--oauth"), "--url")


def test_db_copy_and_backup_commands(db_url, engine, tmp_path):
    department(engine, "Support")
    seed_installation(engine)  # a multi-workspace install: its token is stored encrypted
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    copied = run_cli("db", "copy", "--to", target, env={"DATABASE_URL": db_url})
    assert copied.returncode == 0, copied.stderr
    assert "row counts match" in copied.stdout
    assert any(ln.split() == ["department", "1"] for ln in copied.stdout.splitlines())
    assert any(ln.split() == ["slack_bots", "1"] for ln in copied.stdout.splitlines())
    again = run_cli("db", "copy", "--to", target, env={"DATABASE_URL": db_url})
    one_line_error(again, "already holds data", code=1)
    one_line_error(
        run_cli("db", "copy", "--to", "mysql://x@y/z", env={"DATABASE_URL": db_url}),
        "not a database URL",
        code=1,
    )
    one_line_error(
        run_cli(
            "db",
            "copy",
            "--to",
            "postgresql://u:S3CRET@127.0.0.1:1/x",
            env={"DATABASE_URL": db_url},
        ),
        "Cannot reach the target database",
        code=1,
    )
    backup = run_cli("db", "backup", str(tmp_path / "b.db"), env={"DATABASE_URL": db_url})
    if db_url.startswith("sqlite"):
        assert backup.returncode == 0, backup.stderr
        eng = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM department")).scalar() == 1
        eng.dispose()
    else:
        one_line_error(backup, "pg_dump", code=1)
