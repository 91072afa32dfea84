"""Customer feedback: storing it once per (team, source, source id), routing it to a department,
opening a follow-up `F-n` for every detractor, and noticing when a followed-up customer comes
back as a promoter (recovery).

Every way feedback arrives (sheet row, webhook, message shortcut, CSV import) ends in
`store_feedback`, which takes plain, already-parsed items and works in a constant number of
statements per batch, so a 50,000-row sheet lands in one transaction in well under two seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from sqlalchemy import String, cast, delete, func, insert, update
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from storage import audit
from storage.departments import find_department, name_key, require_head
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import (
    NAME_MAX,
    AuditLog,
    Department,
    Feedback,
    FeedbackRoute,
    FeedbackSettings,
    FeedbackWebhookToken,
    Followup,
    FollowUpStatus,
    PraiseDraft,
    Recognition,
    utcnow,
)
from storage.praise import PraiseIn, store_drafts
from storage.refs import reserve_numbers

SOURCES = ("sheet", "webhook", "shortcut", "csv")
DETRACTOR_MAX = 6  # 0–6: a follow-up is opened
PROMOTER_MIN = 9  # 9–10: a promoter (may recover an earlier detractor)
RECOVERY_WINDOW = timedelta(days=90)
HISTORY_AGE = timedelta(days=14)  # feedback older than this when stored raises no DMs
DEFAULT_FOLLOWUP_HOURS = 48
FOLLOWUP_HOURS_MAX = 24 * 30
CUSTOMER_MAX = 200
COMMENT_MAX = 10_000
STAFF_MAX = 254
SOURCE_ID_MAX = 128
KEYWORD_MAX = NAME_MAX
FEEDBACK_ACTOR = "feedback"  # audit actor for feedback arriving from outside Slack
_CHUNK = 500  # IN lists stay short on both databases
SMALL_BATCH = 20  # up to this many rows are inserted one by one (RETURNING their ids)


def customer_key(customer: str) -> str:
    """One customer however the name or email is cased or spaced."""
    return " ".join((customer or "").split()).casefold()[:CUSTOMER_MAX]


def is_detractor(score: int) -> bool:
    return 0 <= score <= DETRACTOR_MAX


def is_promoter(score: int) -> bool:
    return score >= PROMOTER_MIN


def content_id(*texts: str) -> str:
    """Source id of a row that has none of its own (sheet, CSV): a hash of its cells, given as
    stripped text, so the same row read again is the same feedback."""
    return hashlib.blake2b("\x1f".join(texts).encode("utf-8"), digest_size=16).hexdigest()


def parse_score(raw: object) -> int:
    """A whole number 0–10 (`7`, `7.0`); anything else (`11`, `-1`, `7.5`, `ten`, blank) raises
    DomainError on field `score`."""
    if isinstance(raw, bool):
        raise DomainError(f"`{raw}` is not a score; give a whole number 0–10.", field="score")
    if isinstance(raw, int):
        n = raw
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise DomainError(f"`{raw:g}` is not a whole number 0–10.", field="score")
        n = int(raw)
    else:
        text = str(raw if raw is not None else "").strip()
        if not text:
            raise DomainError("The score is missing; give a whole number 0–10.", field="score")
        try:
            value = float(text)
        except ValueError:
            raise DomainError(
                f"`{text[:40]}` is not a score; give a whole number 0–10.", field="score"
            ) from None
        if not value.is_integer():
            raise DomainError(f"`{text[:40]}` is not a whole number 0–10.", field="score")
        n = int(value)
    if not 0 <= n <= 10:
        raise DomainError(f"`{n}` is out of range; scores run from 0 to 10.", field="score")
    return n


@dataclass(frozen=True)
class FeedbackIn:
    """One piece of feedback, parsed and checked by whoever read it."""

    source: str
    source_id: str
    received_at: datetime
    customer: str
    score: int
    comment: str = ""
    department: str | None = None  # a department's name, as the source gave it
    staff: str | None = None
    link: str | None = None


def check_item(item: FeedbackIn) -> None:
    """FieldErrors naming each bad field (domain names: customer, score, comment…)."""
    errors: dict[str, str] = {}
    if item.source not in SOURCES:
        errors["source"] = f"Unknown source `{item.source}`."
    if not item.source_id or len(item.source_id) > SOURCE_ID_MAX:
        errors["id"] = f"Give an id of 1 to {SOURCE_ID_MAX} characters."
    if not (item.customer or "").strip():
        errors["customer"] = "Say which customer this is (a name, email or account id)."
    elif len(item.customer) > CUSTOMER_MAX:
        errors["customer"] = f"At most {CUSTOMER_MAX} characters."
    if not isinstance(item.score, int) or isinstance(item.score, bool) or not 0 <= item.score <= 10:
        errors["score"] = "Give a whole number 0–10."
    if len(item.comment or "") > COMMENT_MAX:
        errors["comment"] = f"At most {COMMENT_MAX:,} characters."
    if item.staff is not None and len(item.staff) > STAFF_MAX:
        errors["staff"] = f"At most {STAFF_MAX} characters."
    if item.department is not None and len(item.department) > NAME_MAX:
        errors["department"] = f"At most {NAME_MAX} characters."
    if errors:
        raise FieldErrors(errors)


# ---- settings -----------------------------------------------------------------------------


def feedback_settings(session: Session, *, team_id: str) -> FeedbackSettings:
    """The workspace's settings, or the defaults (not stored) when none were saved."""
    row = session.get(FeedbackSettings, team_id)
    return row or FeedbackSettings(team_id=team_id)


