"""Parsing numbers people type: never a silent zero."""

from __future__ import annotations

import math
import re

from storage.errors import DomainError

# One bound for values typed in Slack and values read from the KPI sheet: beyond it nothing a
# key result or KPI measures is meaningful, and floats stay exact.
MAX_ABS = 1e15

_GROUP_SEPARATORS = "\u00a0\u202f\u2009 '"  # besides the one opposite the decimal separator


class NumberTextError(ValueError):
    """Why a text is not a usable number. `kind` is "syntax", "other_separator" (it would
    be a number with the other decimal separator, e.g. `1.234,5` in a decimal-point sheet) or
    "range" (not finite, or beyond MAX_ABS)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _digits_pattern(decimal_comma: bool) -> re.Pattern[str]:
    dec, group = (",", ".") if decimal_comma else (r"\.", ",")
    groups = f"[{re.escape(group + _GROUP_SEPARATORS)}]"
    return re.compile(
        rf"""^(?:\d{{1,3}}(?:{groups}\d{{3}})+|\d+)(?:{dec}\d+)?$   # 1,234.5 · 1234 · 1234.5
            |^{dec}\d+$                                              # .5
            |^\d+(?:{dec}\d+)?[eE][+-]?\d{{1,3}}$                    # 1e3 · 1.5E+03""",
        re.VERBOSE,
    )


_DIGITS = {False: _digits_pattern(False), True: _digits_pattern(True)}
_GROUPS = {
    comma: re.compile(f"[{re.escape(('.' if comma else ',') + _GROUP_SEPARATORS)}]")
    for comma in (False, True)
}
_OTHER_SEPARATOR = {
    False: re.compile(r"^\d{1,3}(?:\.\d{3})+,\d+$|^\d+,\d{1,2}$"),
    True: re.compile(r"^\d{1,3}(?:,\d{3})+\.\d+$|^\d+\.\d{1,2}$"),
}


def within_range(value: float) -> float:
    """`value` itself; NumberTextError("range") when it is not finite or beyond MAX_ABS."""
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        raise NumberTextError("range")
    return value


def parse_digits(body: str, *, decimal_comma: bool = False, exponent: bool = True) -> float:
    """An unsigned number as written: thousands groups of exactly three digits (`1,234.5`,
    `1.234,5`, `1 234`), `.5`, and `1.5E+03` when `exponent`. Raises NumberTextError."""
    if not _DIGITS[decimal_comma].match(body) or (not exponent and "e" in body.lower()):
        kind = "other_separator" if _OTHER_SEPARATOR[decimal_comma].match(body) else "syntax"
        raise NumberTextError(kind)
    plain = _GROUPS[decimal_comma].sub("", body).replace(",", ".")
    return within_range(float(plain))


def parse_number(text: str) -> float:
    """Parse a value typed in Slack: `45`, `-3`, `+7`, `45.5`, `.5`, `1,234.5`, `12%`, `12 %`.
    Raises DomainError naming what is wrong."""
    raw = (text or "").strip()
    if not raw:
        raise DomainError("A value is required, e.g. `45`, `45.5`, `1,234.5` or `12%`.")
    body, negative = raw, raw[:1] in "-−"
    if body[:1] in "+-−":
        body = body[1:]
    if body.endswith("%"):
        body = body[:-1].removesuffix(" ")
    try:
        value = parse_digits(body, exponent=False)  # `1e3` is a spreadsheet's notation
    except NumberTextError as exc:
        if exc.kind == "range":
            raise DomainError(
                f"`{raw}` is too large; values must be within ±{MAX_ABS:,.0f}."
            ) from None
        raise DomainError(
            f"`{raw}` is not a number. Use digits like `45`, `-3`, `45.5`, `1,234.5` or `12%`."
        ) from None
    return -value if negative else value


def format_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
    if not unit:
        return shown
    if unit in ("%",):
        return f"{shown}%"
    if unit in ("$", "€", "£"):
        return f"{unit}{shown}" if value >= 0 else f"-{unit}{shown.lstrip('-')}"
    return f"{shown} {unit}"
