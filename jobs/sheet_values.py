"""Reading KPI worksheets as a person sees them. Pure functions: no I/O, no database.

The sync asks the Sheets API for FORMATTED_VALUE, so a percent-formatted cell arrives as
the text `12%` and a currency cell as `$1,234.50`; numbers are parsed from that text with
the spreadsheet's decimal separator. Raw JSON numbers (UNFORMATTED_VALUE) are accepted too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from storage.kpi_values import ValueIn
from storage.kpis import (
    EXCLUSIVE_INPUTS,
    KPI_DEFS,
    RAW_INPUTS,
    DerivationError,
    KpiDef,
    header_key,
)
from storage.numbers import NumberTextError, parse_digits, within_range

# Sheets' day zero: serial 1 is 1899-12-31 and serial 60 is Lotus' phantom 1900-02-29.
SHEET_EPOCH = date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 25569, 109575  # 1970-01-01 … 2199-12-31: plausible KPI dates

MISSING_WORDS = {"", "n/a", "na", "n.a.", "-", "--", "—", "–", "none", "null", "nan", "tbd", "?"}
CURRENCY = "$€£¥₹₩₽₺₪฿"
CURRENCY_CODES = {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR", "BRL", "MXN", "SEK"}
SPACES = "\u00a0\u202f\u2009 "

# Locales whose numbers use a decimal comma (language code, with a few country exceptions).
DECIMAL_COMMA_LANGS = {
    "af", "az", "be", "bg", "bs", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fo",
    "fr", "gl", "hr", "hu", "hy", "id", "is", "it", "ka", "kk", "ky", "lt", "lv", "mk", "mn",
    "nb", "nl", "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tr", "uk",
    "uz", "vi",
}  # fmt: skip
DECIMAL_POINT_LOCALES = {"de_CH", "fr_CH", "it_CH", "es_MX", "es_US", "es_PR", "pt_MZ"}
MONTH_FIRST_LOCALES = {"en_US", "en_PH", "en_BZ", "es_US", "en_FM", "en_MH", "en_PW"}

# The header names (as header_key spells them) that mark each column, preferred first.
COLUMN_HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "week", "month", "period"),
    "department": ("department", "dept", "team"),
    "kpi": ("kpi", "kpi_name", "metric"),
    "value": ("value", "kpi_value"),
    "comment": ("comment", "praise", "feedback"),
    "staff": ("staff", "employee", "staff_member"),
}
IGNORED_HEADERS = {"note", "notes", "comment", "comments", "source", "unit"}
COMPANY_WORDS = {"company", "company_wide", "all", "everyone", "total"}
HEADER_SCAN_ROWS = 10  # a title or merged banner may sit above the header row
KPI_NAME_MAX = 64  # width of the stored KPI name; a longer one would fail the whole sync


class ValueProblem(ValueError):
    """A cell that is not a usable number or date; `missing` marks blanks and N/A-like cells."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


class HeaderError(ValueError):
    """A worksheet whose header row cannot be used; the message names the sheet and cell."""


# ---------------------------------------------------------------- names and cells


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sheet_ref(sheet: str) -> str:
    return sheet if re.fullmatch(r"\w+", sheet) else "'" + sheet.replace("'", "''") + "'"


def cell_address(sheet: str, row_index: int, col_index: int) -> str:
    """Zero-based indexes → `KPIs!C14`."""
    return f"{sheet_ref(sheet)}!{column_letter(col_index)}{row_index + 1}"


# ---------------------------------------------------------------- locale


@dataclass(frozen=True)
class NumberFormat:
    decimal_comma: bool = False
    day_first: bool = True


def number_format(locale: str | None, override: str = "auto") -> NumberFormat:
    """Decimal separator and date order from the spreadsheet locale (`en_US`, `de_DE`…)."""
    loc = (locale or "en_US").replace("-", "_")
    lang = loc.split("_")[0].lower()
    comma = lang in DECIMAL_COMMA_LANGS and loc not in DECIMAL_POINT_LOCALES
    if override == "comma":
        comma = True
    elif override == "dot":
        comma = False
    return NumberFormat(decimal_comma=comma, day_first=loc not in MONTH_FIRST_LOCALES)


