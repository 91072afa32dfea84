"""KPI values: idempotent upsert from the sheet, latest values and their change, KR bindings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, bindparam, insert, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, func, select

from storage import audit
from storage.departments import find_department
from storage.errors import DomainError
from storage.kpis import KNOWN_KPIS
from storage.models import (
    Department,
    KeyResult,
    Kpi,
    KpiSyncRun,
    KpiValue,
    Objective,
    ObjectiveStatus,
    utcnow,
)
from storage.objectives import key_result_for_head
from storage.refs import parse_ref

SYNC_ACTOR = "kpi-sync"  # audit actor for writes made by the sync itself


@dataclass(frozen=True)
class ValueIn:
    kpi_name: str
    scope: int  # 0 company-wide, else department id
    day: date
    value: float
    source_ref: str | None = None


@dataclass
class UpsertCounts:
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_keys: list[tuple[str, int, date]] = field(default_factory=list)


def department_keys(session: Session, *, team_id: str) -> dict[str, int]:
    """Casefolded department name → id, for matching the sheet's department column."""
    rows = session.exec(
        select(Department.name_key, Department.id).where(Department.team_id == team_id)
    ).all()
    return {key: dept_id for key, dept_id in rows}


def ensure_kpis(session: Session, *, team_id: str, names: Iterable[str]) -> list[str]:
    """Create Kpi rows for names not yet defined; returns the new custom names."""
    wanted = set(names)
    if not wanted:
        return []
    have = set(
        session.exec(
            select(Kpi.name).where(Kpi.team_id == team_id, col(Kpi.name).in_(wanted))
        ).all()
    )
    created = []
    for name in sorted(wanted - have):
        unit, direction = KNOWN_KPIS.get(name, ("", "increase"))
        session.add(
            Kpi(
                team_id=team_id,
                name=name,
                unit=unit,
                direction=direction,
                custom=name not in KNOWN_KPIS,
            )
        )
        if name not in KNOWN_KPIS:
            created.append(name)
    session.flush()
    return created


def _stored_values(
    session: Session, *, team_id: str, keys: Iterable[tuple[str, int, date]]
) -> dict[tuple[str, int, date], tuple[int, float, str | None]]:
    """(id, value, source_ref) of the stored values among `keys`, in one statement (the days'
    range of the KPIs named)."""
    names = {k[0] for k in keys}
    days = [k[2] for k in keys]
    existing: dict[tuple[str, int, date], tuple[int, float, str | None]] = {}
    for row in session.execute(
        select(
            KpiValue.id,
            KpiValue.kpi_name,
            KpiValue.scope,
            KpiValue.day,
            KpiValue.value,
            KpiValue.source_ref,
        ).where(
            KpiValue.team_id == team_id,
            col(KpiValue.kpi_name).in_(names),
            col(KpiValue.day) >= min(days),
            col(KpiValue.day) <= max(days),
        )
    ):
        existing[(row.kpi_name, row.scope, row.day)] = (row.id, row.value, row.source_ref)
    return existing


def _write_values(
    session: Session, inserts: list, value_updates: list, ref_updates: list, *, source: str
) -> None:
    """One executemany statement per kind of change."""
    table = KpiValue.__table__
    if inserts:
        session.execute(insert(table), inserts)
    if value_updates:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(
                value=bindparam("_value"),
                source=source,
                source_ref=bindparam("_ref"),
                synced_at=bindparam("_at"),
            ),
            value_updates,
        )
    if ref_updates:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(source_ref=bindparam("_ref")),
            ref_updates,
        )


def upsert_values(
    session: Session,
    *,
    team_id: str,
    values: Iterable[ValueIn],
    synced_at: datetime | None = None,
    source: str = "sheet",
) -> UpsertCounts:
    """Insert new values, update changed ones, leave equal ones untouched (idempotent).

    Keyed on (team, kpi, scope, day). Uses executemany so 10,000 rows cost a few statements.
    """
    synced_at = synced_at or utcnow()
    incoming = {(v.kpi_name, v.scope, v.day): v for v in values}
    counts = UpsertCounts()
    if not incoming:
        return counts
    existing = _stored_values(session, team_id=team_id, keys=incoming.keys())
    inserts, value_updates, ref_updates = [], [], []
    for key, v in incoming.items():
        ref = (v.source_ref or "")[:128] or None
        old = existing.get(key)
        if old is None:
            inserts.append(
                {
                    "team_id": team_id,
                    "kpi_name": v.kpi_name,
                    "scope": v.scope,
                    "department_id": v.scope or None,
                    "day": v.day,
                    "value": v.value,
                    "source": source,
                    "source_ref": ref,
                    "synced_at": synced_at,
                }
            )
            counts.changed_keys.append(key)
        elif old[1] != v.value:
            value_updates.append({"_id": old[0], "_value": v.value, "_ref": ref, "_at": synced_at})
            counts.changed_keys.append(key)
        elif old[2] != ref:
            ref_updates.append({"_id": old[0], "_ref": ref})  # same number, row moved in the sheet
            counts.unchanged += 1
        else:
            counts.unchanged += 1
    _write_values(session, inserts, value_updates, ref_updates, source=source)
    counts.stored, counts.updated = len(inserts), len(value_updates)
    return counts


