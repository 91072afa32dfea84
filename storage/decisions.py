"""Decisions leadership records from a quarterly review summary.

No Slack code. Only admins record them; each names its owning department (or the company) and
may start a company objective in the next quarter, owned by whoever recorded it, so the
decision becomes work somebody owns. The objective starts without key results: its owner adds
them (the SMART check applies when they do).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage import audit
from storage.departments import department_by_id
from storage.errors import DomainError, FieldErrors, PermissionDenied
from storage.models import DECISION_MAX, TITLE_MAX, Decision, Objective, utcnow
from storage.quarters import next_quarter, parse_quarter, quarter_bounds
from storage.refs import next_number


def record_decision(
    session: Session,
    *,
    team_id: str,
    actor_id: str,
    is_admin: bool,
    quarter: str,
    text: str,
    department_id: int | None,
    start_objective: bool = False,
) -> Decision:
    """Store a decision about `quarter` (the quarter reviewed). FieldErrors (`text`,
    `department`) on bad input; nothing is written then."""
    if not is_admin:
        raise PermissionDenied("a workspace admin", "record review decisions")
    quarter = parse_quarter(quarter)
    errors: dict[str, str] = {}
    body = (text or "").strip()
    if not body:
        errors["text"] = "Write the decision."
    elif len(body) > DECISION_MAX:
        errors["text"] = f"At most {DECISION_MAX:,} characters (this one has {len(body):,})."
    if department_id is not None:
        try:
            department_by_id(session, team_id=team_id, department_id=department_id)
        except DomainError as exc:  # not this workspace's, or gone
            errors["department"] = exc.message
    if errors:
        raise FieldErrors(errors)

    decision = Decision(
        team_id=team_id,
        quarter=quarter,
        text=body,
        department_id=department_id,
        decided_by=actor_id,
        created_at=utcnow(),
    )
    session.add(decision)
    session.flush()
    objective = _start_company_objective(session, decision) if start_objective else None
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="decision.record",
        entity="decision",
        entity_id=decision.id,
        after={**decision.model_dump(), "objective": objective.model_dump() if objective else None},
    )
    return decision


def _start_company_objective(session: Session, decision: Decision) -> Objective:
    quarter = next_quarter(decision.quarter)
    title = " ".join(decision.text.split())
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    objective = Objective(
        team_id=decision.team_id,
        number=next_number(session, team_id=decision.team_id, kind="objective"),
        department_id=None,
        title=title,
        description=decision.text,
        quarter=quarter,
        owner_id=decision.decided_by,
        due_date=quarter_bounds(quarter)[1],
        created_by=decision.decided_by,
    )
    session.add(objective)
    session.flush()
    decision.objective_id = objective.id
    session.add(decision)
    audit.record(
        session,
        team_id=decision.team_id,
        actor_id=decision.decided_by,
        action="objective.create",
        entity="objective",
        entity_id=objective.id,
        after={**objective.model_dump(), "from_decision": decision.id},
    )
    session.flush()
    return objective


def decisions_for_quarter(session: Session, *, team_id: str, quarter: str) -> list[Decision]:
    """The decisions recorded about a quarter's review, oldest first (the next quarter's first
    leadership digest opens with them)."""
    return list(
        session.exec(
            select(Decision)
            .where(Decision.team_id == team_id, Decision.quarter == parse_quarter(quarter))
            .order_by(Decision.created_at, Decision.id)
        ).all()
    )


def latest_decision_quarter(session: Session, *, team_id: str) -> str | None:
    """The most recent quarter that has decisions (quarters like 2026-Q4 sort as text)."""
    return session.exec(
        select(Decision.quarter)
        .where(Decision.team_id == team_id)
        .order_by(col(Decision.quarter).desc())
        .limit(1)
    ).first()


def objective_numbers(session: Session, *, team_id: str, ids: list[int]) -> dict[int, int]:
    """Objective id → its number (O-n), for the objectives decisions started."""
    if not ids:
        return {}
    return dict(
        session.exec(
            select(Objective.id, Objective.number).where(
                Objective.team_id == team_id, col(Objective.id).in_(ids)
            )
        ).all()
    )
