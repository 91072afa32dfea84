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
import io
from collections.abc import Sequence
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
from storage.feedback import FeedbackIn, StoreResult, content_id, parse_score, store_feedback

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


def parse_feedback_rows(
    sheet: str, rows: Sequence[Sequence[object]], *, fmt: NumberFormat, source: str = "sheet"
) -> FeedbackRows:
    """Rows of a worksheet or CSV → feedback items and the rows refused (cell addresses).
    Raises HeaderError when the header row lacks `score` or `customer`."""
    header = _find_header(sheet, rows, {"score", "customer"}, FEEDBACK_EXAMPLE)
    cols = header.columns

    def pick(keys):
        return next((cols[k] for k in keys if k in cols), None)

    date_col, customer_col, score_col = pick(DATE_KEYS), pick(CUSTOMER_KEYS), pick(SCORE_KEYS)
    comment_col, dept_col, staff_col = pick(COMMENT_KEYS), pick(DEPARTMENT_KEYS), pick(STAFF_KEYS)
    missing = [name for name, c in (("date", date_col), ("customer", customer_col),
                                    ("score", score_col)) if c is None]  # fmt: skip
    if missing:
        raise HeaderError(
            f"{cell_address(sheet, header.row, 0)}: `{sheet}` needs "
            f"{', '.join(f'`{m}`' for m in missing)} column(s); {FEEDBACK_EXAMPLE}"
        )
    out = FeedbackRows()
    # 50,000 rows per sync: dates and scores repeat, so each distinct text is parsed once.
    days: dict[str, object] = {}
    scores: dict[str, int | None] = {}
    width = max(c for c in (date_col, customer_col, score_col, comment_col, dept_col, staff_col)
                if c is not None) + 1  # fmt: skip
    for r in range(header.row + 1, len(rows)):
        raw = rows[r]
        row = ["" if c is None else str(c).strip() for c in raw[:width]]
        if not any(row):
            continue
        row += [""] * (width - len(row))
        out.rows_read += 1

        def refuse(c: int, reason: str, r=r) -> None:
            out.problems.append(Problem(cell_address(sheet, r, c), f"{reason}; row not stored"))

        customer = row[customer_col]
        if not customer:
            refuse(customer_col, "no customer")
            continue
        day_text = row[date_col]
        if not day_text:
            refuse(date_col, "no date")
            continue
        parsed_day = days.get(day_text)
        if parsed_day is None:
            try:
                when = parse_day(raw[date_col], day_first=fmt.day_first)
                parsed_day = (when, when.isoformat())
            except ValueProblem as exc:
                parsed_day = exc
            days[day_text] = parsed_day
        if isinstance(parsed_day, ValueProblem):
            refuse(date_col, parsed_day.reason)
            continue
        day, day_iso = parsed_day
        score_text = row[score_col]
        if score_text not in scores:
            try:
                scores[score_text] = parse_score(raw[score_col] if score_col < len(raw) else "")
            except DomainError:
                scores[score_text] = None
        score = scores[score_text]
        if score is None:
            refuse(score_col, f"score `{score_text}` is not a whole number 0–10" if score_text
                   else "no score")  # fmt: skip
            continue
        comment = row[comment_col] if comment_col is not None else ""
        department = row[dept_col] if dept_col is not None else ""
        staff = row[staff_col] if staff_col is not None else ""
        if len(customer) > 200:
            refuse(customer_col, "customer is longer than 200 characters")
            continue
        out.items.append(
            FeedbackIn(
                source=source,
                source_id=content_id(day_iso, customer, score, comment, department, staff),
                received_at=datetime.combine(day, time(0, 0), tzinfo=UTC),
                customer=customer,
                score=score,
                comment=comment[:10_000],
                department=department[:80] or None,
                staff=staff[:254] or None,
            )
        )
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
    result = store_feedback(session, team_id=team_id, actor_id=actor_id, items=parsed.items,
                            not_before=not_before)  # fmt: skip
    for i in result.unknown_departments:
        item = parsed.items[i]
        parsed.problems.append(
            Problem(
                sheet,
                f"department `{item.department}` does not exist; routed by keywords instead",
                rejected=False,
            )  # fmt: skip
        )
    if result.skipped_old:
        parsed.problems.append(
            Problem(
                sheet,
                f"{result.skipped_old} row(s) older than the feedback retention period "
                "were not stored",
                rejected=False,
            )  # fmt: skip
        )
    return result


def announce(engine: Engine, client: WebClient | None, *, team_id: str, followup_ids: list[int],
             configured_admins=()) -> int:  # fmt: skip
    """The heads' DMs for new follow-ups, after the rows landed (never undoing them)."""
    if client is None or not followup_ids:
        return 0
    from slackapp.feedback_notify import announce_followups

    return announce_followups(engine, client, team_id=team_id, followup_ids=followup_ids,
                              configured_admins=configured_admins)  # fmt: skip


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
        result = store_rows(session, team_id=team_id, parsed=parsed, sheet=path.name,
                            actor_id=CSV_ACTOR, retention_days=retention_days)  # fmt: skip
    report.problems = parsed.problems
    report.stored, report.duplicates = len(result.created), result.duplicates
    report.followups, report.recovered = len(result.followups), len(result.recovered)
    report.announced = announce(engine, client, team_id=team_id, followup_ids=result.followups,
                                configured_admins=configured_admins)  # fmt: skip
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