# ---------------------------------------------------------------- values


def parse_value(raw: object, *, decimal_comma: bool = False) -> float:
    """The number a person sees in the cell. Raises ValueProblem; never returns 0 for junk."""
    if raw is None:
        raise ValueProblem("blank", missing=True)
    if isinstance(raw, bool):
        raise ValueProblem(f"`{raw}` is a checkbox, not a number")
    if isinstance(raw, int | float):
        try:
            return within_range(float(raw))
        except NumberTextError:
            raise ValueProblem(f"`{raw}` is out of range") from None
    text = str(raw).strip().strip(SPACES)
    if text.lower() in MISSING_WORDS:
        raise ValueProblem("blank" if not text else f"`{text}` means no value", missing=True)
    if text.startswith("#"):
        raise ValueProblem(f"sheet error `{text}`", missing=True)
    body = text
    negative = False
    if body.startswith("(") and body.endswith(")"):  # accounting negatives: (1,234.00)
        negative, body = True, body[1:-1].strip()
    if body[:1] in "-−+":
        negative, body = body[:1] in "-−", body[1:].strip(SPACES)
    for code in CURRENCY_CODES:
        if body.upper().startswith(code + " ") or body.upper().endswith(" " + code):
            body = body[4:] if body.upper().startswith(code) else body[:-4]
            break
    body = body.strip(SPACES)
    if body[:1] in CURRENCY or body[:2] in ("US", "R$", "A$", "C$"):
        body = body.lstrip("USRAC").lstrip(CURRENCY).strip(SPACES)
    elif body[-1:] in CURRENCY:
        body = body[:-1].strip(SPACES)
    if body[:1] in "-−" and not negative:  # $-5
        negative, body = True, body[1:].strip(SPACES)
    if body.endswith("%"):
        body = body[:-1].rstrip(SPACES)
    try:
        value = parse_digits(body, decimal_comma=decimal_comma)
    except NumberTextError as exc:
        if exc.kind == "range":
            raise ValueProblem(f"`{text}` is out of range") from None
        if exc.kind == "other_separator":
            want = "dot" if decimal_comma else "comma"
            raise ValueProblem(
                f"`{text}` does not match the sheet's number format "
                f"({'decimal comma' if decimal_comma else 'decimal point'}); "
                f"set KPI_NUMBER_LOCALE={want} if the sheet uses the other one"
            ) from None
        raise ValueProblem(f"`{text}` is not a number") from None
    return -value if negative else value


# ---------------------------------------------------------------- dates

_ISO_DAY = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?$"
)
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})(?:-?([1-7]))?$", re.IGNORECASE)
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_NUMERIC_DAY = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?)?$",
    re.IGNORECASE,
)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_NAMED_FORMATS = (
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y",
    "%a, %b %d, %Y", "%A, %B %d, %Y", "%d-%b-%Y", "%d-%b-%y",
)  # fmt: skip
_NAMED_MONTH_FORMATS = ("%b %Y", "%B %Y", "%b-%Y", "%B-%Y", "%b-%y")


def _serial_day(n: float, text: str) -> date:
    if not SERIAL_MIN <= n <= SERIAL_MAX:
        raise ValueProblem(f"`{text}` is not a date")
    return SHEET_EPOCH + timedelta(days=int(n))


