"""Google Sheets is optional (spec §10): with no KPI_SPREADSHEET the scheduled KPI sync does not
run, records no failed run and DMs nobody; with one, the same job does run."""

from __future__ import annotations

from sqlmodel import Session, func, select

import jobs.scheduler as scheduler
from slackapp.app import make_web_client
from storage.models import KpiSyncRun
from tests.conftest import ADMIN
from tests.fakes.google_api import FakeGoogle
from tests.support.factories import department


def runs(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(KpiSyncRun)).one()


def test_no_spreadsheet_no_sync_no_failure_no_dm(engine, settings, slack, monkeypatch, tmp_path):
    department(engine, "Support")  # an active team the job would sync
    settings.loyalty_admins = ADMIN
    rt = scheduler.Runtime(settings=settings, engine=engine, client=make_web_client(settings))
    monkeypatch.setattr(scheduler, "_runtime", rt)
    scheduler.kpi_sync()
    assert runs(engine) == 0
    assert slack.calls_to("chat.postMessage") == [] and slack.calls_to("conversations.open") == []

    # The same job with a sheet configured runs (here: the sheet is not shared, so it fails).
    google = FakeGoogle().start()
    try:
        settings.kpi_spreadsheet = "NOT-SHARED-SHEET"
        settings.google_service_account_file = str(google.service_account_file(tmp_path))
        settings.google_sheets_api_url = google.sheets_url
        scheduler.kpi_sync()
    finally:
        google.stop()
    with Session(engine) as s:
        assert [r.ok for r in s.exec(select(KpiSyncRun))] == [False]
