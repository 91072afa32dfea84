"""Customer feedback from a worksheet (the KPI spreadsheet's `Feedback` tab, read in the same
batchGet as the KPI sheets) or a CSV file (`loyalty feedback import`).

Columns, found by header (case- and space-insensitive): `date | customer | score | comment |
department | staff` (department and staff optional). A row's source id is a hash of its cells,
so reading the same sheet again stores nothing twice. A row with a score that is not a whole
number 0–10, or without a customer or a date, is reported with its cell address and skipped;
the rest lands.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs.sheet_values import (
    HeaderError,
    NumberFormat,
    Problem,
    ValueProblem,
    _find_header,
    cell_address,
    parse_day,
)
from storage.db import session_scope
from storage.errors import DomainError
from storage.feedback import (
    FeedbackIn,
    StoreResult,
    content_id,
    parse_score,
    store_feedback,
)

FEEDBACK_EXAMPLE = "expected `date | customer | score | comment | department | staff`"
SYNC_ACTOR = "kpi-sync"
CSV_ACTOR = "csv-import"
DATE_KEYS = ("date", "received", "received_at", "day")
CUSTOMER_KEYS = ("customer", "customer_name", "client", "email")
SCORE_KEYS = ("score", "nps_score", "rating")
COMMENT_KEYS = ("comment", "comments", "feedback", "verbatim")
DEPARTMENT_KEYS = ("department", "dept", "team")
STAFF_KEYS = ("staff", "employee", "staff_member")


@dataclass
class FeedbackRows:
    items: list[FeedbackIn] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A sync allocates hundreds of thousands of small objects that all live until it ends; the
    cycle collector would scan them over and over (a fifth of a 50,000-row sync's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class _Columns:
    """Where each field sits in the worksheet (None: the column is absent)."""

    header_row: int
    date: int
    customer: int
    score: int
    comment: int | None
    department: int | None
    staff: int | None
    width: int = field(init=False)  # the cells a row is read up to

    def __post_init__(self) -> None:
        present = (self.date, self.customer, self.score, self.comment, self.department, self.staff)
        object.__setattr__(self, "width", max(c for c in present if c is not None) + 1)


def _columns(sheet: str, rows: Sequence[Sequence[object]]) -> _Columns:
    header = _find_header(sheet, rows, {"score", "customer"}, FEEDBACK_EXAMPLE)
    cols = header.columns

    def pick(keys):
        return next((cols[k] for k in keys if k in cols), None)

    date_col, customer_col, score_col = pick(DATE_KEYS), pick(CUSTOMER_KEYS), pick(SCORE_KEYS)
    required = (("date", date_col), ("customer", customer_col), ("score", score_col))
    missing = [name for name, c in required if c is None]
    if missing:
        raise HeaderError(
            f"{cell_address(sheet, header.row, 0)}: `{sheet}` needs "
            f"{', '.join(f'`{m}`' for m in missing)} column(s); {FEEDBACK_EXAMPLE}"
        )
    return _Columns(
        header.row,
        date_col,
        customer_col,
        score_col,
        pick(COMMENT_KEYS),
        pick(DEPARTMENT_KEYS),
        pick(STAFF_KEYS),
    )


class _RowReader:
    """Reads one row at a time. A sync brings 50,000 rows whose dates and scores repeat, so each
    distinct date or score text is parsed once, and a day's timestamp is one shared object."""

    def __init__(self, sheet: str, cols: _Columns, fmt: NumberFormat, source: str) -> None:
        self.sheet, self.cols, self.fmt, self.source = sheet, cols, fmt, source
        self.days: dict[str, tuple[datetime, str] | ValueProblem] = {}
        self.scores: dict[str, tuple[int, str] | None] = {}

    def day(self, text: str, raw: object) -> tuple[datetime, str] | ValueProblem:
        parsed = self.days.get(text)
        if parsed is None:
            try:
                when = parse_day(raw, day_first=self.fmt.day_first)
                parsed = (datetime.combine(when, time(0, 0), tzinfo=UTC), when.isoformat())
            except ValueProblem as exc:
                parsed = exc
            self.days[text] = parsed
        return parsed

    def score(self, text: str, raw: object) -> tuple[int, str] | None:
        if text not in self.scores:
            try:
                n = parse_score(raw)
                self.scores[text] = (n, str(n))
            except DomainError:
                self.scores[text] = None
        return self.scores[text]

    def read(self, r: int, raw: Sequence[object]) -> FeedbackIn | Problem | None:
        """The row's feedback, the problem that refuses it, or None for a blank row."""
        c = self.cols
        row = ["" if v is None else str(v).strip() for v in raw[: c.width]]
        if not any(row):
            return None
        row += [""] * (c.width - len(row))

        def refuse(col: int, reason: str) -> Problem:
            return Problem(cell_address(self.sheet, r, col), f"{reason}; row not stored")

        customer, day_text, score_text = row[c.customer], row[c.date], row[c.score]
        if not customer:
            return refuse(c.customer, "no customer")
        if not day_text:
            return refuse(c.date, "no date")
        day = self.day(day_text, raw[c.date])
        if isinstance(day, ValueProblem):
            return refuse(c.date, day.reason)
        score = self.score(score_text, raw[c.score] if c.score < len(raw) else "")
        if score is None:
            reason = (
                f"score `{score_text}` is not a whole number 0–10" if score_text else "no score"
            )
            return refuse(c.score, reason)
        if len(customer) > 200:
            return refuse(c.customer, "customer is longer than 200 characters")
        comment = row[c.comment] if c.comment is not None else ""
        department = row[c.department] if c.department is not None else ""
        staff = row[c.staff] if c.staff is not None else ""
        (received_at, day_iso), (n, n_text) = day, score
        return FeedbackIn(
            source=self.source,
            source_id=content_id(day_iso, customer, n_text, comment, department, staff),
            received_at=received_at,
            customer=customer,
            score=n,
            comment=comment[:10_000],
            department=department[:80] or None,
            staff=staff[:254] or None,
        )