def parse_followup_hours(raw: object) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or not 1 <= int(text) <= FOLLOWUP_HOURS_MAX:
        raise FieldErrors(
            {"followup_hours": f"Give a whole number of hours from 1 to {FOLLOWUP_HOURS_MAX}."}
        )
    return int(text)


def update_feedback_settings(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    default_department_id: int | None,
    followup_hours: int,
) -> FeedbackSettings:
    if not is_admin:
        raise PermissionDenied("a workspace admin", "change the customer-feedback settings")
    if default_department_id is not None:
        dept = session.get(Department, default_department_id)
        if dept is None or dept.team_id != team_id:
            raise FieldErrors({"default_department": "Pick one of this workspace's departments."})
    if not 1 <= int(followup_hours) <= FOLLOWUP_HOURS_MAX:
        raise FieldErrors(
            {"followup_hours": f"Give a whole number of hours from 1 to {FOLLOWUP_HOURS_MAX}."}
        )
    row = session.get(FeedbackSettings, team_id)
    before = row.model_dump() if row else None
    if row is None:
        row = FeedbackSettings(team_id=team_id)
    row.default_department_id = default_department_id
    row.followup_hours = int(followup_hours)
    row.updated_by, row.updated_at = actor_id, utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="feedback.settings",
        entity="feedback_settings",
        before=before,
        after=row,
    )
    return row


# ---- routing rules ------------------------------------------------------------------------


def _require_route_manager(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, department: Department
) -> None:
    require_head(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department=department,
        action=f"route feedback to {department.name}",
    )


def add_routes(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    keywords: list[str],
    department_name: str,
) -> list[FeedbackRoute]:
    """Feedback whose comment holds any of `keywords` goes to the department. A keyword that
    already routes elsewhere is moved (heads may move only their own department's keywords)."""
    dept = find_department(session, team_id=team_id, name=department_name)
    if dept is None:
        raise NotFound(f"There is no department named `{department_name}`.", field="department")
    _require_route_manager(
        session, team_id=team_id, actor_id=actor_id, is_admin=is_admin, department=dept
    )
    out = []
    for keyword in _route_keywords(keywords):
        key = keyword.casefold()
        row = session.exec(
            select(FeedbackRoute).where(
                FeedbackRoute.team_id == team_id, FeedbackRoute.keyword_key == key
            )
        ).first()
        before = row.model_dump() if row else None
        if row is not None and row.department_id != dept.id:
            old = session.get(Department, row.department_id)
            _require_route_manager(
                session, team_id=team_id, actor_id=actor_id, is_admin=is_admin, department=old
            )
        if row is None:
            row = FeedbackRoute(
                team_id=team_id,
                keyword=keyword,
                keyword_key=key,
                department_id=dept.id,
                created_by=actor_id,
            )
        row.department_id = dept.id
        audit.saved(
            session,
            row,
            team_id=team_id,
            actor_id=actor_id,
            action="feedback.route",
            entity="feedback_route",
            before=before,
        )
        out.append(row)
    return out


def _route_keywords(keywords: list[str]) -> list[str]:
    """The keywords as given, spaces folded, each once; DomainError when none or one too long."""
    cleaned = [" ".join(k.split()) for k in keywords if k.strip()]
    if not cleaned:
        raise DomainError("Give at least one keyword.", field="keyword")
    for k in cleaned:
        if len(k) > KEYWORD_MAX:
            raise DomainError(
                f"`{k[:40]}…` is longer than {KEYWORD_MAX} characters.", field="keyword"
            )
    return list(dict.fromkeys(cleaned))


