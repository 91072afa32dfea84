"""Spec §9 domain rules on hand-computed examples (SQLite and PostgreSQL where data is read)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from storage.away import away_until, end_away, parse_until, set_away
from storage.behavior_correlation import (
    KPI_CONSTANT,
    NOT_ENOUGH,
    best_lag,
    ranks,
    spearman,
    weekly_counts,
    weekly_kpi,
)
from storage.confidence import (
    OVERCONFIDENT,
    UNDERCONFIDENT,
    mismatch,
    net_confidence,
    net_confidence_change,
)
from storage.db import session_scope
from storage.errors import DomainError, FieldErrors, PermissionDenied
from storage.forecast import fit_forecast, forecasts
from storage.guardrails import ALERT, RECOVERY, evaluate, set_guardrail
from storage.kpis import KNOWN_KPIS
from storage.models import AuditLog, CheckIn, KeyResult, KpiGuardrail, KpiValue
from storage.objectives import KeyResultInput
from storage.progress import AT_RISK, OFF_TRACK, ON_TRACK, status
from storage.staleness import is_stale, parse_stale_days
from tests.support.factories import TEAM, department, objective

Q4 = "2026-Q4"  # Oct 1 .. Dec 31: the quarter end is day 91


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# ---------------------------------------------------------------- forecast


def test_least_squares_forecast_by_hand():
    # (0, 30), (10, 30), (20, 33): slope 30/200 = 0.15, intercept 31 − 1.5 = 29.5;
    # at day 91: 29.5 + 13.65 = 43.15 → progress (43.15 − 30) / 20 = 0.6575.
    pts = [(at(date(2026, 10, 1)), 30), (at(date(2026, 10, 11)), 30), (at(date(2026, 10, 21)), 33)]
    f = fit_forecast(pts, baseline=30, target=50, quarter=Q4)
    assert f.value == pytest.approx(43.15)
    assert f.progress == pytest.approx(0.6575)
    assert f.on == date(2026, 12, 31) and f.points == 3


def test_no_forecast_with_one_value_or_one_timestamp_or_outside_quarter():
    one = at(date(2026, 10, 5))
    assert fit_forecast([(one, 31)], baseline=30, target=50, quarter=Q4) is None
    assert (
        fit_forecast([(one, 31), (one, 35), (one, 40)], baseline=30, target=50, quarter=Q4) is None
    )
    earlier = at(date(2026, 9, 20))  # Q3: ignored
    assert fit_forecast([(earlier, 10), (one, 31)], baseline=30, target=50, quarter=Q4) is None


def test_status_follows_forecast_and_confidence_only_worsens():
    common = dict(baseline=30, target=50, current=31, quarter=Q4, now=date(2026, 11, 15))
    assert status(**common, confidence=None, forecast_progress=0.6575) == AT_RISK
    assert status(**common, confidence=9, forecast_progress=0.6575) == AT_RISK
    assert status(**common, confidence=2, forecast_progress=0.6575) == OFF_TRACK
    assert status(**common, confidence=None, forecast_progress=0.91) == ON_TRACK
    assert status(**common, confidence=5, forecast_progress=0.91) == AT_RISK
    assert status(**common, confidence=None, forecast_progress=0.39) == OFF_TRACK
    # Without a forecast the pace rule applies: 5% done at ~50% of the quarter is off track.
    assert status(**common, confidence=None) == OFF_TRACK


def test_bulk_forecasts_from_checkins_and_kpi_values(engine):
    d = department(engine)
    obj, krs = objective(
        engine,
        d,
        quarter=Q4,
        krs=[
            KeyResultInput(title="Plain", baseline=30, target=50),
            KeyResultInput(title="Bound", baseline=40, target=60, kpi_name="nps"),
            KeyResultInput(title="Same time", baseline=0, target=10),
        ],
    )
    plain, bound, same = krs
    with session_scope(engine) as s:
        for day, value in [
            (date(2026, 10, 1), 30),
            (date(2026, 10, 11), 30),
            (date(2026, 10, 21), 33),
        ]:
            s.add(
                CheckIn(
                    team_id=TEAM,
                    key_result_id=plain.id,
                    author_id="U0ALICE01",
                    value=value,
                    confidence=7,
                    created_at=at(day),
                )
            )
        for value in (3, 5):
            s.add(
                CheckIn(
                    team_id=TEAM,
                    key_result_id=same.id,
                    author_id="U0ALICE01",
                    value=value,
                    confidence=7,
                    created_at=at(date(2026, 10, 5)),
                )
            )
        # nps company-wide: day 0 → 40, day 91 → 49.1 would be a slope of 0.1/day.
        for day, value in [(date(2026, 10, 1), 40.0), (date(2026, 10, 31), 43.0)]:
            s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=0, day=day, value=value))
    with Session(engine) as s:
        rows = s.exec(select(KeyResult)).all()
        got = forecasts(s, team_id=TEAM, quarter=Q4, key_results=rows)
    assert got[plain.id].value == pytest.approx(43.15)
    assert got[bound.id].value == pytest.approx(49.1)
    assert got[bound.id].progress == pytest.approx(0.455)
    assert same.id not in got  # both check-ins at one timestamp: no forecast


# ---------------------------------------------------------------- confidence and stale


def test_mismatch_flags():
    assert mismatch(8, OFF_TRACK) == OVERCONFIDENT
    assert mismatch(7, OFF_TRACK) == OVERCONFIDENT
    assert mismatch(2, ON_TRACK) == UNDERCONFIDENT
    assert mismatch(3, ON_TRACK) == UNDERCONFIDENT
    assert mismatch(8, AT_RISK) is None
    assert mismatch(5, OFF_TRACK) is None
    assert mismatch(None, OFF_TRACK) is None


def test_net_confidence_score_and_change():
    # 2 of 5 at 7–10, 1 of 5 at 1–3 → 40% − 20% = 20; a week ago 0% − 40% = −40 → +60.
    assert net_confidence([8, 9, 2, 5, None]) == 20
    assert net_confidence([]) is None
    n = net_confidence_change([8, 9, 2, 5, None], [2, None, 2, 5, None])
    assert (n.score, n.previous, n.change) == (20, -40, 60)
    assert net_confidence_change([8], [None]).change is None


def test_stale_after_stale_days():
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)

    class Kr:
        created_at = now - timedelta(days=40)
        last_checkin_at = now - timedelta(days=14)

    assert is_stale(Kr, now, 14)
    assert not is_stale(Kr, now, 15)
    Kr.last_checkin_at = None
    assert is_stale(Kr, now, 30)
    assert parse_stale_days("") == 14 and parse_stale_days("21") == 21
    for bad in ("abc", "0", "91", "-3"):
        with pytest.raises(FieldErrors) as exc:
            parse_stale_days(bad)
        assert "stale_days" in exc.value.errors


# ---------------------------------------------------------------- away


def test_away_dates_refused_with_reasons():
    today = date(2026, 11, 29)
    assert parse_until("2026-12-24", today=today) == date(2026, 12, 24)
    assert parse_until("2026-11-29", today=today) == today
    cases = {
        "2026-11-28": "in the past",
        "2026-02-31": "not a real date",
        "2036-11-29": "more than a year ahead",
        "yesterday": "not a date",
    }
    for text, reason in cases.items():
        with pytest.raises(FieldErrors) as exc:
            parse_until(text, today=today)
        assert reason in exc.value.errors["until"], text


def test_away_set_list_and_end(engine):
    today = date(2026, 11, 29)
    with session_scope(engine) as s:
        set_away(s, team_id=TEAM, user_id="U0BOB0001", until=date(2026, 12, 5))
        set_away(s, team_id=TEAM, user_id="U0CAROL01", until=date(2026, 11, 28))  # over already
    with session_scope(engine) as s:
        assert away_until(s, team_id=TEAM, today=today) == {"U0BOB0001": date(2026, 12, 5)}
        assert end_away(s, team_id=TEAM, user_id="U0BOB0001", today=today) == date(2026, 12, 5)
    with session_scope(engine) as s:
        assert away_until(s, team_id=TEAM, today=today) == {}
        with pytest.raises(DomainError):
            end_away(s, team_id=TEAM, user_id="U0BOB0001", today=today)
        assert s.exec(select(AuditLog).where(AuditLog.action == "away.end")).one()


# ---------------------------------------------------------------- correlation


def test_spearman_by_hand_with_ties():
    assert ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4]
    # d = (−1, 1, −1, 1, 0): 1 − 6·4 / (5·24) = 0.8
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    # ranks x (1, 2.5, 2.5, 4), y (1, 2, 3, 4): 4.5 / √(4.5·5) = 0.948683
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833)
    assert spearman([1, 2, 3], [5, 5, 5]) is None


def test_best_lag_finds_the_shift_and_refuses_thin_or_flat_data():
    start = date(2026, 1, 5)  # a Monday
    weeks = [start + timedelta(weeks=i) for i in range(12)]
    counts = dict(zip(weeks, [3, 1, 4, 1.5, 5, 9, 2, 6, 5.5, 3.5, 7, 8], strict=True))
    kpi = {w + timedelta(weeks=2): 10 + 2 * n for w, n in counts.items()}
    best = best_lag(counts, kpi)
    assert (best.lag, best.weeks) == (2, 12) and best.rho == pytest.approx(1.0)
    seven = dict(list(counts.items())[:7])
    thin = best_lag(seven, {w: 1.0 * i for i, w in enumerate(weeks)})
    assert thin.reason == NOT_ENOUGH and thin.weeks == 7 and not thin.claimed
    flat = best_lag(counts, {w: 40.0 for w in weeks})
    assert flat.reason == KPI_CONSTANT and flat.lag is None


def test_weekly_buckets():
    mon = date(2026, 11, 16)
    logs = [(at(mon) + timedelta(days=2), 2), (at(mon) + timedelta(days=8), 1)]
    assert weekly_counts(logs, first_week=mon, last_week=mon + timedelta(weeks=2)) == {
        mon: 2, mon + timedelta(weeks=1): 1, mon + timedelta(weeks=2): 0,
    }  # fmt: skip
    assert weekly_kpi([(mon, 40), (mon + timedelta(days=3), 44)]) == {mon: 42}


# ---------------------------------------------------------------- guardrails


def _value(engine, day, value, scope=0):
    with session_scope(engine) as s:
        s.add(KpiValue(team_id=TEAM, kpi_name="nps", scope=scope, day=day, value=value))


def test_guardrail_transitions_once_per_change(engine):
    d = department(engine, "Support", heads=("U0ALICE01",), members=("U0BOB0001",))
    _value(engine, date(2026, 11, 2), 45)
    with session_scope(engine) as s:
        g = set_guardrail(
            s, team_id=TEAM, actor_id="U0ADMIN01", is_admin=True, kpi_name="nps", op="above",
            threshold=40, department=None, known_kpis=KNOWN_KPIS,
        )  # fmt: skip
        assert g.state == "healthy" and g.evaluated_value == 45
    steps = [(date(2026, 11, 9), 38, [ALERT]), (date(2026, 11, 9), 38, []),
             (date(2026, 11, 16), 39, []), (date(2026, 11, 23), 40, [RECOVERY]),
             (date(2026, 11, 30), 52, [])]  # fmt: skip
    for i, (day, value, want) in enumerate(steps):
        if i != 1:  # step 1 re-evaluates the same data
            _value(engine, day, value)
        with session_scope(engine) as s:
            got = evaluate(s, team_id=TEAM)
        assert [t.kind for t in got] == want, (day, value)
        if got:
            assert (got[0].value, got[0].threshold, got[0].day) == (value, 40, day)
    with Session(engine) as s:
        row = s.exec(select(KpiGuardrail)).one()
        assert (row.state, row.changes, row.evaluated_value) == ("healthy", 2, 52)
    # Roles: a member may not, a head only for their department, never company-wide.
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied) as exc:
            set_guardrail(
                s, team_id=TEAM, actor_id="U0BOB0001", is_admin=False, kpi_name="nps",
                op="below", threshold=5, department=d, known_kpis=KNOWN_KPIS,
            )  # fmt: skip
        assert "head of Support" in exc.value.message
        with pytest.raises(PermissionDenied):
            set_guardrail(
                s, team_id=TEAM, actor_id="U0ALICE01", is_admin=False, kpi_name="nps",
                op="below", threshold=5, department=None, known_kpis=KNOWN_KPIS,
            )  # fmt: skip
        with pytest.raises(FieldErrors) as exc:
            set_guardrail(
                s, team_id=TEAM, actor_id="U0ALICE01", is_admin=False, kpi_name="nsp",
                op="below", threshold=5, department=d, known_kpis=KNOWN_KPIS,
            )  # fmt: skip
        assert "Did you mean `nps`" in exc.value.errors["kpi"]


def test_behavior_compared_through_its_objectives_kpi_bound_key_result(engine):
    from storage.behavior_correlation import link_behavior, links
    from storage.behaviors import create_behavior

    d = department(engine)
    obj, _ = objective(
        engine, d, quarter=Q4,
        krs=[KeyResultInput(title="Plain", baseline=0, target=10),
             KeyResultInput(title="Bound", baseline=40, target=60, kpi_name="csat",
                            kpi_department_id=d.id)],
    )  # fmt: skip
    with session_scope(engine) as s:
        b = create_behavior(
            s, team_id=TEAM, actor_id="U0ADMIN01", is_admin=True, department=d,
            description="Call every detractor", objective_ref=f"O-{obj.number}",
        )  # fmt: skip
        found = links(s, team_id=TEAM, behaviors=[b])[b.id]
        assert (found.kpi_name, found.scope, found.explicit) == ("csat", d.id, False)
        link_behavior(s, team_id=TEAM, actor_id="U0ADMIN01", behavior=b, kpi_name="nps",
                      scope=0, known_names=KNOWN_KPIS)  # fmt: skip
        found = links(s, team_id=TEAM, behaviors=[b])[b.id]
        assert (found.kpi_name, found.scope, found.explicit) == ("nps", 0, True)
