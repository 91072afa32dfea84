"""`/kpi`, `/kpi <name>` and `/okr bind|unbind` through the real Bolt app and the fake Slack."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import Session, select

from storage.db import session_scope
from storage.kpi_values import ValueIn, upsert_values
from storage.models import AuditLog, KeyResult, KpiSyncRun, utcnow
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import TEAM, department, objective


def seed(engine, support_id: int, *, weeks: int = 4, ok_run: bool = True, rejected: int = 0):
    start = date(2026, 10, 26)
    with session_scope(engine) as s:
        rows = []
        for i in range(weeks):
            day = start + timedelta(weeks=i)
            rows.append(ValueIn("nps", 0, day, 30.0 + 2 * i, f"KPIs!D{i + 2}"))
            rows.append(ValueIn("churn_rate", support_id, day, 5.0 + i, f"KPIs!E{i + 2}"))
        upsert_values(s, team_id=TEAM, values=rows)
        report = "KPI sync of “Loyalty KPIs” (KPIs)\nRejected (1):\n  KPIs!C14: `N/A` means no value; not stored\nNotes (1):\n  KPIs!F1: custom"
        s.add(
            KpiSyncRun(
                team_id=TEAM,
                ok=ok_run,
                finished_at=utcnow(),
                rejected=rejected,
                report=report if rejected else "",
                error=None if ok_run else "Google Sheets kept answering 503",
            )
        )


def test_kpi_overview_latest_values_change_and_sync_time(driver, slack, engine):
    support = department(engine, "Support")
    seed(engine, support.id, rejected=1)
    resp = driver.command("/kpi", "", user=BOB)
    assert resp.status == 200
    reply = driver.replies(1)[0]
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert reply["response_type"] == "ephemeral"
    assert "*36 pts*" in text and "+2 pts since Nov 09" in text  # nps: 36 now, 34 a week before
    assert "Support: *8%*" in text and "+1% since Nov 09 :warning:" in text  # churn up is bad
    assert "Last successful sync: <!date^" in text
    assert "1 cell(s) in the sheet had invalid values" in text and "KPIs!C14" in text
    assert "KPIs!F1" not in text  # notes are not warnings
    assert "stale" not in text
    assert len(reply["blocks"]) <= 50


def test_kpi_overview_warns_when_stale_or_failed(driver, slack, engine):
    support = department(engine, "Support")
    seed(engine, support.id, ok_run=False)
    driver.command("/kpi", "", user=BOB)
    text = driver.last_reply_text()
    assert "may be stale" in text and "The last sync failed" in text


def test_kpi_detail_uploads_chart_to_channel(driver, slack, engine):
    support = department(engine, "Support")
    seed(engine, support.id, weeks=6)
    driver.command("/kpi", "Churn Rate", user=BOB, channel="C0GENERAL")
    text = driver.last_reply_text()
    assert "KPI churn_rate" in text and "5% → 6% → 7% → 8% → 9% → 10%" in text
    assert "Chart posted in this channel." in text
    complete = slack.wait_for("files.completeUploadExternal")[0]
    assert complete["channel_id"] == "C0GENERAL"
    png = next(iter(slack.uploads.values()))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_kpi_chart_goes_to_dm_when_bot_cannot_post(driver, slack, engine):
    support = department(engine, "Support")
    seed(engine, support.id)
    slack.not_in_channels.add("C0PRIVATE1")
    driver.command("/kpi", "nps", user=BOB, channel="C0PRIVATE1")
    assert "sent you the chart in a direct message" in driver.last_reply_text()
    shared = slack.calls_to("files.completeUploadExternal")
    assert [(c["channel_id"], c.ok) for c in shared] == [
        ("C0PRIVATE1", False),
        ("D" + BOB[1:], True),
    ]
    assert slack.calls_to("conversations.open")[0]["users"] == BOB


def test_unknown_kpi_name_quotes_input_and_lists_names(driver, slack, engine):
    driver.command("/kpi", "happiness", user=BOB)
    text = driver.last_reply_text()
    assert "/kpi happiness" in text and "is not a KPI here" in text and "nps" in text
    assert slack.calls_to("files.getUploadURLExternal") == []


def test_kpi_with_no_values_yet(driver, slack, engine, settings):
    # No Google Sheet connected (Sheets is optional): /kpi says how to connect one.
    driver.command("/kpi", "", user=BOB)
    text = driver.last_reply_text()
    assert "No Google Sheet is connected" in text and "KPI_SPREADSHEET" in text
    assert "stale" not in text and "failed" not in text
    slack.reset()
    settings.kpi_spreadsheet = "SHEET123"  # connected, nothing synced yet
    driver.command("/kpi", "", user=BOB)
    assert "No KPI values yet" in driver.last_reply_text()
    slack.reset()
    driver.command("/kpi", "csat", user=BOB)
    assert "No values for `csat` yet" in driver.last_reply_text()
    assert slack.calls_to("files.getUploadURLExternal") == []


def test_okr_bind_and_unbind(driver, slack, engine):
    support = department(engine, "Support", heads=(ALICE,))
    seed(engine, support.id)
    _, (kr,) = objective(engine, support, owner=ALICE)
    driver.command("/okr", f"bind KR-{kr.number} churn rate department", user=ALICE)
    assert "now takes its value from the KPI `churn_rate` (Support)" in driver.last_reply_text()
    with Session(engine) as s:
        row = s.get(KeyResult, kr.id)
        assert (row.kpi_name, row.kpi_department_id, row.current_value) == (
            "churn_rate",
            support.id,
            8.0,
        )
        assert s.exec(select(AuditLog).where(AuditLog.action == "key_result.bind_kpi")).one()
    slack.reset()
    driver.command("/okr", f"unbind KR-{kr.number}", user=ALICE)
    assert "no longer bound" in driver.last_reply_text()
    with Session(engine) as s:
        row = s.get(KeyResult, kr.id)
        assert (row.kpi_name, row.kpi_department_id) == (None, None)


def test_okr_bind_refused_and_bad_input_write_nothing(driver, slack, engine):
    support = department(engine, "Support", heads=(ALICE,))
    _, (kr,) = objective(engine, support, owner=ALICE)
    cases = [
        (f"bind KR-{kr.number} nps", BOB, "a head of Support or a workspace admin"),
        (f"bind KR-{kr.number} happiness", ALICE, "`happiness` is not a KPI here"),
        (f"bind KR-{kr.number} nps Narnia", ADMIN, "There is no department `Narnia`"),
        ("bind KR-999 nps", ALICE, "There is no key result `KR-999`"),
        ("bind", ALICE, "Say which key result and which KPI"),
        (f"unbind KR-{kr.number}", ALICE, "is not bound to a KPI"),
    ]
    for text, user, expect in cases:
        slack.reset()
        driver.command("/okr", text, user=user)
        reply = driver.last_reply_text()
        assert expect in reply, (text, reply)
        assert f"/okr {text}" in reply
    with Session(engine) as s:
        row = s.get(KeyResult, kr.id)
        assert row.kpi_name is None
        assert not s.exec(select(AuditLog).where(AuditLog.action.like("key_result.%bind%"))).all()
