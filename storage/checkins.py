"""Check-ins: parsing `/checkin` text and recording history (spec §2, §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from storage import audit
from storage.errors import DomainError
from storage.models import NOTE_MAX, CheckIn, KeyResult, Objective, utcnow
from storage.numbers import parse_number
from storage.objectives import can_check_in, get_key_result

USAGE = "`/checkin KR-34 45 7/10 optional note` — or `/checkin KR-34 7/10 note` for a KPI-bound key result"
_CONFIDENCE = re.compile(r"^(\d{1,3})\s*/\s*10$")


@dataclass
class CheckinText:
    ref: str
    value_text: str | None
    confidence: int | None
    note: str


def parse_confidence(token: str) -> int:
    m = _CONFIDENCE.match(token.strip())
    if not m:
        raise DomainError(f"`{token}` is not a confidence; write it like `7/10`.")
    n = int(m.group(1))
    if not 1 <= n <= 10:
        raise DomainError(f"Confidence `{token}` is out of range; use 1/10 to 10/10.")
    return n


def parse_checkin_text(text: str) -> CheckinText:
    """`KR-34 45 [7/10] [note…]` or `KR-34 7/10 [note…]`; raises DomainError with the reason."""
    tokens = (text or "").split()
    if not tokens:
        raise DomainError("Say which key result, e.g. `KR-34`.", usage=USAGE)
    ref, rest = tokens[0], tokens[1:]
    value_text: str | None = None
    confidence: int | None = None
    if rest and not _CONFIDENCE.match(rest[0]):
        value_text = rest.pop(0)
        if rest and rest[0] == "%":  # "12 %"
            value_text += " " + rest.pop(0)
    if rest and "/" in rest[0] and rest[0].split("/")[-1] == "10":
        confidence = parse_confidence(rest.pop(0))
    note = " ".join(rest)
    return CheckinText(ref=ref, value_text=value_text, confidence=confidence, note=note)


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
    kr = get_key_result(session, team_id=team_id, ref=ref)
    can_check_in(session, team_id=team_id, user_id=user_id, is_admin=is_admin, kr=kr)
    obj = session.get(Objective, kr.objective_id)
    if obj.status != "active":
        raise DomainError(f"KR-{kr.number} belongs to O-{obj.number}, which is {obj.status}.")
    if kr.kpi_name and value is not None:
        raise DomainError(
            f"KR-{kr.number} takes its value from the KPI `{kr.kpi_name}`; check in with "
            f"confidence and a note only, e.g. `/checkin KR-{kr.number} 7/10 going well`."
        )
    if not kr.kpi_name and value is None:
        raise DomainError(f"KR-{kr.number} needs a value, e.g. `/checkin KR-{kr.number} 45 7/10`.")
    if confidence is None:
        confidence = kr.last_confidence
    if confidence is None:
        raise DomainError(
            f"KR-{kr.number} has no confidence yet; add one like `7/10` "
            "(1–3 off track, 4–6 at risk, 7–10 on track)."
        )
    if not 1 <= confidence <= 10:
        raise DomainError(f"Confidence {confidence} is out of range; use 1 to 10.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(f"The note is {len(note):,} characters; the limit is {NOTE_MAX:,}.")
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


def checkin_from_text(
    session: Session, *, team_id: str, user_id: str, is_admin: bool, text: str
) -> tuple[CheckIn, KeyResult]:
    parsed = parse_checkin_text(text)
    value = parse_number(parsed.value_text) if parsed.value_text is not None else None
    return record_checkin(
        session,
        team_id=team_id,
        user_id=user_id,
        is_admin=is_admin,
        ref=parsed.ref,
        value=value,
        confidence=parsed.confidence,
        note=parsed.note,
    )


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