# ---------------------------------------------------------------- key results bound to KPIs


def newest_value(session: Session, *, team_id: str, kpi_name: str, scope: int) -> KpiValue | None:
    return session.exec(
        select(KpiValue)
        .where(KpiValue.team_id == team_id, KpiValue.kpi_name == kpi_name, KpiValue.scope == scope)
        .order_by(col(KpiValue.day).desc())
        .limit(1)
    ).first()


def refresh_bound_key_results(
    session: Session, *, team_id: str, actor_id: str = SYNC_ACTOR
) -> list[KeyResult]:
    """Every KPI-bound KR of an active objective takes its KPI's newest value; returns changed KRs."""
    krs = session.exec(
        select(KeyResult)
        .join(Objective, col(Objective.id) == col(KeyResult.objective_id))
        .where(
            KeyResult.team_id == team_id,
            col(KeyResult.kpi_name).is_not(None),
            Objective.status == ObjectiveStatus.ACTIVE,
        )
    ).all()
    changed = []
    for kr in krs:
        latest = newest_value(
            session, team_id=team_id, kpi_name=kr.kpi_name, scope=kr.kpi_department_id or 0
        )
        if latest is None or kr.current_value == latest.value:
            continue
        before = kr.model_dump()
        kr.current_value = latest.value
        session.add(kr)
        audit.changed(
            session,
            kr,
            before=before,
            team_id=team_id,
            actor_id=actor_id,
            action="key_result.kpi_value",
            entity="key_result",
        )
        changed.append(kr)
    session.flush()
    return changed


def _key_result_to_bind(session: Session, *, team_id: str, user_id: str, is_admin: bool, ref: str):
    """The key result and its department, once the user may change its KPI binding."""
    return key_result_for_head(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        ref=ref,
        action=f"change the KPI binding of KR-{parse_ref(ref, 'key_result')}",
    )


def _save_binding(
    session: Session, kr: KeyResult, *, before: dict, actor_id: str, action: str
) -> KeyResult:
    session.add(kr)
    audit.record(
        session,
        team_id=kr.team_id,
        actor_id=actor_id,
        action=action,
        entity="key_result",
        entity_id=kr.id,
        before=before,
        after=kr,
    )
    session.flush()
    return kr


def bind_key_result(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    is_admin: bool,
    ref: str,
    kpi_name: str,
    scope: str = "company",
    known_names: Iterable[str] = (),
) -> KeyResult:
    """Bind a key result to a KPI in a scope (`department`: the KR's own department, `company`,
    or a department's name); heads of the KR's department or admins. The KR takes the KPI's
    newest value right away."""
    kr, dept = _key_result_to_bind(
        session, team_id=team_id, user_id=user_id, is_admin=is_admin, ref=ref
    )
    names = set(known_names) | set(KNOWN_KPIS)
    if kpi_name not in names:
        raise DomainError(
            f"`{kpi_name}` is not a KPI here. Known KPIs: {', '.join(sorted(names))}."
        )
    scope_text = (scope or "company").strip()
    if scope_text.lower() in ("company", "company-wide", "all", ""):
        scope_id = None
    elif scope_text.lower() == "department":
        scope_id = dept.id if dept else None  # a company objective's KR: company-wide
    else:
        other = find_department(session, team_id=team_id, name=scope_text)
        if other is None:
            raise DomainError(
                f"There is no department `{scope_text}`; use `department`, `company` or a department name."
            )
        scope_id = other.id
    before = kr.model_dump()
    kr.kpi_name, kr.kpi_department_id = kpi_name, scope_id
    latest = newest_value(session, team_id=team_id, kpi_name=kpi_name, scope=scope_id or 0)
    if latest is not None:
        kr.current_value = latest.value
    return _save_binding(session, kr, before=before, actor_id=user_id, action="key_result.bind_kpi")


