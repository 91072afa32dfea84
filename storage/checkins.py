"""Check-ins: recording them and their history (spec §2)."""

from __future__ import annotations

from sqlmodel import Session, select

from storage import audit
from storage.errors import DomainError
from storage.models import NOTE_MAX, CheckIn, KeyResult, utcnow
from storage.objectives import can_check_in, get_key_result_and_objective


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
) -> tuple[CheckIn, KeyResult]:
    kr, obj = get_key_result_and_objective(session, team_id=team_id, ref=ref)
    can_check_in(session, team_id=team_id, user_id=user_id, is_admin=is_admin, kr=kr)
    if obj.status != "active":
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
    before = kr.model_dump()
    row = CheckIn(
        team_id=team_id,
        key_result_id=kr.id,
        author_id=user_id,
        value=value,
        confidence=confidence,
        note=note,
    )
    session.add(row)
    if value is not None:
        kr.current_value = value
    kr.last_confidence = confidence
    kr.last_checkin_at = utcnow()
    session.add(kr)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=user_id,
        action="checkin.create",
        entity="key_result",
        entity_id=kr.id,
        before=before,
        after={**kr.model_dump(), "checkin_id": row.id},
    )
    return row, kr


def history(
    session: Session, *, team_id: str, key_result_id: int, limit: int = 10
) -> list[CheckIn]:
    return list(
        session.exec(
            select(CheckIn)
            .where(CheckIn.team_id == team_id, CheckIn.key_result_id == key_result_id)
            .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
            .limit(limit)
        ).all()
    )
