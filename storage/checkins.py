"""Check-ins: recording them and their history, and the blockers they carry.

A check-in may name what its author is blocked on. The key result's blocker is open while its
latest check-in carries one: a later check-in without a blocker resolves it, one with another
blocker replaces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    insert,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage import audit
from storage.departments import departments_in
from storage.errors import DomainError, FieldErrors, NotFound, item_field
from storage.models import (
    NOTE_MAX,
    AuditLog,
    CheckIn,
    Department,
    KeyResult,
    Objective,
    ObjectiveStatus,
    utcnow,
)
from storage.numbers import parse_number
from storage.objectives import (
    ObjectiveState,
    can_check_in,
    get_key_result,
    get_key_result_and_objective_state,
    key_result_for_head,
)
from storage.rows import CheckinRow, KeyResultRow
from storage.undo import UndoKind, own_row_to_undo

UNDO_ACTION = "checkin.undo"
CHECKIN_UNDO = UndoKind(
    author_column=CheckIn.author_id,
    parent_model=KeyResult,
    parent_column=CheckIn.key_result_id,
    find_parent=get_key_result,
    parent_prefix="KR",
    action=UNDO_ACTION,
    noun="check-in",
    prep="on",
)


def _checked_input(
    kr: KeyResultRow,
    obj: ObjectiveState,
    value: float | None,
    confidence: int | None,
    note: str,
    blocker: str,
) -> tuple[int, str, str]:
    """The check-in's confidence (the last one when none is given), note and blocker, once
    the key result may take it; DomainError naming the field otherwise."""
    if obj.status != ObjectiveStatus.ACTIVE:
        raise DomainError(f"KR-{kr.number} belongs to O-{obj.number}, which is {obj.status}.")
    if kr.kpi_name and value is not None:
        raise DomainError(
            f"KR-{kr.number} takes its value from the KPI `{kr.kpi_name}`; check in with "
            "a confidence and a note only.",
            field="value",
        )
    if not kr.kpi_name and value is None:
        raise DomainError(f"KR-{kr.number} needs a value.", field="value")
    if confidence is None:
        confidence = kr.last_confidence
    if confidence is None:
        raise DomainError(
            f"KR-{kr.number} has no confidence yet; add one like `7/10` "
            "(1–3 off track, 4–6 at risk, 7–10 on track).",
            field="confidence",
        )
    if not 1 <= confidence <= 10:
        raise DomainError(
            f"Confidence {confidence} is out of range; use 1 to 10.", field="confidence"
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            f"The note is {len(note):,} characters; the limit is {NOTE_MAX:,}.", field="note"
        )
    blocker = (blocker or "").strip()
    if len(blocker) > NOTE_MAX:
        raise DomainError(
            f"The blocker is {len(blocker):,} characters; the limit is {NOTE_MAX:,}.",
            field="blocker",
        )
    return confidence, note, blocker


# A check-in's writes as statements built once, not through the ORM's unit of work: on the
# busiest write path, its change tracking and flush planning cost more CPU than the writes.
_CHECKIN = CheckIn.__table__
_INSERT_CHECKIN = insert(_CHECKIN)
_KR = KeyResult.__table__
_KEY_RESULT_CHECKED_IN = (
    update(_KR)
    .where(_KR.c.id == bindparam("kr_id"))
    .values(
        current_value=func.coalesce(bindparam("new_value", type_=Float), _KR.c.current_value),
        last_confidence=bindparam("new_confidence"),
        last_checkin_at=bindparam("checked_at"),
    )
)
CHECKIN_ACTION = "checkin.create"
_CHECKIN_FIELDS = tuple(c.name for c in _CHECKIN.columns if c.name != "id")
_CHECKED_IN = ("current_value", "last_confidence", "last_checkin_at")  # what a check-in sets


def _all_at_once() -> Select:
    """On PostgreSQL the three writes go as one statement (data-modifying WITH clauses): the
    check-in, the key result's new state, and the audit row, whose payload takes the new
    check-in's id in SQL. One round trip instead of three, and one statement's CPU. No
    parameter is named after a column: the UPDATE would also set every column so named."""
    new_checkin = (
        insert(_CHECKIN)
        .values(
            {name: bindparam(f"ck_{name}", type_=_CHECKIN.c[name].type) for name in _CHECKIN_FIELDS}
        )
        .returning(_CHECKIN.c.id)
        .cte("new_checkin")
    )
    log = AuditLog.__table__
    audit_row = select(
        bindparam("ck_team_id", type_=String),
        bindparam("ck_author_id", type_=String),
        bindparam("audit_action", type_=String),
        bindparam("audit_entity", type_=String),
        bindparam("kr_id", type_=Integer),
        bindparam("audit_before", type_=String),
        bindparam("after_head", type_=String)
        + cast(new_checkin.c.id, String)
        + bindparam("after_tail", type_=String),
        bindparam("ck_created_at", type_=_CHECKIN.c.created_at.type),
    ).select_from(new_checkin)
    audited = insert(log).from_select(
        ["team_id", "actor_id", "action", "entity", "entity_id", "before", "after", "created_at"],
        audit_row,
    )
    return (
        select(new_checkin.c.id)
        .add_cte(_KEY_RESULT_CHECKED_IN.cte("key_result_checked_in"))
        .add_cte(audited.cte("audited"))
    )


_CHECK_IN_AT_ONCE = _all_at_once()


def record_checkin(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    is_admin: bool,
    ref: str,
    value: float | None,
    confidence: int | None,
    note: str = "",
    blocker: str = "",
) -> tuple[CheckinRow, KeyResultRow]:
    """Record a check-in: the written check-in and the key result as it now stands, as plain
    rows (the writes are statements, not the ORM's; a key result this session had loaded is
    brought up to date)."""
    kr, obj = get_key_result_and_objective_state(session, team_id=team_id, ref=ref)
    can_check_in(session, team_id=team_id, user_id=user_id, is_admin=is_admin, kr=kr)
    confidence, note, blocker = _checked_input(kr, obj, value, confidence, note, blocker)
    before = kr._asdict()
    now = utcnow()
    fields = {
        "team_id": team_id,
        "key_result_id": kr.id,
        "author_id": user_id,
        "value": value,
        "confidence": confidence,
        "note": note,
        "blocker": blocker,
        "created_at": now,
    }
    kr_after = {
        **before,
        "current_value": kr.current_value if value is None else value,
        "last_confidence": confidence,
        "last_checkin_at": now,
    }
    # The texts stay on the check-in row (forgetting its author blanks them there).
    after = {**kr_after, "checkin_id": 0, "blocker": bool(blocker)}
    changes = {"kr_id": kr.id, "new_value": value, "new_confidence": confidence, "checked_at": now}
    checkin_id = _write_checkin(session, fields, changes, before=before, after=after)
    checked_in = {name: kr_after[name] for name in _CHECKED_IN}
    loaded = session.identity_map.get(session.identity_key(KeyResult, kr.id))
    if loaded is not None:  # it now says what the row says, without a change left to flush
        for name, value_now in checked_in.items():
            set_committed_value(loaded, name, value_now)
    return CheckinRow(id=checkin_id, **fields), kr._replace(**checked_in)


def _write_checkin(
    session: Session, fields: dict, changes: dict, *, before: dict, after: dict
) -> int:
    """Write the check-in `fields`, the key result's `changes` and the audit row (`after`
    with the new check-in's id); returns that id."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        head, tail = audit.json_around(after, "checkin_id")
        return conn.execute(
            _CHECK_IN_AT_ONCE,
            {
                **{f"ck_{name}": v for name, v in fields.items()},
                **changes,
                "audit_action": CHECKIN_ACTION,
                "audit_entity": "key_result",
                "audit_before": audit.as_json(before),
                "after_head": head,
                "after_tail": tail,
            },
        ).scalar_one()
    checkin_id = conn.execute(_INSERT_CHECKIN, fields).inserted_primary_key[0]
    conn.execute(_KEY_RESULT_CHECKED_IN, changes)
    audit.record_now(
        session,
        team_id=fields["team_id"],
        actor_id=fields["author_id"],
        action=CHECKIN_ACTION,
        entity="key_result",
        entity_id=changes["kr_id"],
        before=before,
        after={**after, "checkin_id": checkin_id},
    )
    return checkin_id


