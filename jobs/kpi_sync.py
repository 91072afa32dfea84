"""One KPI sync: read the sheet (one batchGet), parse, store in ONE transaction, report.

`run_kpi_sync` is what the scheduler (hourly, KPI_SYNC_CRON) and `loyalty kpi sync` call.
All of a sync lands or none of it; running it twice on the same sheet changes nothing; a
failure keeps every value stored before. The admins get one DM per distinct problem: the
problem's hash is kept on the run record and a later run with the same problem stays quiet.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from jobs import feedback_sync
from jobs.guardrail_alerts import post_guardrail_changes
from jobs.kpi_sync_notify import dm_admins
from jobs.sheet_values import (
    HeaderError,
    PraiseRow,
    Problem,
    SheetResult,
    number_format,
    parse_kpi_sheet,
    parse_praise_sheet,
)
from jobs.sheets_client import RetryPolicy, SheetData, SheetsError, fetch_sheet
from jobs.staff_matching import StaffMatcher, match_praise
from slackapp.settings import Settings
from storage import audit
from storage.db import session_scope
from storage.guardrails import evaluate as evaluate_guardrails
from storage.kpi_values import (
    SYNC_ACTOR,
    department_keys,
    ensure_kpis,
    last_run,
    record_run,
    refresh_bound_key_results,
    upsert_values,
)
from storage.kpis import kpi_names
from storage.models import KpiSyncRun, utcnow
from storage.praise import known_row_keys, store_drafts
from storage.teams import admin_ids, team_kpi_spreadsheet

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    team_id: str
    ok: bool = False
    error: str | None = None
    spreadsheet: str = ""
    worksheets: list[str] = field(default_factory=list)
    rows_read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    custom_kpis: list[str] = field(default_factory=list)
    key_results_updated: int = 0
    praise_new: int = 0
    guardrail_changes: int = 0  # guardrails that turned unhealthy or healthy again
    praise_unmatched: list[str] = field(default_factory=list)
    # Customer feedback tab (jobs/feedback_sync.py): rows stored, follow-ups opened.
    feedback_new: int = 0
    feedback_followups: list[int] = field(default_factory=list)
    requests: int = 0
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    run_id: int | None = None
    admins_notified: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> list[Problem]:
        return [p for p in self.problems if p.rejected]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if not p.rejected]

    def problem_key(self) -> str | None:
        """Identity of what went wrong, so the same problem is DMed once, not every hour."""
        if self.error:
            basis = "error\n" + self.error
        elif self.rejected or self.praise_unmatched:
            lines = sorted(p.line() for p in self.rejected) + sorted(self.praise_unmatched)
            basis = "rejected\n" + "\n".join(lines)
        else:
            return None
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:64]

    def summary(self) -> str:
        if not self.ok:
            return (
                f"KPI sync failed: {self.error} Nothing was changed; values stored before are kept."
            )
        return (
            f"KPI sync landed: {self.rows_read} rows read · {self.stored} values stored · "
            f"{self.updated} updated · {self.unchanged} unchanged · "
            f"{len(self.rejected)} rejected cells"
        )

    def text(self, max_problems: int | None = None) -> str:
        source = f"“{self.spreadsheet}”" if self.spreadsheet else "the KPI sheet"
        if self.worksheets:
            source += f" ({', '.join(self.worksheets)})"
        lines = [f"KPI sync of {source}", self.summary()]
        if self.ok:
            extra = [f"key results updated from KPIs: {self.key_results_updated}"]
            if self.praise_new or self.praise_unmatched:
                extra.append(f"praise drafts: {self.praise_new} new")
            if self.feedback_new or self.feedback_followups:
                extra.append(
                    f"customer feedback: {self.feedback_new} new, "
                    f"{len(self.feedback_followups)} follow-ups opened"
                )
            if self.custom_kpis:
                extra.append("new custom KPIs: " + ", ".join(self.custom_kpis))
            lines.append(" · ".join(extra))

        def block(title: str, items: list[str]) -> None:
            if not items:
                return
            lines.append(f"{title} ({len(items)}):")
            shown = items if max_problems is None else items[:max_problems]
            lines.extend(f"  {item}" for item in shown)
            if len(shown) < len(items):
                lines.append(
                    f"  … and {len(items) - len(shown)} more (run `loyalty kpi sync` for all)"
                )

        block("Rejected", [p.line() for p in self.rejected])
        block("Unmatched staff (no Slack user found)", self.praise_unmatched)
        block("Notes", [p.line() for p in self.notes])
        return "\n".join(lines)


# ---------------------------------------------------------------- the sync


def _fetch(settings: Settings, spreadsheet: str | None, retry: RetryPolicy | None) -> SheetData:
    return fetch_sheet(
        service_account_file=settings.google_service_account_file,
        spreadsheet=spreadsheet,
        worksheets=settings.worksheet_names,
        praise_worksheet=settings.kpi_praise_worksheet,
        api_url=settings.google_sheets_api_url,
        retry=retry,
        feedback_worksheet=settings.kpi_feedback_worksheet,
    )


def _parse(data: SheetData, *, settings: Settings, departments: dict[str, int], known: set[str]):
    fmt = number_format(data.locale, settings.kpi_number_locale)
    result = SheetResult()
    for title, rows in data.worksheets.items():
        result.merge(
            parse_kpi_sheet(title, rows, departments=departments, fmt=fmt, known_kpis=known)
        )
    praise: list[PraiseRow] = []
    if data.praise is not None and data.praise_title:
        try:
            praise, problems = parse_praise_sheet(data.praise_title, data.praise, fmt=fmt)
            result.problems.extend(problems)
        except HeaderError as exc:  # the praise sheet is optional: KPIs still land
            result.problems.append(Problem(data.praise_title, f"{exc}; praise rows not read"))
    return result, praise


def _carried_problem_key(
    report: SyncReport, previous: KpiSyncRun | None, notify: bool
) -> tuple[str | None, bool]:
    """(problem_key to store, whether to DM now)."""
    key = report.problem_key()
    if key is None:
        return None, False
    already = previous is not None and previous.problem_key == key
    if notify:
        return key, not already
    # A manual run prints its report; it does not count as having told the admins.
    return (key if already else None), False


NO_TEAM_SHEET = (
    "This workspace has no KPI spreadsheet connected; a workspace admin connects one in "
    "/okr setup (KPI spreadsheet)."
)


def team_spreadsheet(engine: Engine, settings: Settings, team_id: str) -> str | None:
    """The spreadsheet this team's KPIs come from (its own one with several workspaces)."""
    with session_scope(engine) as session:
        return team_kpi_spreadsheet(
            session,
            team_id=team_id,
            multi_workspace=settings.oauth_enabled,
            configured=settings.kpi_spreadsheet,
        )


