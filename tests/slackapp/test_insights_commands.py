"""Spec §9 through signed requests: insights in /okr show and list, /checkin away|back,
/behavior link|show — with hand-computed numbers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update
from sqlmodel import Session, func, select

from storage.behaviors import create_behavior
from storage.db import session_scope
from storage.models import (
    AuditLog,
    BehaviorKpiLink,
    BehaviorLog,
    CheckIn,
    KeyResult,
    KpiValue,
    Team,
    UserAway,
)
from storage.objectives import KeyResultInput
from storage.quarters import quarter_bounds, quarter_of
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import TEAM, department, objective
from tests.support.slack_driver import state


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def checkins(engine, kr_id: int, points: list[tuple[datetime, float]], confidence: int):
    with session_scope(engine) as s:
        for at, value in points:
            s.add(CheckIn(team_id=TEAM, key_result_id=kr_id, author_id=ALICE, value=value,
                          confidence=confidence, created_at=at))  # fmt: skip
        s.execute(
            update(KeyResult).where(KeyResult.id == kr_id).values(
                current_value=points[-1][1], last_confidence=confidence,
                last_checkin_at=datetime.now(UTC),
            )
        )  # fmt: skip


def test_show_prints_forecast_mismatch_and_stale_and_list_marks_them(driver, engine):
    now = datetime.now(UTC)
    quarter = quarter_of(now.date())
    start, end = quarter_bounds(quarter)
    dept = department(engine, "Support", heads=(ALICE,))
    obj, (rising, falling, silent, same) = objective(
        engine, dept, quarter=quarter,
        krs=[KeyResultInput(title="Rising", baseline=30, target=50, unit="pts"),
             KeyResultInput(title="Falling", baseline=30, target=50, unit="pts"),
             KeyResultInput(title="Silent", baseline=0, target=10),
             KeyResultInput(title="Same moment", baseline=0, target=10)],
    )  # fmt: skip
    day = lambda n: datetime.combine(start + timedelta(days=n), time(0), tzinfo=UTC)  # noqa: E731
    checkins(engine, rising.id, [(day(0), 30), (day(10), 30), (day(20), 33)], confidence=9)
    checkins(engine, falling.id, [(day(0), 30), (day(10), 30), (day(20), 29)], confidence=9)
    checkins(engine, same.id, [(day(5), 2), (day(5), 6)], confidence=5)  # one timestamp
    with session_scope(engine) as s:
        s.execute(update(KeyResult).where(KeyResult.id == silent.id)
                  .values(created_at=now - timedelta(days=20)))  # fmt: skip
    # Rising: slope 0.15/day, intercept 29.5 → at the quarter's last day D: 29.5 + 0.15·D.
    d = (end - start).days
    value = 29.5 + 0.15 * d
    share = (value - 30) / 20
    expected = f"forecast {round(value, 1):g} pts by {end.isoformat()} → {share:.0%}"
    driver.command("/okr", f"show O-{obj.number}", user=BOB)
    text = driver.last_reply_text()
    assert expected in text, text
    assert "overconfident: confidence 9/10 but the data says off track" in text
    assert "stale: no check-in for 20 days" in text
    assert text.count("overconfident") == 1 and text.count("stale:") == 1
    # Falling and Rising have forecasts; Silent has no values, Same moment only one timestamp.
    assert text.count("forecast ") == 2
    driver.fake.reset()
    driver.command("/okr", "list all", user=BOB)
    listing = driver.last_reply_text()
    assert "overconfident" in listing and "stale: no check-in for 20 days" in listing
    assert "forecast" not in listing  # the list stays short; show has the forecast


def test_checkin_away_bad_dates_refused_then_away_and_back(driver, engine, slack):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    today = datetime.now(UTC).date()
    bad = {
        # Two days back: in the past in every timezone (the app reads the date in the
        # person's own, which may still be yesterday in UTC terms).
        f"away until {(today - timedelta(days=2)).isoformat()}": "is in the past",
        "away until 2026-02-31": "not a real date",
        f"away until {today.replace(year=today.year + 10).isoformat()}": "more than a year ahead",
        "away until tomorrow": "not a date",
        "away": "Say until when",
        "back": "not marked away",
    }
    for text, reason in bad.items():
        slack.reset()
        driver.command("/checkin", text, user=ALICE)
        reply = driver.last_reply_text()
        assert reason in reply and f"/checkin {text}" in reply, (text, reply)
        assert "/checkin away until 2026-12-24" in reply or text == "back"
    assert count(engine, UserAway) == 0
    until = today + timedelta(days=10)
    slack.reset()
    driver.command("/checkin", f"away until {until.isoformat()}", user=ALICE)
    assert f"away until {until:%a %b %d, %Y}" in driver.last_reply_text()
    with Session(engine) as s:
        assert s.get(UserAway, (TEAM, ALICE)).until == until
    driver.home_opened(ALICE)
    view = json.dumps(slack.wait_for("views.publish")[-1].args["view"], ensure_ascii=False)
    assert f"away until {until:%a %b %d, %Y}" in view
    slack.reset()
    driver.command("/checkin", "back", user=ALICE)
    assert "Welcome back" in driver.last_reply_text()
    assert count(engine, UserAway) == 0
    with Session(engine) as s:
        actions = s.exec(select(AuditLog.action).where(AuditLog.action.like("away.%"))).all()
    assert sorted(actions) == ["away.end", "away.set"]


def seed_behavior(engine, dept, *, counts, kpi_weeks, kpi_values):
    """Logs for weeks −14…, KPI values at the given week offsets from this week's Monday."""
    monday = datetime.now(UTC).date()
    monday -= timedelta(days=monday.weekday())
    with session_scope(engine) as s:
        b = create_behavior(
            s, team_id=TEAM, actor_id=ADMIN, is_admin=True, department=dept,
            description="Call every detractor",
        )  # fmt: skip
        for i, n in enumerate(counts):
            week = monday - timedelta(weeks=14 - i)
            if n:
                at = datetime.combine(week + timedelta(days=1), time(10), tzinfo=UTC)
                s.add(BehaviorLog(team_id=TEAM, behavior_id=b.id, user_id=BOB, count=n,
                                  created_at=at))  # fmt: skip
        for offset, value in zip(kpi_weeks, kpi_values, strict=True):
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=0,
                           day=monday + timedelta(weeks=offset), value=value))  # fmt: skip
        return b


