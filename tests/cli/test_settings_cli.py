"""Configuration: spec §6 defaults; a missing or malformed setting stops start-up with one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from slackapp.settings import ConfigError, Settings, load_settings

CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("SLACK_", "LOYALTY_", "DATABASE_", "KPI_", "GOOGLE_"))
}


def run_cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "loyalty", *args],
        env={**CLEAN_ENV, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_match_the_spec(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("SLACK_", "LOYALTY_", "DATABASE_", "KPI_", "GOOGLE_")):
            monkeypatch.delenv(key)
    s = load_settings()
    assert Settings.model_fields["database_url"].default == "sqlite:///./loyalty.db"
    # No env file here: the relative default is resolved against the current directory.
    assert s.env_file_read is None
    assert s.database_url == f"sqlite:///{tmp_path.resolve()}/loyalty.db"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.worksheet_names == ["KPIs"] and s.kpi_praise_worksheet == "Praise"
    assert s.google_sheets_api_url == "https://sheets.googleapis.com/v4/spreadsheets"
    assert s.loyalty_timezone == "UTC" and s.admin_ids == frozenset()


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"LOYALTY_TIMEZONE": "Mars/Olympus"}, "LOYALTY_TIMEZONE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"SLACK_API_URL": "not a url"}, "SLACK_API_URL"),
        ({"LOYALTY_ADMINS": "alice,bob"}, "LOYALTY_ADMINS"),
        ({"KPI_SYNC_CRON": "every hour"}, "KPI_SYNC_CRON"),
        ({"LOYALTY_DATA_RETENTION_DAYS": "soon"}, "LOYALTY_DATA_RETENTION_DAYS"),
    ],
)
def test_malformed_setting_one_line_naming_it(env, name, tmp_path):
    result = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "loyalty.db").exists()


def test_load_settings_raises_config_error(monkeypatch):
    monkeypatch.setenv("LOYALTY_TIMEZONE", "Nowhere/City")
    with pytest.raises(ConfigError, match="LOYALTY_TIMEZONE"):
        load_settings()


def test_plain_postgres_url_gets_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().database_url == "postgresql+psycopg://u@h/db"


def test_run_without_tokens_says_which_variables_and_how(tmp_path):
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "manifest.yml"):
        assert var in line


def test_db_upgrade_creates_sqlite_database(tmp_path):
    result = run_cli("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout and (tmp_path / "x.db").exists()


def test_export_cli_writes_csv_and_manifest(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    result = run_cli("export", "--out", str(tmp_path / "out"), "--team", "T0TEAMA01", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "manifest.json").exists() and (
        tmp_path / "out" / "objective.csv"
    ).exists()
    missing = run_cli("export", "--out", str(tmp_path / "o2"), env=env)
    assert (
        missing.returncode == 1 and "--team" in missing.stderr and "Traceback" not in missing.stderr
    )