def _admin_ids(engine: Engine, settings: Settings, team_id: str) -> list[str]:
    with session_scope(engine) as session:
        return sorted(admin_ids(session, team_id=team_id, configured=settings.admin_ids))


def _finish_failed(engine: Engine, report: SyncReport, notify: bool) -> bool:
    """Record a failed run in its own transaction; returns whether to DM the admins."""
    report.ok = False
    report.finished_at = utcnow()
    try:
        with session_scope(engine) as s:
            previous = last_run(s, team_id=report.team_id)
            key, dm = _carried_problem_key(report, previous, notify)
            run = record_run(
                s,
                team_id=report.team_id,
                run=KpiSyncRun(
                    started_at=report.started_at,
                    finished_at=report.finished_at,
                    ok=False,
                    rows_read=report.rows_read,
                    rejected=len(report.rejected),
                    error=report.error,
                    report=report.text(),
                    problem_key=key,
                ),
            )
            report.run_id = run.id
            return dm
    except SQLAlchemyError as exc:  # the database itself is down: still tell someone
        log.error("Could not record the failed KPI sync: %s", exc)
        return notify


def run_kpi_sync(
    *,
    settings: Settings,
    engine: Engine,
    client: WebClient | None,
    team_id: str | None = None,
    notify_admins: bool = True,
    retry: RetryPolicy | None = None,
    fetch: Callable[[], SheetData] | None = None,
) -> SyncReport:
    """One sync for one team. Never raises for sheet or database trouble: the report says."""
    if team_id is None:
        team_id = client.auth_test()["team_id"]
    report = SyncReport(team_id=team_id)
    began = time.monotonic()
    spreadsheet = None if fetch else team_spreadsheet(engine, settings, team_id)
    if not fetch and spreadsheet is None and settings.oauth_enabled:
        report.error = NO_TEAM_SHEET  # nothing attempted, so no run is recorded
        return report
    try:
        data = fetch() if fetch else _fetch(settings, spreadsheet, retry)
    except SheetsError as exc:
        report.error = str(exc)
        return _fail_and_tell(engine, settings, client, report, notify_admins)
    _describe_source(report, data)
    try:
        result, new_praise_rows = _read_rows(engine, settings, data, team_id)
    except HeaderError as exc:
        report.error = str(exc)
        return _fail_and_tell(engine, settings, client, report, notify_admins)
    except SQLAlchemyError as exc:
        report.error = f"The database could not be read ({type(exc).__name__})."
        _finish_failed(engine, report, notify_admins)
        return report
    report.rows_read = result.rows_read
    report.problems = list(result.problems)
    feedback_rows = feedback_sync.parse_sheet_feedback(
        data, number_locale=settings.kpi_number_locale
    )
    praise_in, problems, unmatched = match_praise(new_praise_rows, StaffMatcher(client))
    report.problems.extend(problems)
    report.praise_unmatched.extend(unmatched)
    parsed = _Parsed(data, list(result.values.values()), praise_in, feedback_rows)
    try:
        dm = _store(engine, settings, report, parsed, notify_admins=notify_admins)
    except SQLAlchemyError as exc:
        _forget_unsaved(report, exc)
        dm = _finish_failed(engine, report, notify_admins)
    log.info("%s (%.2fs)", report.summary(), time.monotonic() - began)
    _after_sync(engine, client, settings, report, dm=dm)
    return report


