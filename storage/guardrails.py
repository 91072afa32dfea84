"""KPI guardrails: a KPI that should stay above or below a threshold.

Healthy means value ≥ threshold for `above`, value ≤ threshold for `below`, judged on the
KPI's newest value (latest date) in its scope. Each guardrail stores the state it was last
evaluated in and a transition counter; evaluation after a sync changes the state only when the
newest value crosses the threshold, so re-syncing the same data changes nothing, and each
transition (healthy→unhealthy = alert, unhealthy→healthy = recovery) has one number under which
its message is posted exactly once.

Flapping is bounded by construction: only the newest value is evaluated, so a guardrail changes
state at most once per sync, and a message is sent only for an actual change of state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, update
from sqlmodel import Session, col, select

from storage import audit
from storage.departments import require_head
from storage.errors import FieldErrors, PermissionDenied
from storage.kpis import check_kpi
from storage.models import (
    Department,
    GuardrailState,
    KeyResult,
    KpiGuardrail,
    KpiValue,
    Objective,
    ObjectiveStatus,
    utcnow,
)

ABOVE, BELOW = "above", "below"
OPS = (ABOVE, BELOW)
ALERT, RECOVERY = "alert", "recovery"


def is_healthy(op: str, threshold: float, value: float) -> bool:
    return value >= threshold if op == ABOVE else value <= threshold


def state_for(op: str, threshold: float, value: float) -> GuardrailState:
    return GuardrailState.HEALTHY if is_healthy(op, threshold, value) else GuardrailState.UNHEALTHY


def _newest(session: Session, *, team_id: str, kpi_name: str, scope: int):
    return session.execute(
        select(KpiValue.day, KpiValue.value)
        .where(KpiValue.team_id == team_id, KpiValue.kpi_name == kpi_name, KpiValue.scope == scope)
        .order_by(col(KpiValue.day).desc())
        .limit(1)
    ).first()


def _require_role(session, *, team_id, user_id, is_admin, department, kpi_name) -> None:
    action = f"set guardrails for `{kpi_name}`"
    if department is None:
        if not is_admin:
            raise PermissionDenied("a workspace admin", f"{action} company-wide")
        return
    require_head(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        department=department,
        action=f"{action} in {department.name}",
    )


def set_guardrail(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    kpi_name: str,
    op: str,
    threshold: float,
    department: Department | None,
    known_kpis: Iterable[str],
) -> KpiGuardrail:
    """Create or replace the guardrail; its state starts from the KPI's newest value (no alert
    for the state it is already in)."""
    check_kpi(kpi_name, known_kpis)
    if op not in OPS:
        raise FieldErrors({"op": f"`{op}` is not a direction; use above or below."})
    _require_role(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department=department,
        kpi_name=kpi_name,
    )
    scope = department.id if department else 0
    row = _find(session, team_id=team_id, kpi_name=kpi_name, scope=scope)
    before = row.model_dump() if row else None
    if row is None:
        row = KpiGuardrail(
            team_id=team_id,
            kpi_name=kpi_name,
            scope=scope,
            department_id=department.id if department else None,
            op=op,
            threshold=threshold,
            created_by=actor_id,
        )
    row.op, row.threshold, row.created_by = op, threshold, actor_id
    newest = _newest(session, team_id=team_id, kpi_name=kpi_name, scope=scope)
    if newest is None:
        row.state, row.evaluated_day, row.evaluated_value = GuardrailState.UNKNOWN, None, None
    else:
        row.evaluated_day, row.evaluated_value = newest.day, newest.value
        row.state = state_for(op, threshold, newest.value)
    audit.saved(
        session,
        row,
        team_id=team_id,
        actor_id=actor_id,
        action="kpi_guardrail.set",
        entity="kpi_guardrail",
        before=before,
    )
    return row


def _find(session: Session, *, team_id: str, kpi_name: str, scope: int) -> KpiGuardrail | None:
    return session.exec(
        select(KpiGuardrail).where(
            KpiGuardrail.team_id == team_id,
            KpiGuardrail.kpi_name == kpi_name,
            KpiGuardrail.scope == scope,
        )
    ).first()


def remove_guardrail(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    kpi_name: str,
    department: Department | None,
    known_kpis: Iterable[str],
) -> KpiGuardrail:
    check_kpi(kpi_name, known_kpis)
    _require_role(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        department=department,
        kpi_name=kpi_name,
    )
    scope = department.id if department else 0
    row = _find(session, team_id=team_id, kpi_name=kpi_name, scope=scope)
    if row is None:
        where = department.name if department else "company-wide"
        raise FieldErrors({"kpi": f"`{kpi_name}` has no guardrail ({where})."})
    audit.removed(
        session,
        row,
        team_id=team_id,
        actor_id=actor_id,
        action="kpi_guardrail.remove",
        entity="kpi_guardrail",
    )
    return row


def guardrails(session: Session, *, team_id: str) -> list[KpiGuardrail]:
    return list(
        session.exec(
            select(KpiGuardrail)
            .where(KpiGuardrail.team_id == team_id)
            .order_by(KpiGuardrail.kpi_name, KpiGuardrail.scope)
        ).all()
    )


@dataclass(frozen=True)
class Transition:
    guardrail_id: int
    kpi_name: str
    scope: int
    op: str
    threshold: float
    kind: str  # alert | recovery
    seq: int  # the guardrail's transition number: the message's run key
    day: date
    value: float


def evaluate(session: Session, *, team_id: str, now: datetime | None = None) -> list[Transition]:
    """Compare every guardrail with its KPI's newest value; record state changes.

    At most three statements whatever the number of values synced: the guardrails, the newest
    value of each guarded (KPI, scope), and one batched UPDATE of those that changed. The UPDATE
    only applies where `changes` is still what was read, so a second process evaluating the
    same data concurrently changes nothing twice (and the message run key is the same anyway).
    """
    rails = session.execute(
        select(
            KpiGuardrail.id,
            KpiGuardrail.kpi_name,
            KpiGuardrail.scope,
            KpiGuardrail.op,
            KpiGuardrail.threshold,
            KpiGuardrail.state,
            KpiGuardrail.changes,
            KpiGuardrail.evaluated_day,
            KpiGuardrail.evaluated_value,
        ).where(KpiGuardrail.team_id == team_id)
    ).all()
    if not rails:
        return []
    latest = _newest_values(session, team_id=team_id, names={r.kpi_name for r in rails})
    now = now or utcnow()
    changed, params = [], []
    for r in rails:
        found = latest.get((r.kpi_name, r.scope))
        if found is None:
            continue
        day, value = found
        state = state_for(r.op, r.threshold, value)
        if state == r.state and (day, value) == (r.evaluated_day, r.evaluated_value):
            continue
        transition = state != r.state and not (
            r.state == GuardrailState.UNKNOWN and state == GuardrailState.HEALTHY
        )
        seq = r.changes + 1 if transition else r.changes
        params.append(
            {
                "g_id": r.id,
                "g_seen": r.changes,
                "g_state": state,
                "g_changes": seq,
                "g_day": day,
                "g_value": value,
                "g_at": now if transition else None,
            }
        )
        if transition:
            changed.append(_transition(r, state, seq=seq, day=day, value=value))
    if params:
        _store_evaluations(session, params)
    return changed


def _newest_values(
    session: Session, *, team_id: str, names: set[str]
) -> dict[tuple[str, int], tuple[date, float]]:
    """(day, value) of the newest value of each (KPI, scope) of the KPIs named: one statement."""
    newest = (
        select(KpiValue.kpi_name, KpiValue.scope, func.max(KpiValue.day).label("day"))
        .where(KpiValue.team_id == team_id, col(KpiValue.kpi_name).in_(names))
        .group_by(KpiValue.kpi_name, KpiValue.scope)
        .subquery()
    )
    return {
        (name, scope): (day, value)
        for name, scope, day, value in session.execute(
            select(KpiValue.kpi_name, KpiValue.scope, KpiValue.day, KpiValue.value).join(
                newest,
                and_(
                    KpiValue.team_id == team_id,
                    KpiValue.kpi_name == newest.c.kpi_name,
                    KpiValue.scope == newest.c.scope,
                    KpiValue.day == newest.c.day,
                ),
            )
        )
    }


def _transition(r, state: str, *, seq: int, day: date, value: float) -> Transition:
    return Transition(
        guardrail_id=r.id,
        kpi_name=r.kpi_name,
        scope=r.scope,
        op=r.op,
        threshold=r.threshold,
        kind=ALERT if state == GuardrailState.UNHEALTHY else RECOVERY,
        seq=seq,
        day=day,
        value=value,
    )


def _store_evaluations(session: Session, params: list[dict]) -> None:
    """One batched UPDATE, applied only where `changes` is still what was read."""
    table = KpiGuardrail.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("g_id"), table.c.changes == bindparam("g_seen"))
        .values(
            state=bindparam("g_state"),
            changes=bindparam("g_changes"),
            evaluated_day=bindparam("g_day"),
            evaluated_value=bindparam("g_value"),
            changed_at=func.coalesce(bindparam("g_at"), table.c.changed_at),
        ),
        params,
        execution_options={"synchronize_session": False},
    )


def bound_key_results(
    session: Session, *, team_id: str, kpi_name: str, scope: int
) -> list[KeyResult]:
    """Key results of active objectives bound to this KPI and scope."""
    q = (
        select(KeyResult)
        .join(Objective, col(Objective.id) == col(KeyResult.objective_id))
        .where(
            KeyResult.team_id == team_id,
            KeyResult.kpi_name == kpi_name,
            Objective.status == ObjectiveStatus.ACTIVE,
        )
        .order_by(KeyResult.number)
    )
    q = q.where(
        col(KeyResult.kpi_department_id).is_(None)
        if scope == 0
        else KeyResult.kpi_department_id == scope
    )
    return list(session.exec(q).all())


def changed_since(session: Session, *, team_id: str, since: datetime) -> list[KpiGuardrail]:
    """Guardrails whose health changed at or after `since` (each has changed at least once)."""
    return list(
        session.exec(
            select(KpiGuardrail).where(
                KpiGuardrail.team_id == team_id,
                KpiGuardrail.changes > 0,
                col(KpiGuardrail.changed_at) >= since,
            )
        ).all()
    )
