"""KPI guardrails end to end (spec §9): `/kpi target` through signed requests, then KPI syncs
from the fake Google Sheets post one alert / one recovery note per actual change."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlmodel import Session, func, select

from storage.db import session_scope
from storage.models import AuditLog, KpiGuardrail
from storage.objectives import KeyResultInput
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB
from tests.jobs import test_kpi_sync as kpi_sync_tests
from tests.support.factories import TEAM, department, objective

# The KPI sync tests' fixtures: the fake Google Sheets and settings pointing at it.
google, kpi_settings, client = (
    kpi_sync_tests.google,
    kpi_sync_tests.kpi_settings,
    kpi_sync_tests.client,
)
sync = kpi_sync_tests.sync
LEADERSHIP = "C0LEADERS1"
HEADER = ["Date", "Department", "KPI", "Value"]


def guardrails(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(KpiGuardrail)).one()


def posts(slack, channel):
    """Messages Slack accepted in `channel`."""
    return [
        c.args
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and c.ok
    ]


def uploads(slack, channel):
    return [
        c.args for c in slack.calls_to("files.completeUploadExternal")
        if c.args.get("channel_id") == channel
    ]  # fmt: skip


def setup_team(engine):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB,), channel="C0SUPPORT1")
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"leadership_channel": LEADERSHIP})
    return support


def test_guardrail_bad_input_and_roles_write_nothing(driver, engine, slack):
    setup_team(engine)
    cases = {
        "target nps above": "threshold after `above`",
        "target nps above abc": "`abc`",
        "target nps sideways 40": "`sideways` is not a direction",
        "target nsp above 40": "Did you mean `nps`",
        "target nps above 40 Nowhere": "no department named *Nowhere*",
        "target": "Say which KPI",
    }
    for text, expected in cases.items():
        slack.reset()
        driver.command("/kpi", text, user=ADMIN)
        reply = driver.last_reply_text()
        assert expected in reply, (text, reply)
        assert f"/kpi {text}" in reply and "/kpi target nps above 40" in reply  # quoted + usage
    slack.reset()
    driver.command("/kpi", "target nps above 40 Support", user=BOB)  # a member
    assert "Only a head of Support or a workspace admin" in driver.last_reply_text()
    slack.reset()
    driver.command("/kpi", "target nps above 40", user=ALICE)  # a head, company-wide
    assert "Only a workspace admin" in driver.last_reply_text()
    assert guardrails(engine) == 0
    slack.reset()
    driver.command("/kpi", "target nps below 5 Support", user=ALICE)  # the head, their dept
    assert "Guardrail set" in driver.last_reply_text()
    slack.reset()
    driver.command("/kpi", "target nps off Support", user=ALICE)
    assert "Guardrail removed" in driver.last_reply_text()
    with Session(engine) as s:
        actions = s.exec(
            select(AuditLog.action).where(AuditLog.action.like("kpi_guardrail.%"))
        ).all()
    assert sorted(actions) == ["kpi_guardrail.remove", "kpi_guardrail.set"]
    assert guardrails(engine) == 0


def test_alert_once_recovery_once_nothing_on_resync_or_second_scheduler(
    driver, kpi_settings, engine, client, google, slack
):
    setup_team(engine)
    _, krs = objective(
        engine,
        setup_team_dept(engine),
        krs=[KeyResultInput(title="Lift NPS", baseline=30, target=50, kpi_name="nps")],
    )
    rows = [HEADER, ["2026-11-02", "", "nps", "45"]]
    book = google.add_spreadsheet(sheets={"KPIs": rows})
    assert sync(kpi_settings, engine, client).ok
    driver.command("/kpi", "target nps above 40", user=ADMIN)
    reply = driver.last_reply_text()
    assert "Guardrail set" in reply and "healthy at 45" in reply
    slack.reset()

    book.sheets["KPIs"].append(["2026-11-09", "", "nps", "38"])
    report = sync(kpi_settings, engine, client)
    assert report.ok and report.guardrail_changes == 1
    alerts = posts(slack, LEADERSHIP)
    assert len(alerts) == 1
    text = str(alerts[0]["blocks"])
    assert "is 38 pts on Nov 09, 2026" in text and "below the guardrail of 40 pts" in text
    assert f"KR-{krs[0].number}" in text and "Lift NPS" in text
    assert len(uploads(slack, LEADERSHIP)) == 1  # the chart, with files upload v2

    for _ in range(2):  # the same data again: nothing
        assert sync(kpi_settings, engine, client).guardrail_changes == 0
    assert len(posts(slack, LEADERSHIP)) == 1

    slack.reset()
    driver.command("/kpi", "", user=BOB)
    assert "unhealthy at 38" in driver.last_reply_text()

    # Two schedulers sync the recovered value at the same time: one recovery note.
    slack.reset()
    book.sheets["KPIs"].append(["2026-11-16", "", "nps", "41"])
    threads = [threading.Thread(target=sync, args=(kpi_settings, engine, client)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    notes = posts(slack, LEADERSHIP)
    assert len(notes) == 1 and "healthy again" in notes[0]["text"]
    assert "back to 41 pts" in str(notes[0]["blocks"])
    with Session(engine) as s:
        g = s.exec(select(KpiGuardrail)).one()
        assert (g.state, g.changes) == ("healthy", 2)


def setup_team_dept(engine):
    with Session(engine) as s:
        from storage.models import Department

        return s.exec(select(Department)).first()


def test_flapping_sheet_posts_one_message_per_actual_change(
    kpi_settings, engine, client, google, slack
):
    support = setup_team(engine)
    rows = [HEADER, ["2026-10-05", "Support", "churn_rate", "4"]]
    book = google.add_spreadsheet(sheets={"KPIs": rows})
    assert sync(kpi_settings, engine, client).ok
    with session_scope(engine) as s:
        from storage.guardrails import set_guardrail
        from storage.kpis import KNOWN_KPIS

        set_guardrail(
            s, team_id=TEAM, actor_id=ADMIN, is_admin=True, kpi_name="churn_rate", op="below",
            threshold=5, department=support, known_kpis=KNOWN_KPIS,
        )  # fmt: skip
    slack.reset()
    # The sheet's newest value flips across the threshold every sync: 6 changes, 6 messages;
    # each flip re-synced once more adds nothing. A change inside one sync (an older row edited)
    # does not count: only the newest value is judged.
    values = ["6", "4.5", "7", "3", "5.5", "5"]
    for i, v in enumerate(values):
        book.sheets["KPIs"].append(
            [(date(2026, 10, 12) + timedelta(weeks=i)).isoformat(), "Support", "churn_rate", v]
        )
        book.sheets["KPIs"][1][3] = str(9 - i)  # an old row changes too: not the newest
        assert sync(kpi_settings, engine, client).guardrail_changes == 1
        assert sync(kpi_settings, engine, client).guardrail_changes == 0
    messages = posts(slack, "C0SUPPORT1")
    kinds = ["alert" if "unhealthy" in m["text"] else "recovery" for m in messages]
    assert kinds == ["alert", "recovery", "alert", "recovery", "alert", "recovery"]
    assert len(uploads(slack, "C0SUPPORT1")) == 6
    assert posts(slack, LEADERSHIP) == []  # a department's guardrail posts in its channel


def test_alert_slack_refused_is_posted_by_the_next_sync_once(
    kpi_settings, engine, client, google, slack
):
    setup_team(engine)
    book = google.add_spreadsheet(sheets={"KPIs": [HEADER, ["2026-11-02", "", "nps", "45"]]})
    assert sync(kpi_settings, engine, client).ok
    with session_scope(engine) as s:
        from storage.guardrails import set_guardrail
        from storage.kpis import KNOWN_KPIS

        set_guardrail(
            s, team_id=TEAM, actor_id=ADMIN, is_admin=True, kpi_name="nps", op="above",
            threshold=40, department=None, known_kpis=KNOWN_KPIS,
        )  # fmt: skip
    slack.api_error("chat.postMessage", "internal_error", times=1)
    book.sheets["KPIs"].append(["2026-11-09", "", "nps", "38"])
    assert sync(kpi_settings, engine, client).guardrail_changes == 1
    assert posts(slack, LEADERSHIP) == []  # Slack said no: nothing was posted
    assert sync(kpi_settings, engine, client).guardrail_changes == 0  # same data, retried post
    assert len(posts(slack, LEADERSHIP)) == 1
    assert len(uploads(slack, LEADERSHIP)) == 1  # the chart went out once, the first time
    sync(kpi_settings, engine, client)
    assert len(posts(slack, LEADERSHIP)) == 1