def unbind_key_result(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, ref: str
) -> KeyResult:
    kr, dept = _key_result_to_bind(
        session, team_id=team_id, user_id=user_id, is_admin=is_admin, ref=ref
    )
    if not kr.kpi_name:
        raise DomainError(f"KR-{kr.number} is not bound to a KPI.")
    before = kr.model_dump()
    kr.kpi_name, kr.kpi_department_id = None, None
    return _save_binding(
        session, kr, before=before, actor_id=user_id, action="key_result.unbind_kpi"
    )


# ---------------------------------------------------------------- queries for `/kpi`


# How far back "before" looks: `/kpi`, App Home and digests show the change since last week.
CHANGE_SPAN = timedelta(days=7)


class _days_before(FunctionElement):
    """`day - n days` as a date, in SQL (SQLite keeps dates as ISO text)."""

    type = Date()
    inherit_cache = True


@compiles(_days_before)
def _days_before_default(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} - {compiler.process(days, **kw)})"


@compiles(_days_before, "sqlite")
def _days_before_sqlite(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '-' || {compiler.process(days, **kw)} || ' days')"


@dataclass
class LatestValue:
    """A KPI's newest value in one scope, and the value it is compared with."""

    kpi_name: str
    scope: int  # 0: company-wide, else the department id
    department: str | None  # None: company-wide
    day: date
    value: float
    unit: str
    direction: str
    previous: float | None  # the newest value at least CHANGE_SPAN older than `day`
    previous_day: date | None

    @property
    def change(self) -> float | None:
        return None if self.previous is None else self.value - self.previous

    @property
    def improved(self) -> bool | None:
        """Whether the change went the KPI's good way; None when there is no change."""
        if not self.change:
            return None
        return (self.change > 0) == (self.direction == "increase")


def _kpi_defs(session: Session, *, team_id: str) -> dict[str, tuple[str, str]]:
    defs = dict(KNOWN_KPIS)
    for k in session.exec(select(Kpi).where(Kpi.team_id == team_id)):
        defs.setdefault(k.name, (k.unit, k.direction))
    return defs


def _newest_and_previous(
    session: Session, *, team_id: str, where: list, since: date | None
) -> tuple[list[KpiValue], dict[tuple[str, int], KpiValue]]:
    """The newest value per (KPI, scope) within `where` (dated on or after `since`), and the one
    before it by (KPI, scope): two statements."""
    newest = (
        select(KpiValue.kpi_name, KpiValue.scope, func.max(KpiValue.day).label("day"))
        .where(*where)
        .group_by(KpiValue.kpi_name, KpiValue.scope)
    )
    if since is not None:
        newest = newest.having(func.max(KpiValue.day) >= since)
    newest = newest.subquery()
    on_newest = (col(KpiValue.kpi_name) == newest.c.kpi_name) & (
        col(KpiValue.scope) == newest.c.scope
    )
    rows = session.exec(
        select(KpiValue).join(newest, on_newest & (col(KpiValue.day) == newest.c.day)).where(*where)
    ).all()
    before = (
        select(KpiValue.kpi_name, KpiValue.scope, func.max(KpiValue.day).label("day"))
        .join(newest, on_newest)
        .where(*where, col(KpiValue.day) <= _days_before(newest.c.day, CHANGE_SPAN.days))
        .group_by(KpiValue.kpi_name, KpiValue.scope)
        .subquery()
    )
    previous = {
        (r.kpi_name, r.scope): r
        for r in session.exec(
            select(KpiValue)
            .join(
                before,
                (col(KpiValue.kpi_name) == before.c.kpi_name)
                & (col(KpiValue.scope) == before.c.scope)
                & (col(KpiValue.day) == before.c.day),
            )
            .where(KpiValue.team_id == team_id)
        ).all()
    }
    return list(rows), previous


def _scope_names(session: Session, *, team_id: str, scopes: set[int]) -> dict[int, str]:
    if not scopes:
        return {}
    return dict(
        session.exec(
            select(Department.id, Department.name).where(
                Department.team_id == team_id, col(Department.id).in_(scopes)
            )
        ).all()
    )