@dataclass
class CheckinEntry:
    """One filled row of a multi-key-result check-in: the value as typed ("" for none)."""

    number: int
    value_text: str = ""
    confidence: int | None = None
    note: str = ""
    blocker: str = ""

    @property
    def empty(self) -> bool:
        return not (
            self.value_text.strip() or self.confidence or self.note.strip() or self.blocker.strip()
        )


def record_checkins(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, entries: list[CheckinEntry]
) -> list[tuple[CheckinRow, KeyResultRow]]:
    """Record one check-in per non-empty entry, all or nothing: every entry is checked, and
    FieldErrors keyed `kr.<number>.<field>` name each bad one (the caller's transaction then
    rolls back what the good ones wrote)."""
    errors: dict[str, str] = {}
    done: list[tuple[CheckinRow, KeyResultRow]] = []
    for entry in entries:
        if entry.empty:
            continue
        try:
            raw = entry.value_text.strip()
            value = parse_number(raw) if raw else None
        except DomainError as exc:
            errors[item_field("kr", entry.number, "value")] = exc.message
            continue
        try:
            done.append(
                record_checkin(
                    session,
                    team_id=team_id,
                    user_id=user_id,
                    is_admin=is_admin,
                    ref=f"KR-{entry.number}",
                    value=value,
                    confidence=entry.confidence,
                    note=entry.note,
                    blocker=entry.blocker,
                )
            )
        except DomainError as exc:
            field = exc.field if exc.field in ("value", "note", "blocker") else "confidence"
            errors[item_field("kr", entry.number, field)] = exc.message
    if errors:
        raise FieldErrors(errors)
    return done