def test_behavior_link_and_show_best_lag(driver, engine, slack):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    counts = [3, 1, 4, 2, 5, 9, 1, 6, 7, 8, 10, 11]  # weeks −14 … −3
    # The KPI two weeks later is 10 + 2·count: at lag 2, ρ = 1 over 12 weeks.
    b = seed_behavior(engine, dept, counts=counts, kpi_weeks=range(-12, 0),
                      kpi_values=[10 + 2 * n for n in counts])  # fmt: skip
    driver.command("/behavior", f"link B-{b.number} nsp", user=ALICE)
    assert "Did you mean `nps`" in driver.last_reply_text()
    slack.reset()
    driver.command("/behavior", f"link B-{b.number} nps", user=BOB)  # a member
    assert "Only a head of Support or a workspace admin" in driver.last_reply_text()
    slack.reset()
    driver.command("/behavior", f"link B-{b.number} nps Nowhere", user=ALICE)
    assert "no department named *Nowhere*" in driver.last_reply_text()
    assert count(engine, BehaviorKpiLink) == 0
    slack.reset()
    driver.command("/behavior", f"link B-{b.number} nps", user=ALICE)
    assert "now compared with `nps`" in driver.last_reply_text()
    slack.reset()
    driver.command("/behavior", f"show B-{b.number}", user=BOB)
    text = driver.last_reply_text()
    assert "Best lag 2 weeks: Spearman ρ = +1.00 over 12 weeks" in text, text
    assert "Correlation, not causation" in text
    assert slack.wait_for("files.completeUploadExternal")  # the chart


def test_behavior_show_claims_nothing_for_flat_or_short_kpi(driver, engine, slack):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    counts = [3, 1, 4, 2, 5, 9, 1, 6, 7, 8, 10, 11]
    flat = seed_behavior(engine, dept, counts=counts, kpi_weeks=range(-12, 0),
                         kpi_values=[40.0] * 12)  # fmt: skip
    driver.command("/behavior", f"link B-{flat.number} nps", user=ALICE)
    driver.replies(1)
    slack.reset()
    driver.command("/behavior", f"show B-{flat.number}", user=BOB)
    text = driver.last_reply_text()
    assert "No correlation claimed: the KPI's weekly values are all equal" in text
    assert "Best lag" not in text and "Correlation, not causation" in text
    # Only one week of KPI data (a custom KPI): at most one paired week.
    with session_scope(engine) as s:
        s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=dept.id,
                       day=date.today() - timedelta(weeks=5), value=30))  # fmt: skip
    slack.reset()
    driver.command("/behavior", f"link B-{flat.number} nps Support", user=ALICE)
    driver.replies(1)
    slack.reset()
    driver.command("/behavior", f"show B-{flat.number}", user=BOB)
    text = driver.last_reply_text()
    assert "only 1 week(s) of paired data; at least 8 are needed" in text, text


def test_setup_modal_sets_stale_days_and_refuses_bad_values(driver, engine, slack):
    driver.command("/okr", "setup", user=ADMIN)
    view = slack.wait_for("views.open")[0]["view"]
    block = next(b for b in view["blocks"] if b.get("block_id") == "stale_days")
    assert block["element"]["initial_value"] == "14"
    values = state(
        digest_weekday=("option", "4"), digest_time=("time", "16:00"),
        reminder_weekday=("option", "0"), reminder_time=("time", "10:00"),
        review_lead_days="7", timezone="UTC", recognition_emoji="star", stale_days="abc",
    )  # fmt: skip
    for bad, reason in [
        ("abc", "not a whole number"),
        ("0", "out of range"),
        ("91", "out of range"),
    ]:
        values.update(state(stale_days=bad))
        errors = json.loads(driver.view_submission("okr_setup", values, user=ADMIN).body)["errors"]
        assert reason in errors["stale_days"], bad
    with Session(engine) as s:
        assert s.get(Team, TEAM) is None or s.get(Team, TEAM).stale_days == 14
    values.update(state(stale_days="21"))
    resp = driver.view_submission("okr_setup", values, user=ADMIN)
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        assert s.get(Team, TEAM).stale_days == 21