def parse_feedback_rows(
    sheet: str, rows: Sequence[Sequence[object]], *, fmt: NumberFormat, source: str = "sheet"
) -> FeedbackRows:
    """Rows of a worksheet or CSV → feedback items and the rows refused (cell addresses).
    Raises HeaderError when the header row lacks `score` or `customer`."""
    cols = _columns(sheet, rows)
    reader = _RowReader(sheet, cols, fmt, source)
    out = FeedbackRows()
    with _collector_paused():
        for r in range(cols.header_row + 1, len(rows)):
            got = reader.read(r, rows[r])
            if got is None:
                continue
            out.rows_read += 1
            if isinstance(got, Problem):
                out.problems.append(got)
            else:
                out.items.append(got)
    return out


def store_rows(
    session: Session,
    *,
    team_id: str,
    parsed: FeedbackRows,
    sheet: str,
    actor_id: str = SYNC_ACTOR,
    retention_days: int | None = None,
    now: datetime | None = None,
) -> StoreResult:
    """Store parsed rows in the caller's transaction (the KPI sync's, so all of a sync lands or
    none of it); a department the sheet names that does not exist is noted (routed instead)."""
    not_before = None
    if retention_days is not None:
        not_before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with _collector_paused():
        result = store_feedback(
            session, team_id=team_id, actor_id=actor_id, items=parsed.items, not_before=not_before
        )
    for i in result.unknown_departments:
        item = parsed.items[i]
        parsed.problems.append(
            Problem(
                sheet,
                f"department `{item.department}` does not exist; routed by keywords instead",
                rejected=False,
            )
        )
    if result.skipped_old:
        parsed.problems.append(
            Problem(
                sheet,
                f"{result.skipped_old} row(s) older than the feedback retention period "
                "were not stored",
                rejected=False,
            )
        )
    return result


def announce(
    engine: Engine,
    client: WebClient | None,
    *,
    team_id: str,
    followup_ids: list[int],
    configured_admins=(),
) -> int:
    """The heads' DMs for new follow-ups, after the rows landed (never undoing them)."""
    if client is None or not followup_ids:
        return 0
    from slackapp.feedback_notify import announce_followups

    return announce_followups(
        engine,
        client,
        team_id=team_id,
        followup_ids=followup_ids,
        configured_admins=configured_admins,
    )


# ---- CSV import ---------------------------------------------------------------------------------


@dataclass
class ImportReport:
    file: str
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    followups: int = 0
    recovered: int = 0
    announced: int = 0
    problems: list[Problem] = field(default_factory=list)

    def text(self) -> str:
        lines = [
            f"Feedback import of {self.file}: {self.rows_read} rows read · {self.stored} stored · "
            f"{self.duplicates} already there · {self.followups} follow-ups opened · "
            f"{self.recovered} recovered · {len([p for p in self.problems if p.rejected])} rejected"
        ]
        lines += [f"  {p.line()}" for p in self.problems]
        return "\n".join(lines)


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")  # spreadsheets' CSV exports often start with a BOM
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def import_csv(
    engine: Engine,
    *,
    team_id: str,
    path: Path,
    client: WebClient | None = None,
    configured_admins=(),
    retention_days: int | None = None,
) -> ImportReport:
    """`loyalty feedback import FILE.csv`: same columns as the sheet, one transaction."""
    report = ImportReport(file=path.name)
    rows = read_csv(path)
    parsed = parse_feedback_rows(path.name, rows, fmt=NumberFormat(), source="csv")
    report.rows_read = parsed.rows_read
    with session_scope(engine) as session:
        result = store_rows(
            session,
            team_id=team_id,
            parsed=parsed,
            sheet=path.name,
            actor_id=CSV_ACTOR,
            retention_days=retention_days,
        )
    report.problems = parsed.problems
    report.stored, report.duplicates = len(result.created), result.duplicates
    report.followups, report.recovered = len(result.followups), len(result.recovered)
    report.announced = announce(
        engine,
        client,
        team_id=team_id,
        followup_ids=result.followups,
        configured_admins=configured_admins,
    )
    return report


# ---- the KPI sync's part ----------------------------------------------------------------------


def parse_sheet_feedback(data, *, number_locale: str = "auto") -> FeedbackRows | None:
    """The feedback worksheet of a fetched spreadsheet (jobs.sheets_client.SheetData), or None
    when it has none. A bad header is a reported problem: the KPIs still land."""
    from jobs.sheet_values import number_format

    if data.feedback is None or not data.feedback_title:
        return None
    fmt = number_format(data.locale, number_locale)
    try:
        return parse_feedback_rows(data.feedback_title, data.feedback, fmt=fmt)
    except HeaderError as exc:
        return FeedbackRows(
            problems=[Problem(data.feedback_title, f"{exc}; feedback rows not read")]
        )