def remove_route(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, keyword: str
) -> FeedbackRoute:
    key = " ".join((keyword or "").split()).casefold()
    row = session.exec(
        select(FeedbackRoute).where(
            FeedbackRoute.team_id == team_id, FeedbackRoute.keyword_key == key
        )
    ).first()
    if row is None:
        raise NotFound(f"No routing rule for `{keyword.strip()[:80]}`.", field="keyword")
    dept = session.get(Department, row.department_id)
    _require_route_manager(
        session, team_id=team_id, actor_id=actor_id, is_admin=is_admin, department=dept
    )
    before = row.model_dump()
    session.delete(row)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="feedback.unroute",
        entity="feedback_route",
        entity_id=before["id"],
        before=before,
    )
    return row


def routes(session: Session, *, team_id: str) -> list[tuple[FeedbackRoute, str]]:
    """Rules in the order they are tried (oldest first), with their department's name."""
    rows = session.exec(
        select(FeedbackRoute, Department.name)
        .join(Department, col(Department.id) == col(FeedbackRoute.department_id))
        .where(FeedbackRoute.team_id == team_id)
        .order_by(col(FeedbackRoute.id))
    ).all()
    return [(r, name) for r, name in rows]


class Router:
    """Routing for one batch. Reads only what the batch needs: the departments it names, and
    the keyword rules once something is left unrouted (a webhook call is one small read)."""

    def __init__(
        self, session: Session, *, team_id: str, default_department_id: int | None, named: set[str]
    ):
        self.session, self.team_id = session, team_id
        self.default_department_id = default_department_id
        keys = list({name_key(n) for n in named if n and n.strip()})
        self.departments: dict[str, int] = {}
        for i in range(0, len(keys), _CHUNK):
            self.departments.update(
                session.exec(
                    select(Department.name_key, Department.id).where(
                        Department.team_id == team_id,
                        col(Department.name_key).in_(keys[i : i + _CHUNK]),
                    )
                ).all()
            )
        self._rules: list[tuple[str, int]] | None = None
        self._keys: dict[str, str] = {}  # a sheet names the same departments over and over

    @property
    def rules(self) -> list[tuple[str, int]]:
        if self._rules is None:
            self._rules = list(
                self.session.exec(
                    select(FeedbackRoute.keyword_key, FeedbackRoute.department_id)
                    .where(FeedbackRoute.team_id == self.team_id)
                    .order_by(col(FeedbackRoute.id))
                ).all()
            )
        return self._rules

    def route(self, department: str | None, comment: str) -> tuple[int | None, bool]:
        """(department id, whether a named department was unknown)."""
        unknown = False
        if department and department.strip():
            key = self._keys.get(department)
            if key is None:
                key = self._keys[department] = name_key(department)
            dept_id = self.departments.get(key)
            if dept_id is not None:
                return dept_id, False
            unknown = True
        text = (comment or "").casefold()
        for keyword, dept_id in self.rules:
            if keyword in text:
                return dept_id, unknown
        return self.default_department_id, unknown


def department_names(session: Session, *, team_id: str) -> dict[int, str]:
    """Department id → name, for lists and forms (one read)."""
    return dict(
        session.exec(
            select(Department.id, Department.name).where(Department.team_id == team_id)
        ).all()
    )


# ---- storing ------------------------------------------------------------------------------


@dataclass
class StoreResult:
    created: list[int] = field(default_factory=list)  # feedback ids, in input order
    duplicates: int = 0  # already stored (same team, source and source id)
    followups: list[int] = field(default_factory=list)  # follow-up ids opened
    followup_numbers: list[int] = field(default_factory=list)  # their F-numbers, same order
    recovered: list[int] = field(default_factory=list)  # follow-up ids marked recovered
    unknown_departments: list[int] = field(default_factory=list)  # input indexes
    skipped_old: int = 0  # older than the retention period: not stored
    feedback_ids: dict[int, int] = field(default_factory=dict)  # input index -> id (new or old)


