"""Parsing numbers people type: never a silent zero."""

from __future__ import annotations

import math
import re

from storage.errors import DomainError

# 45 · -3 · 45.5 · 1,234.5 · 12% · 12 % · +7 · .5 ; thousands groups must be exactly 3 digits.
_NUMBER = re.compile(
    r"""^(?P<sign>[-+−]?)
        (?P<int>\d{1,3}(?:,\d{3})+|\d+)?
        (?:\.(?P<frac>\d+))?
        \s?(?P<pct>%)?$""",
    re.VERBOSE,
)

MAX_ABS = 1e15  # beyond this nothing a KR measures is meaningful; also keeps floats exact


def parse_number(text: str) -> float:
    """Parse a value typed in Slack. Raises DomainError naming what is wrong."""
    raw = (text or "").strip()
    if not raw:
        raise DomainError("A value is required, e.g. `45`, `45.5`, `1,234.5` or `12%`.")
    m = _NUMBER.match(raw)
    if not m or (m.group("int") is None and m.group("frac") is None):
        raise DomainError(
            f"`{raw}` is not a number. Use digits like `45`, `-3`, `45.5`, `1,234.5` or `12%`."
        )
    digits = (m.group("int") or "0").replace(",", "")
    if m.group("frac"):
        digits += "." + m.group("frac")
    value = float(digits)
    if m.group("sign") in ("-", "−"):
        value = -value
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        raise DomainError(f"`{raw}` is too large; values must be within ±{MAX_ABS:,.0f}.")
    return value


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