def _make(y: int, m: int, d: int, text: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueProblem(f"`{text}` is not a real date") from None


def parse_day(raw: object, *, day_first: bool = True) -> date:
    """ISO dates, `2026-W47` (that week's Monday), `2026-11` (the 1st), the sheet's date
    display format, and sheet serial numbers. Raises ValueProblem."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueProblem("blank date", missing=True)
    if isinstance(raw, bool):
        raise ValueProblem(f"`{raw}` is not a date")
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float):
        return _serial_day(float(raw), str(raw))
    text = str(raw).strip().strip(SPACES)
    if m := _ISO_DAY.match(text):
        return _make(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _ISO_WEEK.match(text):
        try:
            return date.fromisocalendar(int(m[1]), int(m[2]), int(m[3] or 1))
        except ValueError:
            raise ValueProblem(f"`{text}` is not a real ISO week") from None
    if m := _YEAR_MONTH.match(text):
        return _make(int(m[1]), int(m[2]), 1, text)
    if m := _NUMERIC_DAY.match(text):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        y = y + 2000 if y < 100 else y
        d, mo = (a, b) if day_first else (b, a)
        if not 1 <= mo <= 12 and 1 <= d <= 12 and 1 <= mo <= 31:
            d, mo = mo, d  # only one reading is a date (23/11 in a US sheet): take it
        return _make(y, mo, d, text)
    if _SERIAL.match(text):
        return _serial_day(float(text), text)
    for fmt in _NAMED_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    for fmt in _NAMED_MONTH_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().replace(day=1)
        except ValueError:
            pass
    raise ValueProblem(f"`{text}` is not a date (use 2026-11-23, 2026-W47 or 2026-11)")


# ---------------------------------------------------------------- parsed output


@dataclass
class Problem:
    cell: str  # `KPIs!C14`, or the sheet name for sheet-wide notes
    reason: str
    rejected: bool = True  # False for notes such as "stored as a custom KPI"

    def line(self) -> str:
        return f"{self.cell}: {self.reason}"


@dataclass
class PraiseRow:
    row_key: str
    praise_date: date | None
    customer: str
    comment: str
    staff: str
    cell: str


@dataclass
class SheetResult:
    rows_read: int = 0
    values: dict[tuple[str, int, date], ValueIn] = field(default_factory=dict)
    custom_kpis: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def merge(self, other: SheetResult) -> None:
        """Later worksheets win over earlier ones for the same (kpi, department, date)."""
        self.rows_read += other.rows_read
        self.problems.extend(other.problems)
        self.custom_kpis |= other.custom_kpis
        for key, val in other.values.items():
            prev = self.values.get(key)
            if prev is not None:
                self.problems.append(
                    Problem(prev.source_ref, f"duplicate of {val.source_ref}; the later one wins")
                )
            self.values[key] = val


# ---------------------------------------------------------------- worksheets


def _text(cell: object) -> str:
    return "" if cell is None else str(cell).strip()


def _shown(label: str, limit: int = 80) -> str:
    """A header as quoted in the report: long ones shortened, the cell address says where."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _cell(row: Sequence[object], c: int | None) -> object:
    """A cell's value; None past the end of a ragged row or for a column the sheet lacks."""
    return row[c] if c is not None and c < len(row) else None


def _is_blank_row(row: Sequence[object]) -> bool:
    return all(_text(c) == "" for c in row)


@dataclass
class _Header:
    row: int
    columns: dict[str, int]  # header key -> column index
    labels: dict[int, str]  # column index -> original label


def _find_header(
    sheet: str, rows: Sequence[Sequence[object]], wanted: set[str], example: str
) -> _Header:
    first_row = None
    scanned = 0
    for r, row in enumerate(rows):
        if _is_blank_row(row):
            continue
        first_row = r if first_row is None else first_row
        keys = [header_key(c) for c in row]
        if wanted & set(keys):
            columns: dict[str, int] = {}
            labels: dict[int, str] = {}
            for c, key in enumerate(keys):
                if not key:
                    continue  # blank or merged-away header cell: its column is ignored
                if key in columns:
                    raise HeaderError(
                        f"{cell_address(sheet, r, c)}: duplicate header `{_text(row[c])}` "
                        f"(same as {column_letter(columns[key])}{r + 1}); rename or delete one"
                    )
                columns[key] = c
                labels[c] = _text(row[c])
            return _Header(r, columns, labels)
        scanned += 1
        if scanned >= HEADER_SCAN_ROWS:
            break
    if first_row is None:
        raise HeaderError(
            f"{cell_address(sheet, 0, 0)}: the worksheet `{sheet}` is empty; {example}"
        )
    raise HeaderError(
        f"{cell_address(sheet, first_row, 0)}: no `{sorted(wanted)[0]}` column in the header row "
        f"of `{sheet}`; {example}"
    )


def _column(columns: dict[str, int], role: str) -> int | None:
    """The index of the column playing `role` (see COLUMN_HEADERS), or None."""
    return next((columns[k] for k in COLUMN_HEADERS[role] if k in columns), None)


def _department_scope(name: str, departments: dict[str, int]) -> int | None:
    """Blank → 0 (company-wide); a known department → its id; unknown → None."""
    if not name:
        return 0
    key = " ".join(name.split()).casefold()  # same key as storage.departments.name_key
    if key in departments:
        return departments[key]
    if header_key(name) in COMPANY_WORDS:
        return 0
    return None


LONG_EXAMPLE = (
    "expected `date | department | kpi | value` or `date | department | nps | churn_rate | …`"
)


def parse_kpi_sheet(
    sheet: str,
    rows: Sequence[Sequence[object]],
    *,
    departments: dict[str, int],
    fmt: NumberFormat,
    known_kpis: Iterable[str] = (),
) -> SheetResult:
    """One worksheet in the long, wide or raw-input layout → values keyed (kpi, scope, day).

    `departments` maps casefolded department names to ids. Raises HeaderError for an unusable
    header; everything else (bad cells, unknown departments, duplicates) becomes a Problem.
    """
    reader = _KpiSheetReader(sheet, rows, departments=departments, fmt=fmt, known=known_kpis)
    reader.read_rows()
    reader.derive_from_inputs()
    return reader.result


@dataclass
class _KpiColumns:
    """Where things are in a KPI worksheet. Long layout: one `kpi` and one `value` column;
    wide layout: one column per KPI or raw input (`wide`, column index → name)."""

    header: _Header
    date: int
    department: int | None
    kpi: int | None = None
    value: int | None = None
    wide: dict[int, str] = field(default_factory=dict)

    def used(self) -> set[int | None]:
        return {self.date, self.department, self.kpi, self.value, *self.wide}


class _KpiSheetReader:
    """Reading one KPI worksheet: what it stores, and the raw inputs waiting to be derived."""

    def __init__(
        self,
        sheet: str,
        rows: Sequence[Sequence[object]],
        *,
        departments: dict[str, int],
        fmt: NumberFormat,
        known: Iterable[str],
    ) -> None:
        self.sheet, self.rows, self.departments, self.fmt = sheet, rows, departments, fmt
        self.known = set(known) | set(KPI_DEFS)  # every known KPI name is accepted as a column
        self.result = SheetResult()
        # (scope, day) → raw input name → (value, cell)
        self.raw: dict[tuple[int, date], dict[str, tuple[float, str]]] = {}
        self.headerless_reported: set[int] = set()
        self.columns = self._columns()
        self.used_columns = self.columns.used()

    # ------------------------------------------------------------ header

    def _columns(self) -> _KpiColumns:
        header = _find_header(self.sheet, self.rows, set(COLUMN_HEADERS["date"]), LONG_EXAMPLE)
        cols = header.columns
        found = _KpiColumns(
            header,
            _column(cols, "date"),
            _column(cols, "department"),
            _column(cols, "kpi"),
            _column(cols, "value"),
        )
        if found.kpi is not None and found.value is None:
            raise HeaderError(
                f"{self._header_range(header)}: `{self.sheet}` has a `kpi` column but no "
                f"`value` column; {LONG_EXAMPLE}"
            )
        if found.kpi is None:
            found.wide = self._wide_columns(header, taken={found.date, found.department})
        return found

    def _header_range(self, header: _Header) -> str:
        last = max(header.columns.values())
        return f"{cell_address(self.sheet, header.row, 0)}:{column_letter(last)}{header.row + 1}"

    def _wide_columns(self, header: _Header, *, taken: set[int | None]) -> dict[int, str]:
        wide: dict[int, str] = {}
        for key, c in header.columns.items():
            if c in taken or key in IGNORED_HEADERS:
                continue
            if len(key) > KPI_NAME_MAX:
                # Refused here, column by column, so the other KPIs of the sheet still land.
                self._problem(
                    cell_address(self.sheet, header.row, c),
                    f"column `{_shown(header.labels[c])}` makes a KPI name longer than "
                    f"{KPI_NAME_MAX} characters; column not read (shorten the header)",
                )
                continue
            wide[c] = key
        if not wide:
            raise HeaderError(
                f"{self._header_range(header)}: `{self.sheet}` has no KPI columns; {LONG_EXAMPLE}"
            )
        for c, key in wide.items():
            self._note_if_custom(key, header.row, c, f"column `{header.labels[c]}`")
        return wide

    # ------------------------------------------------------------ rows

    def read_rows(self) -> None:
        for r in range(self.columns.header.row + 1, len(self.rows)):
            row = self.rows[r]
            if _is_blank_row(row):
                continue
            self.result.rows_read += 1
            self._report_headerless(r, row)
            where = self._day_and_scope(r, row)
            if where is None:
                continue
            entries = (
                self._long_entry(r, row)
                if self.columns.kpi is not None
                else [(name, c) for c, name in self.columns.wide.items()]
            )
            for name, c in entries:
                ref = cell_address(self.sheet, r, c)
                try:
                    value = parse_value(_cell(row, c), decimal_comma=self.fmt.decimal_comma)
                except ValueProblem as exc:
                    self._problem(ref, f"{exc.reason}; not stored")
                    continue
                if name in RAW_INPUTS:
                    self._put_raw(name, *where, value, ref)
                else:
                    self._put(name, *where, value, ref)

    def _report_headerless(self, r: int, row: Sequence[object]) -> None:
        used, labels = self.used_columns, self.columns.header.labels
        for c in range(len(row)):
            if c in used or c in self.headerless_reported or c in labels or not _text(row[c]):
                continue
            self.headerless_reported.add(c)
            self._problem(
                cell_address(self.sheet, r, c),
                f"column {column_letter(c)} has values but no header; ignored",
                rejected=False,
            )

    def _day_and_scope(self, r: int, row: Sequence[object]) -> tuple[int, date] | None:
        """The row's (department scope, day), or None (with a problem) when it is unusable."""
        date_col, dept_col = self.columns.date, self.columns.department
        try:
            day = parse_day(_cell(row, date_col), day_first=self.fmt.day_first)
        except ValueProblem as exc:
            self._problem(cell_address(self.sheet, r, date_col), f"{exc.reason}; row skipped")
            return None
        dept_name = _text(_cell(row, dept_col))
        scope = _department_scope(dept_name, self.departments)
        if scope is None:
            self._problem(
                cell_address(self.sheet, r, dept_col),
                f"department `{dept_name}` does not exist (create it with `/okr dept create` "
                "or fix the name); row skipped",
            )
            return None
        return scope, day

    def _long_entry(self, r: int, row: Sequence[object]) -> list[tuple[str, int | None]]:
        """The long layout's one (KPI, value column) of a row; none when the name is unusable."""
        kpi_col = self.columns.kpi
        kpi_label = _text(_cell(row, kpi_col))
        kpi = header_key(kpi_label)
        if not kpi:
            self._problem(cell_address(self.sheet, r, kpi_col), "no KPI name; row skipped")
            return []
        if len(kpi) > KPI_NAME_MAX:
            self._problem(
                cell_address(self.sheet, r, kpi_col),
                f"KPI name longer than {KPI_NAME_MAX} characters",
            )
            return []
        self._note_if_custom(kpi, r, kpi_col, f"`{kpi_label}`")
        return [(kpi, self.columns.value)]

    # ------------------------------------------------------------ results

    def _problem(self, cell: str, reason: str, *, rejected: bool = True) -> None:
        self.result.problems.append(Problem(cell, reason, rejected=rejected))

    def _note_if_custom(self, kpi: str, r: int, c: int | None, what: str) -> None:
        """The first time an unknown KPI name turns up, say where it will be stored."""
        if kpi in self.known or kpi in RAW_INPUTS or kpi in self.result.custom_kpis:
            return
        self.result.custom_kpis.add(kpi)
        self._problem(
            cell_address(self.sheet, r, c),
            f"{what} is not a known KPI; stored as custom KPI `{kpi}`",
            rejected=False,
        )

    def _put(self, kpi: str, scope: int, day: date, value: float, ref: str) -> None:
        key = (kpi, scope, day)
        prev = self.result.values.get(key)
        if prev is not None:
            self._problem(prev.source_ref, f"duplicate of {ref} ({kpi}, {day}); the later row wins")
        self.result.values[key] = ValueIn(kpi, scope, day, value, ref)

    def _put_raw(self, name: str, scope: int, day: date, value: float, ref: str) -> None:
        group = self.raw.setdefault((scope, day), {})
        if name in group:
            self._problem(group[name][1], f"duplicate of {ref} ({name}, {day}); the later row wins")
        group[name] = (value, ref)

    def derive_from_inputs(self) -> None:
        for (scope, day), group in self.raw.items():
            for kpi in KPI_DEFS.values():
                self._derive(kpi, scope, day, group)

    def _derive(
        self, kpi: KpiDef, scope: int, day: date, group: dict[str, tuple[float, str]]
    ) -> None:
        # customers_start feeds two KPIs: a KPI is attempted when one of its own inputs is there
        if not any(i in group for i in EXCLUSIVE_INPUTS[kpi.name]):
            return
        present = [i for i in kpi.inputs if i in group]
        refs = ",".join(group[i][1].split("!")[-1] for i in present)
        where = f"{sheet_ref(self.sheet)}!{refs}"
        if len(present) < len(kpi.inputs):
            missing = [i for i in kpi.inputs if i not in group]
            self._problem(
                where, f"cannot derive {kpi.name} for {day}: missing {', '.join(missing)}"
            )
            return
        given = self.result.values.get((kpi.name, scope, day))
        if given is not None:
            self._problem(
                where,
                f"{kpi.name} for {day} is given directly in {given.source_ref}; inputs ignored",
                rejected=False,
            )
            return
        try:
            value = kpi.formula({i: group[i][0] for i in kpi.inputs})
        except DerivationError as exc:
            self._problem(where, f"cannot derive {kpi.name} for {day}: {exc.reason}")
            return
        self.result.values[(kpi.name, scope, day)] = ValueIn(
            kpi.name, scope, day, value, where[:128]
        )


# ---------------------------------------------------------------- praise worksheet

PRAISE_EXAMPLE = "expected `date | customer | comment | staff`"


def praise_row_key(day: date | None, customer: str, comment: str, staff: str) -> str:
    """Content hash: the same row read every hour becomes a draft once."""
    norm = "\x1f".join(
        [
            day.isoformat() if day else "",
            customer.strip(),
            " ".join(comment.split()),
            staff.strip().lower(),
        ]
    )
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def parse_praise_sheet(
    sheet: str, rows: Sequence[Sequence[object]], *, fmt: NumberFormat
) -> tuple[list[PraiseRow], list[Problem]]:
    header = _find_header(sheet, rows, {"comment", "staff"}, PRAISE_EXAMPLE)
    cols = header.columns
    comment_col = _column(cols, "comment")
    staff_col = _column(cols, "staff")
    last = max(cols.values())
    header_range = f"{cell_address(sheet, header.row, 0)}:{column_letter(last)}{header.row + 1}"
    if comment_col is None or staff_col is None:
        raise HeaderError(
            f"{header_range}: `{sheet}` needs `comment` and `staff` columns; {PRAISE_EXAMPLE}"
        )
    date_col = cols.get("date")
    customer_col = cols.get("customer")
    out: list[PraiseRow] = []
    problems: list[Problem] = []
    for r in range(header.row + 1, len(rows)):
        row = rows[r]
        if _is_blank_row(row):
            continue

        def cell(c: int | None, row=row) -> str:
            return _text(row[c]) if c is not None and c < len(row) else ""

        comment, staff = cell(comment_col), cell(staff_col)
        if not comment or not staff:
            what = "comment" if not comment else "staff"
            col = comment_col if not comment else staff_col
            problems.append(Problem(cell_address(sheet, r, col), f"no {what}; praise row skipped"))
            continue
        day = None
        if date_col is not None and cell(date_col):
            try:
                day = parse_day(row[date_col], day_first=fmt.day_first)
            except ValueProblem as exc:
                problems.append(
                    Problem(
                        cell_address(sheet, r, date_col),
                        f"{exc.reason}; kept without a date",
                        rejected=False,
                    )
                )
        customer = cell(customer_col)[:200]
        out.append(
            PraiseRow(
                row_key=praise_row_key(day, customer, comment, staff),
                praise_date=day,
                customer=customer,
                comment=comment,
                staff=staff[:254],
                cell=cell_address(sheet, r, staff_col),
            )
        )
    return out, problems