def latest_values(
    session: Session,
    *,
    team_id: str,
    kpi_name: str | None = None,
    scope: int | None = None,
    as_of: date | None = None,
    since: date | None = None,
) -> list[LatestValue]:
    """The newest value per (KPI, scope) and its change since the week before.

    "Before" has one meaning everywhere (App Home, `/kpi`, digests): the newest value dated at
    least CHANGE_SPAN (7 days) before the newest one — the change since last week.
    Filters: one KPI, one scope (0 = company-wide), values dated on or before `as_of`, newest
    values dated on or after `since`. Known KPIs first, then custom ones; company-wide first.
    At most four statements whatever the number of KPIs, departments and values.
    """
    where = [KpiValue.team_id == team_id]
    if kpi_name:
        where.append(KpiValue.kpi_name == kpi_name)
    if scope is not None:
        where.append(KpiValue.scope == scope)
    if as_of is not None:
        where.append(col(KpiValue.day) <= as_of)
    rows, previous = _newest_and_previous(session, team_id=team_id, where=where, since=since)
    names = _scope_names(session, team_id=team_id, scopes={row.scope for row in rows if row.scope})
    defs = _kpi_defs(session, team_id=team_id)
    out = []
    for row in rows:
        prev = previous.get((row.kpi_name, row.scope))
        unit, direction = defs.get(row.kpi_name, ("", "increase"))
        out.append(
            LatestValue(
                kpi_name=row.kpi_name,
                scope=row.scope,
                department=names.get(row.scope) if row.scope else None,
                day=row.day,
                value=row.value,
                unit=unit,
                direction=direction,
                previous=prev.value if prev else None,
                previous_day=prev.day if prev else None,
            )
        )
    order = {name: i for i, name in enumerate(KNOWN_KPIS)}
    out.sort(
        key=lambda v: (
            order.get(v.kpi_name, len(order)),
            v.kpi_name,
            v.scope != 0,
            v.department or "",
        )
    )
    return out


def series(
    session: Session, *, team_id: str, kpi_name: str, since: date | None = None
) -> dict[str, list[tuple[date, float]]]:
    """Values over time per scope label (`company-wide` or the department name), for charts."""
    query = select(KpiValue.scope, KpiValue.day, KpiValue.value).where(
        KpiValue.team_id == team_id, KpiValue.kpi_name == kpi_name
    )
    if since:
        query = query.where(col(KpiValue.day) >= since)
    names = {
        d.id: d.name for d in session.exec(select(Department).where(Department.team_id == team_id))
    }
    out: dict[str, list[tuple[date, float]]] = {}
    for scope, day, value in session.execute(query.order_by(KpiValue.day)):
        label = names.get(scope, f"department {scope}") if scope else "company-wide"
        out.setdefault(label, []).append((day, value))
    return out


def kpi_unit(session: Session, *, team_id: str, kpi_name: str) -> tuple[str, str] | None:
    """(unit, direction) when the KPI is known or defined for the team, else None."""
    return _kpi_defs(session, team_id=team_id).get(kpi_name)


# ---------------------------------------------------------------- sync runs


def last_run(session: Session, *, team_id: str, ok: bool | None = None) -> KpiSyncRun | None:
    query = select(KpiSyncRun).where(KpiSyncRun.team_id == team_id)
    if ok is not None:
        query = query.where(KpiSyncRun.ok == ok)
    return session.exec(query.order_by(col(KpiSyncRun.id).desc()).limit(1)).first()


def record_run(session: Session, *, team_id: str, run: KpiSyncRun) -> KpiSyncRun:
    run.team_id = team_id
    run.finished_at = run.finished_at or utcnow()
    session.add(run)
    session.flush()
    return run


def sync_period(cron: str, now: datetime | None = None) -> timedelta:
    """Time between two consecutive scheduled syncs (for the "stale" warning)."""
    from apscheduler.triggers.cron import CronTrigger

    now = now or utcnow()
    trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    return (second - first) if first and second else timedelta(hours=1)


def is_stale(last_ok_at: datetime | None, *, cron: str, now: datetime | None = None) -> bool:
    """No successful sync within two sync periods (or never)."""
    now = now or utcnow()
    if last_ok_at is None:
        return True
    if last_ok_at.tzinfo is None:
        from datetime import UTC

        last_ok_at = last_ok_at.replace(tzinfo=UTC)
    return now - last_ok_at > 2 * sync_period(cron, now)