def _existing_ids(
    session: Session, *, team_id: str, source: str, source_ids: list[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    if len(source_ids) > 5 * _CHUNK:
        # A big batch (a whole sheet): one read of the source's ids beats hundreds of IN lists.
        rows = session.exec(
            select(Feedback.source_id, Feedback.id).where(
                Feedback.team_id == team_id, Feedback.source == source
            )
        ).all()
        wanted = set(source_ids)
        return {sid: fid for sid, fid in rows if sid in wanted}
    for i in range(0, len(source_ids), _CHUNK):
        found.update(
            session.exec(
                select(Feedback.source_id, Feedback.id).where(
                    Feedback.team_id == team_id,
                    Feedback.source == source,
                    col(Feedback.source_id).in_(source_ids[i : i + _CHUNK]),
                )
            ).all()
        )
    return found


def _insert_many(session: Session, table, rows: list[dict]) -> None:
    """One executemany handed straight to the driver. SQLAlchemy's own executemany processes
    every parameter of every row in Python, most of the time of a 50,000-row sheet; the columns
    here are integers, text and UTC datetimes, the latter converted below as the dialect would
    (SQLite: naive UTC text; PostgreSQL: the aware datetime itself)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    stamps = {c.name for c in table.c if isinstance(c.type, UTCDateTime)} & set(keys)
    order = list(compiled.positiontup) if compiled.positional else keys
    values = itemgetter(*order)
    params = [values(row) for row in rows]
    if dialect.name == "sqlite" and stamps:
        columns = list(zip(*params, strict=True))
        for i, key in enumerate(order):
            if key in stamps:
                columns[i] = _sqlite_stamps(columns[i])
        params = list(zip(*columns, strict=True))
    if compiled.positional:
        conn.exec_driver_sql(compiled.string, params)
    else:
        conn.exec_driver_sql(compiled.string, [dict(zip(order, p, strict=True)) for p in params])


def _sqlite_stamps(values: Sequence[datetime | None]) -> list[str | None]:
    """Aware datetimes as SQLite stores them (naive UTC text). A sheet's dates repeat, mostly as
    the same objects, so each object is formatted once; the cache is keyed by identity because
    hashing an aware datetime costs more than formatting saves (the caller's rows keep every
    object alive, so no id is reused meanwhile)."""
    seen: dict[int, str] = {}
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        text = seen.get(id(v))
        if text is None:
            text = seen[id(v)] = (
                v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            )
        out.append(text)
    return out


def _insert_ignoring_duplicates(session: Session, table):
    """INSERT … ON CONFLICT (team, source, source id) DO NOTHING RETURNING id."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["team_id", "source", "source_id"])
        .returning(table.c.id)
    )


def _history(row: dict, quiet_before: datetime) -> bool:
    return row["source"] != "shortcut" and row["received_at"] < quiet_before


def _ids_created(
    session: Session, *, team_id: str, created_at: datetime, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    table = Feedback.__table__
    rows = session.execute(
        select(table.c.source, table.c.source_id, table.c.id).where(
            table.c.team_id == team_id, table.c.created_at == created_at
        )
    )
    return {(src, sid): fid for src, sid, fid in rows if (src, sid) in keys}


def store_feedback(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    items: list[FeedbackIn],
    not_before: datetime | None = None,
) -> StoreResult:
    """Store new feedback (idempotent on team, source, source id), route it, open a follow-up
    for each detractor and mark recoveries. Items must have passed `check_item`."""
    result = StoreResult()
    fresh = _fresh_items(
        session, team_id=team_id, items=items, not_before=not_before, result=result
    )
    if not fresh:
        return result
    settings = feedback_settings(session, team_id=team_id)
    now = utcnow()
    route = Router(
        session,
        team_id=team_id,
        default_department_id=settings.default_department_id,
        named={it.department for _, it in fresh if it.department},
    )
    rows = _routed_rows(
        route, team_id=team_id, actor_id=actor_id, fresh=fresh, now=now, result=result
    )
    if len(rows) <= SMALL_BATCH:
        fresh, rows, ids = _insert_one_by_one(session, fresh=fresh, rows=rows, result=result)
        if not ids:
            return result
    else:
        ids = _insert_batch(session, team_id=team_id, rows=rows, now=now)
    for (i, _), fid in zip(fresh, ids, strict=True):
        result.created.append(fid)
        result.feedback_ids[i] = fid
    _follow_up(
        session,
        team_id=team_id,
        stored=list(zip(ids, rows, strict=True)),
        hours=timedelta(hours=settings.followup_hours),
        now=now,
        result=result,
    )
    counts = {  # counts and references only: customers' words stay out of the audit log
        "source": sorted({it.source for _, it in fresh}),
        "stored": len(ids),
        "followups": len(result.followups),
        "recovered": len(result.recovered),
    }
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="feedback.store",
        entity="feedback",
        entity_id=ids[0] if len(ids) == 1 else None,
        after=counts,
    )
    return result


def _follow_up(
    session: Session,
    *,
    team_id: str,
    stored: list[tuple[int, dict]],
    hours: timedelta,
    now: datetime,
    result: StoreResult,
) -> None:
    """Detractors get a follow-up; promoters may recover an earlier one."""
    detractors = [(fid, row) for fid, row in stored if is_detractor(row["score"])]
    if detractors:
        result.followups, result.followup_numbers = _open_followups(
            session, team_id=team_id, detractors=detractors, hours=hours, now=now
        )
    promoters = [(fid, row) for fid, row in stored if is_promoter(row["score"])]
    if promoters:
        result.recovered = _recover(session, team_id=team_id, promoters=promoters)


def _fresh_items(
    session: Session,
    *,
    team_id: str,
    items: list[FeedbackIn],
    not_before: datetime | None,
    result: StoreResult,
) -> list[tuple[int, FeedbackIn]]:
    """The items not stored yet (by input index), counting duplicates and those too old."""
    fresh: list[tuple[int, FeedbackIn]] = []
    by_source: dict[str, list[tuple[int, FeedbackIn]]] = {}
    for i, item in enumerate(items):
        by_source.setdefault(item.source, []).append((i, item))
    seen_in_batch: set[tuple[str, str]] = set()
    for source, group in by_source.items():
        # A small batch (a webhook call) skips this read: its insert ignores duplicates itself.
        existing = {}
        if len(items) > SMALL_BATCH:
            source_ids = list({it.source_id for _, it in group})
            existing = _existing_ids(session, team_id=team_id, source=source, source_ids=source_ids)
        for i, item in group:
            key = (source, item.source_id)
            if item.source_id in existing:
                result.duplicates += 1
                result.feedback_ids[i] = existing[item.source_id]
            elif key in seen_in_batch:
                result.duplicates += 1
            elif not_before is not None and item.received_at < not_before:
                result.skipped_old += 1
            else:
                seen_in_batch.add(key)
                fresh.append((i, item))
    return fresh


def _routed_rows(
    route: Router,
    *,
    team_id: str,
    actor_id: str,
    fresh: list[tuple[int, FeedbackIn]],
    now: datetime,
    result: StoreResult,
) -> list[dict]:
    """The feedback rows to insert, each routed to a department."""
    rows = []
    for i, item in fresh:
        dept_id, unknown = route.route(item.department, item.comment)
        if unknown:
            result.unknown_departments.append(i)
        rows.append(
            {
                "team_id": team_id,
                "source": item.source,
                "source_id": item.source_id,
                "received_at": item.received_at,
                "customer": item.customer.strip()[:CUSTOMER_MAX],
                "customer_key": customer_key(item.customer),
                "score": item.score,
                "comment": item.comment or "",
                "department_id": dept_id,
                "staff": (item.staff or "").strip()[:STAFF_MAX] or None,
                "link": item.link or None,
                "created_by": actor_id,
                "created_at": now,
            }
        )
    return rows


def _insert_one_by_one(
    session: Session, *, fresh: list[tuple[int, FeedbackIn]], rows: list[dict], result: StoreResult
) -> tuple[list[tuple[int, FeedbackIn]], list[dict], list[int]]:
    """A small batch row by row, skipping an id another request stored since we looked (two
    deliveries of one survey answer at the same moment): the database decides, nothing fails.
    Returns the items, rows and ids actually stored."""
    once = _insert_ignoring_duplicates(session, Feedback.__table__)
    kept_items, kept_rows, ids = [], [], []
    for item, row in zip(fresh, rows, strict=True):
        fid = session.execute(once, row).scalar_one_or_none()
        if fid is None:
            result.duplicates += 1
        else:
            kept_items.append(item)
            kept_rows.append(row)
            ids.append(fid)
    return kept_items, kept_rows, ids


def _insert_batch(session: Session, *, team_id: str, rows: list[dict], now: datetime) -> list[int]:
    """executemany without RETURNING (with it SQLite would insert row by row), then the new ids
    in one read: this batch's rows are the ones stamped with its `now`."""
    _insert_many(session, Feedback.__table__, rows)
    new_ids = _ids_created(
        session, team_id=team_id, created_at=now, keys={(r["source"], r["source_id"]) for r in rows}
    )
    return [new_ids[(r["source"], r["source_id"])] for r in rows]


def _open_followups(
    session: Session,
    *,
    team_id: str,
    detractors: list[tuple[int, dict]],
    hours: timedelta,
    now: datetime,
) -> tuple[list[int], list[int]]:
    """One follow-up per detractor: (their ids, their F-numbers), in the same order."""
    numbers = reserve_numbers(session, team_id=team_id, kind="followup", count=len(detractors))
    quiet_before = now - HISTORY_AGE
    frows = []
    for n, (fid, row) in zip(numbers, detractors, strict=True):
        # History (an old sheet, CSV or survey backfill): listed and counted, but nobody is
        # DMed about answers from weeks ago. A message someone logs by hand is always announced.
        quiet = now if _history(row, quiet_before) else None
        frows.append(
            {
                "team_id": team_id,
                "number": n,
                "feedback_id": fid,
                "department_id": row["department_id"],
                "score": row["score"],
                "received_at": row["received_at"],
                "due_at": row["received_at"] + hours,
                "status": FollowUpStatus.OPEN,
                "created_at": now,
                "heads_notified_at": quiet,
                "overdue_notified_at": quiet,
            }
        )
    ftable = Followup.__table__
    if len(frows) <= SMALL_BATCH:
        ids = [
            session.execute(insert(ftable).returning(ftable.c.id), row).scalar_one()
            for row in frows
        ]
        return ids, numbers
    _insert_many(session, ftable, frows)
    by_number = dict(
        session.exec(
            select(Followup.number, Followup.id).where(
                Followup.team_id == team_id,
                col(Followup.number) >= numbers[0],
                col(Followup.number) <= numbers[-1],
            )
        ).all()
    )
    return [by_number[n] for n in numbers], numbers


def _recover(session: Session, *, team_id: str, promoters: list[tuple[int, dict]]) -> list[int]:
    """A promoter whose earlier follow-up (same customer) was closed within the recovery window
    before this answer: the follow-up is recovered and its closer gets a kudos draft."""
    keys = list({row["customer_key"] for _, row in promoters if row["customer_key"]})
    candidates: dict[str, list[tuple[Followup, Feedback]]] = {}
    for i in range(0, len(keys), _CHUNK):
        for fu, fb in session.exec(
            select(Followup, Feedback)
            .join(Feedback, col(Feedback.id) == col(Followup.feedback_id))
            .where(
                Followup.team_id == team_id,
                Followup.status == FollowUpStatus.CLOSED,
                col(Followup.recovered_at).is_(None),
                col(Feedback.customer_key).in_(keys[i : i + _CHUNK]),
            )
            .order_by(col(Followup.closed_at))
        ).all():
            candidates.setdefault(fb.customer_key, []).append((fu, fb))
    recovered: list[int] = []
    drafts: list[PraiseIn] = []
    now = utcnow()
    for _fid, row in promoters:
        for fu, fb in candidates.get(row["customer_key"], []):
            if fu.id in recovered or fu.closed_at is None:
                continue
            answered = row["received_at"]
            if not (
                fb.received_at < answered
                and fu.closed_at - RECOVERY_WINDOW <= answered
                and answered - fu.closed_at <= RECOVERY_WINDOW
            ):
                continue
            won = session.execute(
                update(Followup)
                .where(Followup.id == fu.id, col(Followup.recovered_at).is_(None))
                .values(recovered_at=now)
            ).rowcount
            if won != 1:
                continue
            recovered.append(fu.id)
            audit.record(
                session,
                team_id=team_id,
                actor_id=FEEDBACK_ACTOR,
                action="followup.recovered",
                entity="followup",
                entity_id=fu.id,
                after={"number": fu.number, "old_score": fu.score, "new_score": row["score"]},
            )
            if fu.closed_by:
                drafts.append(_recovery_draft(fu, row))
    if drafts:
        store_drafts(session, team_id=team_id, rows=drafts)
    return recovered


def _recovery_draft(fu: Followup, row: dict) -> PraiseIn:
    """A kudos draft for whoever closed the follow-up of a customer who came back a promoter."""
    answered = row["received_at"]
    turned = f"turned a detractor into a promoter (F-{fu.number}: {fu.score} → {row['score']})"
    said = (row["comment"] or "").strip()
    return PraiseIn(
        row_key=f"recovery:F-{fu.number}",
        praise_date=answered.date() if isinstance(answered, datetime) else None,
        customer=row["customer"],
        comment=f"{said} — {turned}" if said else turned,
        staff=fu.closed_by,
        staff_user_id=fu.closed_by,
    )


def feedback_by_id(session: Session, *, team_id: str, feedback_id: int) -> Feedback | None:
    row = session.get(Feedback, feedback_id)
    return row if row is not None and row.team_id == team_id else None


def feedback_of(session: Session, *, team_id: str, ids: list[int]) -> dict[int, Feedback]:
    out: dict[int, Feedback] = {}
    for i in range(0, len(ids), _CHUNK):
        for row in session.exec(
            select(Feedback).where(
                Feedback.team_id == team_id, col(Feedback.id).in_(ids[i : i + _CHUNK])
            )
        ).all():
            out[row.id] = row
    return out


# ---- promoters naming staff -----------------------------------------------------------------


def promoters_naming_staff(session: Session, *, team_id: str, limit: int = 500) -> list[Feedback]:
    """Promoter feedback that names staff and was not yet turned into a praise draft."""
    return list(
        session.exec(
            select(Feedback)
            .where(
                Feedback.team_id == team_id,
                col(Feedback.score) >= PROMOTER_MIN,
                col(Feedback.staff).is_not(None),
                col(Feedback.praise_checked_at).is_(None),
            )
            .order_by(col(Feedback.id))
            .limit(limit)
        ).all()
    )


def store_staff_praise(
    session: Session, *, team_id: str, matched: list[tuple[Feedback, str | None]]
) -> int:
    """Praise drafts for promoters naming staff (`matched`: feedback, the staff member's user id
    or None when nobody matched); each feedback is drafted once. Returns drafts created."""
    drafts = []
    ids = []
    for fb, user_id in matched:
        ids.append(fb.id)
        drafts.append(
            PraiseIn(
                row_key=f"feedback:{fb.id}",
                praise_date=fb.received_at.date(),
                customer=fb.customer,
                comment=fb.comment or f"scored us {fb.score}/10",
                staff=fb.staff or "",
                staff_user_id=user_id,
            )
        )
    for i in range(0, len(ids), _CHUNK):
        session.execute(
            update(Feedback)
            .where(Feedback.team_id == team_id, col(Feedback.id).in_(ids[i : i + _CHUNK]))
            .values(praise_checked_at=utcnow())
        )
    return len(store_drafts(session, team_id=team_id, rows=drafts))


# ---- retention and forgetting -----------------------------------------------------------------


def purge_old_feedback(session: Session, *, team_id: str | None = None, before: datetime) -> int:
    """Delete feedback received before `before` (the retention period). Follow-ups keep their
    score, department and times (the figures), losing only the link to the erased words."""
    where = [col(Feedback.received_at) < before]
    if team_id is not None:
        where.append(Feedback.team_id == team_id)
    old = select(Feedback.id).where(*where).scalar_subquery()
    session.execute(
        update(Followup)
        .where(col(Followup.feedback_id).in_(old))
        .values(feedback_id=None, note=None)
    )
    return session.execute(delete(Feedback).where(*where)).rowcount


FORGOTTEN = "(forgotten customer)"


def forget_customer(
    session: Session, *, team_id: str, customer: str, actor_id: str = "system"
) -> dict[str, int]:
    """Erase one customer's identifier and words: their feedback keeps its score, date and
    department (counts stay), loses customer, comment, staff and link; their follow-ups lose
    their notes; praise drafts quoting them and audit payloads naming them are scrubbed."""
    key = customer_key(customer)
    if not key:
        raise DomainError("Say which customer to forget.", field="customer")
    rows = session.exec(
        select(Feedback).where(Feedback.team_id == team_id, Feedback.customer_key == key)
    ).all()
    if not rows:
        raise NotFound(f"No feedback from `{customer.strip()[:80]}` in team {team_id}.")
    ids = [r.id for r in rows]
    texts = {r.customer for r in rows} | {
        r.comment for r in rows if r.comment and len(r.comment) >= 4
    }
    named = customer.strip()
    texts.add(named)
    followup_ids = list(
        session.exec(
            select(Followup.id).where(
                Followup.team_id == team_id, col(Followup.feedback_id).in_(ids)
            )
        ).all()
    )
    changed = _erase_feedback(session, team_id=team_id, ids=ids, followup_ids=followup_ids)
    changed["praise_draft"] = _scrub_drafts(session, team_id=team_id, key=key, named=named)
    # Their words may also live on in kudos confirmed from such a draft, and in audit payloads
    # (notes written about their follow-ups, any text naming them). Identifiers are matched
    # whatever their letter case: one customer writes ann@… in a survey and ANN@… in a sheet.
    erase = _eraser(texts)
    changed["recognition"] = _scrub_recognitions(session, team_id=team_id, key=key, erase=erase)
    changed["auditlog"] = _scrub_audit(
        session, team_id=team_id, key=key, followup_ids=followup_ids, erase=erase
    )
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="customer.forget",
        entity="feedback",
        after={"feedback": len(ids), "followups": len(followup_ids)},
    )
    return changed