def undo_checkin(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    checkin_id: int | None = None,
    ref: str | None = None,
    now: datetime | None = None,
) -> tuple[CheckIn, KeyResult]:
    """Delete one of the caller's check-ins from the last 24 hours — `checkin_id`, or their latest
    (on key result `ref` if given) — and set the key result back to its newest remaining
    check-in (no value, confidence or date when none is left), so totals and forecasts follow."""
    row, kr = own_row_to_undo(
        session,
        CHECKIN_UNDO,
        team_id=team_id,
        user_id=user_id,
        row_id=checkin_id,
        ref=ref,
        now=now,
    )
    before = {"checkin": row.model_dump(), "key_result": kr.model_dump()}
    session.delete(row)
    session.flush()
    remaining = history(session, team_id=team_id, key_result_id=kr.id, limit=1)
    latest = remaining[0] if remaining else None
    if not kr.kpi_name:  # a KPI-bound key result's value is the KPI's, not the check-ins'
        kr.current_value = latest_checked_in_value(session, key_result_id=kr.id)
    kr.last_confidence = latest.confidence if latest else None
    kr.last_checkin_at = latest.created_at if latest else None
    session.add(kr)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=user_id,
        action=UNDO_ACTION,
        entity="checkin",
        entity_id=row.id,
        before=before,
        after=kr.model_dump(),
    )
    return row, kr


def latest_checked_in_value(session: Session, *, key_result_id: int) -> float | None:
    return session.exec(
        select(CheckIn.value)
        .where(CheckIn.key_result_id == key_result_id, col(CheckIn.value).is_not(None))
        .order_by(col(CheckIn.created_at).desc(), col(CheckIn.id).desc())
        .limit(1)
    ).first()