def _fail_and_tell(
    engine: Engine, settings: Settings, client, report: SyncReport, notify: bool
) -> SyncReport:
    """Record the failed run and DM the admins unless they were told of this problem before."""
    if _finish_failed(engine, report, notify):
        report.admins_notified = dm_admins(
            client, _admin_ids(engine, settings, report.team_id), report
        )
    return report


def _describe_source(report: SyncReport, data: SheetData) -> None:
    report.spreadsheet, report.worksheets = data.title, list(data.worksheets)
    if data.praise_title:
        report.worksheets.append(data.praise_title)
    if data.feedback_title:
        report.worksheets.append(data.feedback_title)
    report.requests = data.requests


def _read_rows(engine: Engine, settings: Settings, data: SheetData, team_id: str):
    """The parsed KPI sheets, and the praise rows not stored by an earlier sync."""
    with session_scope(engine) as s:
        departments = department_keys(s, team_id=team_id)
        known = set(kpi_names(s, team_id=team_id))
    result, praise_rows = _parse(data, settings=settings, departments=departments, known=known)
    with session_scope(engine) as s:
        seen = known_row_keys(s, team_id=team_id, row_keys=[r.row_key for r in praise_rows])
    return result, [r for r in praise_rows if r.row_key not in seen]


@dataclass
class _Parsed:
    """What one sync read and is about to store."""

    data: SheetData
    values: list
    praise: list
    feedback: feedback_sync.FeedbackRows | None


def _store(
    engine: Engine, settings: Settings, report: SyncReport, parsed: _Parsed, *, notify_admins: bool
) -> bool:
    """Everything a sync writes, in ONE transaction; returns whether to DM the admins."""
    team_id = report.team_id
    with session_scope(engine) as s:
        previous = last_run(s, team_id=team_id)
        report.custom_kpis = ensure_kpis(
            s, team_id=team_id, names={v.kpi_name for v in parsed.values}
        )
        counts = upsert_values(s, team_id=team_id, values=parsed.values, synced_at=utcnow())
        report.stored, report.updated, report.unchanged = (
            counts.stored,
            counts.updated,
            counts.unchanged,
        )
        report.key_results_updated = len(refresh_bound_key_results(s, team_id=team_id))
        report.guardrail_changes = len(evaluate_guardrails(s, team_id=team_id))
        report.praise_new = len(store_drafts(s, team_id=team_id, rows=parsed.praise))
        if parsed.feedback is not None:
            _store_feedback(s, settings, report, parsed)
        report.ok = True
        report.finished_at = utcnow()
        key, dm = _carried_problem_key(report, previous, notify_admins)
        run = _record_success(s, report, key)
    report.run_id = run.id
    return dm