def _erase_feedback(
    session: Session, *, team_id: str, ids: list[int], followup_ids: list[int]
) -> dict[str, int]:
    changed = {"feedback": 0, "followup": 0}
    changed["feedback"] = session.execute(
        update(Feedback)
        .where(Feedback.team_id == team_id, col(Feedback.id).in_(ids))
        .values(customer=FORGOTTEN, customer_key="", comment="", staff=None, link=None)
    ).rowcount
    if followup_ids:
        changed["followup"] = session.execute(
            update(Followup)
            .where(Followup.team_id == team_id, col(Followup.id).in_(followup_ids))
            .values(note=None)
        ).rowcount
    return changed


def _scrub_drafts(session: Session, *, team_id: str, key: str, named: str) -> int:
    drafts = session.exec(
        select(PraiseDraft).where(
            PraiseDraft.team_id == team_id,
            (func.lower(PraiseDraft.customer) == key) | col(PraiseDraft.comment).contains(named),
        )
    ).all()
    changed = 0
    for d in drafts:
        if customer_key(d.customer) == key or named in d.comment:
            d.customer, d.comment = FORGOTTEN, "(erased at the customer's request)"
            session.add(d)
            changed += 1
    return changed


def _scrub_recognitions(session: Session, *, team_id: str, key: str, erase) -> int:
    changed = 0
    for rec in session.exec(
        select(Recognition).where(
            Recognition.team_id == team_id, func.lower(Recognition.text).contains(key)
        )
    ).all():
        rec.text = erase(rec.text)
        session.add(rec)
        changed += 1
    return changed