# Read by every objective view and undo: built once, not on each call.
_HISTORY = (
    select(CheckIn)
    .where(CheckIn.team_id == bindparam("team_id"), CheckIn.key_result_id == bindparam("kr_id"))
    .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


def history(
    session: Session, *, team_id: str, key_result_id: int, limit: int = 10
) -> list[CheckIn]:
    params = {"team_id": team_id, "kr_id": key_result_id, "limit": limit}
    return list(session.scalars(_HISTORY, params).all())


# The newest check-ins of several key results in one statement: each key result's check-ins
# ranked newest first, the first `limit` of each kept.
_RANKED = (
    select(
        CheckIn,
        func.row_number()
        .over(
            partition_by=CheckIn.key_result_id,
            order_by=(col(CheckIn.created_at).desc(), col(CheckIn.id).desc()),
        )
        .label("rank"),
    )
    .where(
        CheckIn.team_id == bindparam("team_id"),
        col(CheckIn.key_result_id).in_(bindparam("ids", expanding=True)),
    )
    .subquery()
)
_RECENT = (
    select(aliased(CheckIn, _RANKED))
    .where(_RANKED.c.rank <= bindparam("limit", type_=Integer))
    .order_by(_RANKED.c.key_result_id, _RANKED.c.rank)
)


def recent_history(
    session: Session, *, team_id: str, key_result_ids: list[int], limit: int = 3
) -> dict[int, list[CheckIn]]:
    """`history` of each key result (newest first, at most `limit`), in one statement."""
    out: dict[int, list[CheckIn]] = {kr_id: [] for kr_id in key_result_ids}
    if key_result_ids:
        params = {"team_id": team_id, "ids": list(key_result_ids), "limit": limit}
        for row in session.scalars(_RECENT, params):
            out[row.key_result_id].append(row)
    return out


def latest_checkin_id(key_result_id):
    """A scalar subquery: the id of the newest check-in of the key result column given."""
    newer = CheckIn.__table__.alias("checkin_newest")
    return (
        select(newer.c.id)
        .where(newer.c.key_result_id == key_result_id)
        .order_by(newer.c.created_at.desc(), newer.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def latest_checkins(
    session: Session, *, team_id: str, key_result_ids: list[int]
) -> dict[int, CheckIn]:
    """Each key result's newest check-in (key results never checked in are absent)."""
    if not key_result_ids:
        return {}
    rows = session.exec(
        select(CheckIn)
        .join(KeyResult, col(KeyResult.id) == CheckIn.key_result_id)
        .where(
            KeyResult.team_id == team_id,
            col(KeyResult.id).in_(key_result_ids),
            CheckIn.id == latest_checkin_id(KeyResult.id),
        )
    ).all()
    return {c.key_result_id: c for c in rows}


def open_blockers(
    session: Session, *, team_id: str, key_result_ids: list[int]
) -> dict[int, CheckIn]:
    """The check-in holding each key result's open blocker, for those that have one."""
    latest = latest_checkins(session, team_id=team_id, key_result_ids=key_result_ids)
    return {kr_id: c for kr_id, c in latest.items() if c.blocker}


def blocked_key_result_ids(
    session: Session, *, team_id: str, quarter: str | None = None
) -> set[int]:
    """Active key results whose latest check-in carries a blocker (one statement)."""
    query = (
        select(KeyResult.id)
        .join(Objective, col(Objective.id) == KeyResult.objective_id)
        .join(CheckIn, CheckIn.id == latest_checkin_id(KeyResult.id))
        .where(
            KeyResult.team_id == team_id,
            Objective.status == ObjectiveStatus.ACTIVE,
            CheckIn.blocker != "",
        )
    )
    if quarter is not None:
        query = query.where(Objective.quarter == quarter)
    return set(session.exec(query).all())


def blocker_to_ask(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, ref: str, checkin_id: int
) -> tuple[KeyResult, CheckIn, Department | None]:
    """The open blocker (check-in `checkin_id` of key result `ref`) a head turns into an ask of
    another department, with the key result's department. Heads of it and admins only."""
    kr, dept = key_result_for_head(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        ref=ref,
        action="turn a blocker into an ask",
    )
    row = session.get(CheckIn, checkin_id)
    if row is None or row.team_id != team_id or row.key_result_id != kr.id or not row.blocker:
        raise NotFound(f"KR-{kr.number} has no such blocker.")
    latest = latest_checkins(session, team_id=team_id, key_result_ids=[kr.id]).get(kr.id)
    if latest is None or latest.id != row.id:
        raise DomainError(
            f"KR-{kr.number}'s blocker was resolved by a later check-in"
            + (f" on {latest.created_at:%Y-%m-%d}." if latest else ".")
        )
    return kr, row, dept


def guess_department(
    session: Session, *, team_id: str, text: str, exclude_id: int | None = None
) -> Department | None:
    """The department a blocker's words name (whole words, any case; the longest name wins),
    other than `exclude_id` (the blocked key result's own department)."""
    folded = (text or "").casefold()
    best = None
    for dept in departments_in(session, team_id=team_id, ids=None):
        if dept.id == exclude_id or not dept.name_key:
            continue
        if re.search(rf"(?:^|(?<=\W)){re.escape(dept.name_key)}(?!\w)", folded) and (
            best is None or len(dept.name_key) > len(best.name_key)
        ):
            best = dept
    return best
