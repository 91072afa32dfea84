"""The sheet value parser and layout detection (pure functions), with hypothesis properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.sheet_values import (
    HeaderError,
    NumberFormat,
    ValueProblem,
    cell_address,
    header_key,
    number_format,
    parse_day,
    parse_kpi_sheet,
    parse_praise_sheet,
    parse_value,
)

US = NumberFormat(decimal_comma=False, day_first=False)
DE = NumberFormat(decimal_comma=True, day_first=True)


@pytest.mark.parametrize(
    "text, comma, expected",
    [
        ("45", False, 45.0),
        ("12%", False, 12.0),
        ("12 %", False, 12.0),
        ("12,5 %", True, 12.5),
        ("$1,234.50", False, 1234.5),
        ("-$1,234.50", False, -1234.5),
        ("(1,234.00)", False, -1234.0),
        ("1.234,5", True, 1234.5),
        ("1 234,5 €", True, 1234.5),
        ("1\u202f234,5", True, 1234.5),
        ("1e3", False, 1000.0),
        ("1,5E+03", True, 1500.0),
        ("USD 99", False, 99.0),
        (0.12, False, 0.12),
        (7, True, 7.0),
    ],
)
def test_values_as_a_person_sees_them(text, comma, expected):
    assert parse_value(text, decimal_comma=comma) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", [None, "", "  ", "N/A", "n/a", "-", "—", "#DIV/0!", "#REF!", "#N/A", "TBD"]
)
def test_missing_values_are_missing_never_zero(text):
    with pytest.raises(ValueProblem) as exc:
        parse_value(text)
    assert exc.value.missing


@pytest.mark.parametrize(
    "text, comma, reason",
    [
        ("1.234,5", False, "set KPI_NUMBER_LOCALE=comma"),
        ("1,234.5", True, "set KPI_NUMBER_LOCALE=dot"),
        ("12,34,5", False, "is not a number"),
        ("abc", False, "is not a number"),
        ("1e999", False, "out of range"),
        ("1e15000", False, "is not a number"),
        ("9" * 20, False, "out of range"),
        (True, False, "checkbox"),
        (float("nan"), False, "out of range"),
    ],
)
def test_bad_values_are_rejected_with_reason(text, comma, reason):
    with pytest.raises(ValueProblem) as exc:
        parse_value(text, decimal_comma=comma)
    assert reason in exc.value.reason and not exc.value.missing


@pytest.mark.parametrize(
    "raw, day_first, expected",
    [
        ("2026-11-23", True, date(2026, 11, 23)),
        ("2026-11-23T10:00:00Z", True, date(2026, 11, 23)),
        ("2026-W47", True, date(2026, 11, 16)),
        ("2026w47", True, date(2026, 11, 16)),
        ("2026-W01", True, date(2025, 12, 29)),  # ISO week 1 starts in the previous year
        ("2026-11", True, date(2026, 11, 1)),
        ("11/23/2026", False, date(2026, 11, 23)),
        ("23/11/2026", True, date(2026, 11, 23)),
        ("23.11.2026", True, date(2026, 11, 23)),
        ("02/11/2026", True, date(2026, 11, 2)),
        ("02/11/2026", False, date(2026, 2, 11)),
        ("23/11/26", True, date(2026, 11, 23)),
        (46349, True, date(2026, 11, 23)),
        (46349.75, True, date(2026, 11, 23)),
        ("46349", True, date(2026, 11, 23)),
        ("Nov 23, 2026", False, date(2026, 11, 23)),
        ("23 November 2026", True, date(2026, 11, 23)),
        ("November 2026", True, date(2026, 11, 1)),
    ],
)
def test_dates(raw, day_first, expected):
    assert parse_day(raw, day_first=day_first) == expected


@pytest.mark.parametrize(
    "raw", ["31/02/2026", "2026-02-30", "2026-W54", "2026-13", "soon", "12", 5, ""]
)
def test_bad_dates_are_rejected(raw):
    with pytest.raises(ValueProblem):
        parse_day(raw)


def test_locale_and_override():
    assert number_format("de_DE") == NumberFormat(decimal_comma=True, day_first=True)
    assert number_format("en_US") == NumberFormat(decimal_comma=False, day_first=False)
    assert number_format("en_GB") == NumberFormat(decimal_comma=False, day_first=True)
    assert number_format("de_CH").decimal_comma is False
    assert number_format("fr_FR", "dot").decimal_comma is False
    assert number_format("en_US", "comma").decimal_comma is True
    assert number_format(None) == NumberFormat(decimal_comma=False, day_first=False)


def test_header_keys_and_cells():
    assert header_key("  Churn Rate (%) ") == "churn_rate"
    assert header_key("Repeat-Purchase  Rate") == "repeat_purchase_rate"
    assert header_key(None) == ""
    assert cell_address("KPIs", 13, 2) == "KPIs!C14"
    assert cell_address("My KPIs", 0, 27) == "'My KPIs'!AB1"


def test_long_layout_with_raw_inputs_in_kpi_column():
    rows = [
        ["date", "department", "kpi", "value"],
        ["2026-11-23", "Support", "promoters", "50"],
        ["2026-11-23", "Support", "passives", "30"],
        ["2026-11-23", "Support", "detractors", "20"],
        ["2026-11-23", "", "customers_start", "100"],  # start alone: churn not attempted
    ]
    res = parse_kpi_sheet("KPIs", rows, departments={"support": 7}, fmt=US)
    assert {k: v.value for k, v in res.values.items()} == {("nps", 7, date(2026, 11, 23)): 30.0}
    assert res.values[("nps", 7, date(2026, 11, 23))].source_ref == "KPIs!D2,D3,D4"
    assert not res.problems


def test_ragged_rows_blank_rows_and_department_case():
    rows = [
        ["Date", "Department", "NPS", "CSAT"],
        ["2026-11-23", "SUPPORT", "40"],  # the API dropped the trailing empty CSAT cell
        [],
        ["", "", "", ""],
        ["2026-11-24", "  Support ", "41", "90%"],
    ]
    res = parse_kpi_sheet("KPIs", rows, departments={"support": 7}, fmt=US)
    assert res.rows_read == 2
    assert {k: v.value for k, v in res.values.items()} == {
        ("nps", 7, date(2026, 11, 23)): 40.0,
        ("nps", 7, date(2026, 11, 24)): 41.0,
        ("csat", 7, date(2026, 11, 24)): 90.0,
    }
    assert [p.line() for p in res.problems] == ["KPIs!D2: blank; not stored"]


def test_praise_header_needs_comment_and_staff():
    with pytest.raises(HeaderError) as exc:
        parse_praise_sheet("Praise", [["date", "customer", "comment"], ["x"]], fmt=US)
    assert str(exc.value) == (
        "Praise!A1:C1: `Praise` needs `comment` and `staff` columns; "
        "expected `date | customer | comment | staff`"
    )
    rows, problems = parse_praise_sheet(
        "Praise", [["Date", "Staff", "Comment"], ["2026-11-31", "a@b.co", "Great"]], fmt=US
    )
    assert rows[0].praise_date is None and "not a real date" in problems[0].reason


# ---------------------------------------------------------------- properties


def _format(value: float, *, comma: bool, thousands: bool, decimals: int) -> str:
    text = f"{abs(value):,.{decimals}f}" if thousands else f"{abs(value):.{decimals}f}"
    if comma:
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return ("-" if value < 0 else "") + text


@given(
    st.decimals(
        min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False
    ),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["", "%", " %", "$", "€ "]),
)
def test_formatted_numbers_round_trip(number, comma, thousands, decoration):
    value = float(number)
    text = _format(value, comma=comma, thousands=thousands, decimals=2)
    if decoration in ("%", " %"):
        text += decoration
    elif decoration:
        text = ("-" if value < 0 else "") + decoration + text.lstrip("-")
    assert parse_value(text, decimal_comma=comma) == pytest.approx(value, abs=1e-9)


@given(st.text(max_size=30), st.booleans())
def test_parser_never_crashes_and_never_invents_zero(text, comma):
    try:
        value = parse_value(text, decimal_comma=comma)
    except ValueProblem:
        return
    # Whatever parsed must have had digits in it; a zero must have been written as a zero.
    assert any(ch.isdigit() for ch in text)
    if value == 0:
        assert "0" in text


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2199, 12, 31)))
def test_dates_round_trip_in_every_written_form(day):
    assert parse_day(day.isoformat()) == day
    assert parse_day((day - date(1899, 12, 30)).days) == day
    assert parse_day(day.strftime("%d/%m/%Y"), day_first=True) == day
    assert parse_day(day.strftime("%m/%d/%Y"), day_first=False) == day
    year, week, _ = day.isocalendar()
    assert parse_day(f"{year}-W{week:02d}") == day - timedelta(days=day.weekday())
    assert parse_day(day.strftime("%Y-%m")) == day.replace(day=1)


@given(
    st.integers(min_value=1, max_value=31),
    st.integers(min_value=1, max_value=12),
    st.integers(2000, 2100),
)
def test_impossible_dates_are_rejected_never_shifted(d, m, y):
    try:
        real = date(y, m, d)
    except ValueError:
        real = None
    text = f"{d:02d}/{m:02d}/{y}"
    if real is None:
        with pytest.raises(ValueProblem):
            parse_day(text, day_first=True)
    else:
        assert parse_day(text, day_first=True) == real


def test_default_backoff_is_exponential_and_bounded_to_about_a_minute():
    from jobs.sheets_client import RetryPolicy

    delays = RetryPolicy().delays()
    assert delays[:5] == [1, 2, 4, 8, 16] and max(delays) == 16
    assert 30 <= sum(delays) <= 60


cell_text = st.one_of(
    st.none(),
    st.sampled_from(["", "N/A", "-", "#REF!", "12%", "1,234.5", "2026-W47", "Support", "nps"]),
    st.text(max_size=8),
    st.integers(-(10**6), 10**6),
)


@given(st.lists(st.lists(cell_text, max_size=6), max_size=12))
def test_any_grid_under_a_good_header_parses_without_crashing(grid):
    rows = [["date", "department", "nps", "csat"], *grid]
    res = parse_kpi_sheet("KPIs", rows, departments={"support": 3}, fmt=US)
    for value in res.values.values():
        assert value.scope in (0, 3) and value.source_ref.startswith("KPIs!")
    # Every data row that is not blank was counted, and nothing was stored from thin air.
    assert res.rows_read == sum(
        1 for r in grid if any(str(c if c is not None else "").strip() for c in r)
    )
    assert len(res.values) <= 2 * res.rows_read