def _scrub_audit(
    session: Session, *, team_id: str, key: str, followup_ids: list[int], erase
) -> int:
    changed = 0
    for entry in session.exec(
        select(AuditLog).where(
            AuditLog.team_id == team_id,
            (col(AuditLog.entity) == "followup") & col(AuditLog.entity_id).in_(followup_ids or [-1])
            | func.lower(func.coalesce(cast(AuditLog.before, String), "")).contains(key)
            | func.lower(func.coalesce(cast(AuditLog.after, String), "")).contains(key),
        )
    ).all():
        touched = False
        for attr in ("before", "after"):
            value = getattr(entry, attr)
            if not value:
                continue
            new = erase(value, inner=True)
            if entry.entity == "followup" and entry.entity_id in followup_ids:
                new = _blank_json_field(new, "note")
            if new != value:
                setattr(entry, attr, new)
                touched = True
        if touched:
            session.add(entry)
            changed += 1
    return changed


def _eraser(texts: set[str]):
    """A function replacing each of `texts` (longest first, any letter case) by FORGOTTEN; with
    `inner=True` in JSON text, where they appear escaped."""
    ordered = sorted((t for t in texts if t), key=len, reverse=True)
    plain = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None
    escaped = (
        re.compile("|".join(re.escape(_json_inner(t)) for t in ordered), re.IGNORECASE)
        if ordered
        else None
    )

    def erase(value: str, *, inner: bool = False) -> str:
        pattern = escaped if inner else plain
        return pattern.sub(FORGOTTEN, value) if pattern is not None else value

    return erase


