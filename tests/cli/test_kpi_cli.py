"""`loyalty kpi sync`: prints the report, exit 0 when it landed, one line and non-zero when not."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from storage.models import KpiValue
from tests.cli.test_settings_cli import run_cli
from tests.fakes.google_api import FakeGoogle


def _env(db_url, slack, google, key_file, **extra):
    return {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": slack.api_url,
        "GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file),
        "KPI_SPREADSHEET": "SHEET123",
        "GOOGLE_SHEETS_API_URL": google.sheets_url,
        **extra,
    }


def test_kpi_sync_cli_prints_report_and_exit_codes(db_url, engine, slack, tmp_path):
    google = FakeGoogle().start()
    try:
        key_file = google.service_account_file(tmp_path)
        google.add_spreadsheet(
            sheets={
                "KPIs": [
                    ["date", "kpi", "value"],
                    ["2026-11-23", "nps", "40"],
                    ["2026-11-23", "csat", "N/A"],
                ]
            }
        )
        env = _env(db_url, slack, google, key_file)
        result = run_cli("kpi", "sync", env=env)
        assert result.returncode == 0, result.stderr
        assert "KPI sync landed: 2 rows read · 1 values stored" in result.stdout
        assert "KPIs!C3: `N/A` means no value; not stored" in result.stdout
        with Session(engine) as s:
            assert [(v.team_id, v.kpi_name, v.day) for v in s.exec(select(KpiValue))] == [
                ("T0TEAMA01", "nps", date(2026, 11, 23))
            ]
        assert slack.calls_to("chat.postMessage") == []  # a manual run prints; it does not DM

        missing = run_cli("kpi", "sync", env={**env, "KPI_WORKSHEETS": "Numbers"})
        assert missing.returncode == 1
        last = missing.stderr.strip().splitlines()[-1]  # earlier stderr lines are INFO logs
        assert last.startswith("loyalty: Worksheet `Numbers` not found in spreadsheet")
        assert "Nothing was changed" in missing.stdout

        unset = run_cli("kpi", "sync", env={**env, "GOOGLE_SERVICE_ACCOUNT_FILE": ""})
        assert unset.returncode == 2
        assert unset.stderr.strip().startswith("loyalty: Set GOOGLE_SERVICE_ACCOUNT_FILE")
        assert "Traceback" not in unset.stderr + missing.stderr
    finally:
        google.stop()