def _store_feedback(s, settings: Settings, report: SyncReport, parsed: _Parsed) -> None:
    stored = feedback_sync.store_rows(
        s,
        team_id=report.team_id,
        parsed=parsed.feedback,
        sheet=parsed.data.feedback_title or "",
        retention_days=settings.loyalty_feedback_retention_days,
    )
    report.feedback_new, report.feedback_followups = len(stored.created), stored.followups
    report.problems.extend(parsed.feedback.problems)


def _record_success(s, report: SyncReport, key: str | None) -> KpiSyncRun:
    run = record_run(
        s,
        team_id=report.team_id,
        run=KpiSyncRun(
            started_at=report.started_at,
            finished_at=report.finished_at,
            ok=True,
            rows_read=report.rows_read,
            stored=report.stored,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
            report=report.text(),
            problem_key=key,
        ),
    )
    audit.record(
        s,
        team_id=report.team_id,
        actor_id=SYNC_ACTOR,
        action="kpi.sync",
        entity="kpi_sync_run",
        entity_id=run.id,
        after={
            "stored": report.stored,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
            "praise_new": report.praise_new,
        },
    )
    return run


def _forget_unsaved(report: SyncReport, exc: SQLAlchemyError) -> None:
    """The transaction rolled back: nothing of this sync landed, earlier values are intact."""
    report.ok = False
    report.stored = report.updated = report.unchanged = report.praise_new = 0
    report.feedback_new, report.feedback_followups = 0, []
    report.key_results_updated = 0
    report.guardrail_changes = 0
    first_line = str(exc).splitlines()[0][:200]
    report.error = f"Saving the KPI values failed ({type(exc).__name__}: {first_line})."


def _after_sync(engine: Engine, client, settings: Settings, report: SyncReport, *, dm: bool):
    """DMs and posts that follow a sync; none of them can undo what landed."""
    team_id = report.team_id
    if dm:
        report.admins_notified = dm_admins(client, _admin_ids(engine, settings, team_id), report)
    if report.ok and report.praise_new and client is not None:
        _notify_praise(engine, client, team_id)
    if report.ok and client is not None:
        _post_guardrails(engine, client, team_id)
    if report.ok and report.feedback_followups:
        _announce_followups(engine, client, settings, team_id, report.feedback_followups)


def _announce_followups(engine, client, settings, team_id: str, followup_ids: list[int]) -> None:
    try:
        feedback_sync.announce(
            engine,
            client,
            team_id=team_id,
            followup_ids=followup_ids,
            configured_admins=settings.admin_ids,
        )
    except Exception:  # noqa: BLE001 - the rows landed; the scheduler's tick retries the DMs
        log.exception("Telling heads about new detractor follow-ups failed")


def _post_guardrails(engine: Engine, client: WebClient, team_id: str) -> None:
    try:
        post_guardrail_changes(engine, client, team_id=team_id)
    except Exception:  # noqa: BLE001 - the sync has landed; an alert problem must not undo it
        log.exception("Posting KPI guardrail alerts failed")


def _notify_praise(engine: Engine, client: WebClient, team_id: str) -> None:
    try:
        from jobs.praise_notify import notify_pending_praise
    except ImportError:  # built by the recognition feature; drafts wait in the database meanwhile
        return
    try:
        notify_pending_praise(engine=engine, client=client, team_id=team_id)
    except Exception:  # noqa: BLE001 - the sync has landed; a notification problem must not undo it
        log.exception("Notifying heads about new praise drafts failed")