def _json_inner(text: str) -> str:
    """`text` as it appears inside a JSON string (audit payloads are JSON)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _blank_json_field(payload: str, name: str) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if isinstance(data, dict) and data.get(name):
        data[name] = None
        return json.dumps(data, ensure_ascii=False, default=str)
    return payload


# ---- the webhook's per-workspace token ------------------------------------------------------


def webhook_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def team_for_webhook_token(session: Session, *, token: str) -> str | None:
    """The workspace whose webhook token this is (looked up by hash: the token itself is
    stored only encrypted, for showing it to admins)."""
    return session.exec(
        select(FeedbackWebhookToken.team_id).where(
            FeedbackWebhookToken.token_hash == webhook_token_hash(token)
        )
    ).first()


def webhook_token(session: Session, *, team_id: str, actor_id: str) -> str:
    """The workspace's webhook token, created on first use (admins see it in the setup form)."""
    row = session.get(FeedbackWebhookToken, team_id)
    if row is not None:
        return row.token
    token = secrets.token_urlsafe(32)
    session.add(
        FeedbackWebhookToken(
            team_id=team_id, token_hash=webhook_token_hash(token), token=token, created_by=actor_id
        )
    )
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="feedback.webhook_token",
        entity="feedback_settings",
        after={"created": True},
    )
    return token
