"""A database URL may carry its password in the query (`?password=`, `?sslpassword=`, a driver
token): the CLI never prints it — not at start, not from `loyalty db upgrade`, not in a schema
error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.cli.test_settings_cli import CLEAN_ENV, run_cli

SECRETS = ("hunter2", "sslhunter3", "tok-4242", "shh-5353")


def with_query_secrets(url: str, *, libpq_only: bool) -> str:
    """`url` with credentials in its query; PostgreSQL accepts only libpq's own options."""
    query = "password=hunter2&sslpassword=sslhunter3"
    if not libpq_only:
        query += "&auth_token=tok-4242&client_secret=shh-5353"
    return f"{url}{'&' if '?' in url else '?'}{query}"


def assert_no_secret(*outputs: str) -> None:
    for out in outputs:
        for secret in SECRETS:
            assert secret not in out, out


def test_db_upgrade_and_start_log_hide_query_passwords(db_url, tmp_path, slack):
    url = with_query_secrets(db_url, libpq_only=db_url.startswith("postgresql"))
    upgraded = run_cli("db", "upgrade", env={"DATABASE_URL": url})
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is up to date" in upgraded.stdout and "password=***" in upgraded.stdout
    assert_no_secret(upgraded.stdout, upgraded.stderr)

    env = {
        **CLEAN_ENV,
        "DATABASE_URL": url,
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
    seen = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("settings from" in ln for ln in seen):
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()
    start = json.loads(next(ln for ln in seen if "settings from" in ln))
    assert "password=***" in start["message"] and "sslpassword=***" in start["message"]
    assert_no_secret(*seen)


@pytest.fixture
def empty_database(db_url, tmp_path):
    """A database with no tables at all, of the same kind as `db_url`."""
    if not db_url.startswith("postgresql"):
        path = tmp_path / "empty.db"
        path.touch()
        yield f"sqlite:///{path}"
        return
    name = f"loyalty_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_schema_error_hides_query_passwords(empty_database):
    url = with_query_secrets(empty_database, libpq_only=empty_database.startswith("postgresql"))
    refused = run_cli("export", "--out", "unused", "--team", "T0TEAMA01",
                      env={"DATABASE_URL": url})  # fmt: skip
    assert refused.returncode != 0
    assert "has no tables yet" in refused.stderr and "loyalty db upgrade" in refused.stderr
    assert "password=***" in refused.stderr
    assert_no_secret(refused.stdout, refused.stderr)


def test_db_copy_refusals_hide_passwords_of_the_target(db_url, tmp_path):
    env = {"DATABASE_URL": db_url}
    unsupported = run_cli("db", "copy", "--to", "mysql://loyalty:hunter2@db.example.com/okrs"
                          "?password=hunter2&auth_token=tok-4242", env=env)  # fmt: skip
    assert unsupported.returncode != 0 and "is not a database URL" in unsupported.stderr
    assert "mysql://loyalty:***@db.example.com/okrs" in unsupported.stderr
    unreachable = run_cli("db", "copy", "--to", "postgresql://loyalty:hunter2@127.0.0.1:1/okrs"
                          "?sslpassword=sslhunter3", env=env)  # fmt: skip
    assert unreachable.returncode != 0 and "Cannot reach the target database" in unreachable.stderr
    for refused in (unsupported, unreachable):
        assert_no_secret(refused.stdout, refused.stderr)
