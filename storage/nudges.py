"""Nudges: a head asks a key result's owner for an update, at most once per key result per
workspace day (a unique key on the day, so two presses at once still make one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from storage import audit
from storage.models import KeyResult, KrNudge, utcnow
from storage.objectives import key_result_for_head


@dataclass
class NudgeResult:
    nudge: KrNudge  # the day's nudge: this one, or the earlier one when `created` is False
    key_result: KeyResult
    created: bool


def nudge(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str, today: date
) -> NudgeResult:
    kr, _ = key_result_for_head(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        ref=ref,
        action="nudge a key result's owner",
    )
    # INSERT … ON CONFLICT DO NOTHING: of two presses at once, one inserts, the other sees it.
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    created = (
        session.execute(
            insert(KrNudge.__table__)
            .values(
                team_id=team_id,
                key_result_id=kr.id,
                day=today,
                nudged_by=actor_id,
                owner_id=kr.owner_id,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["team_id", "key_result_id", "day"])
            .returning(KrNudge.__table__.c.id)
        ).first()
        is not None
    )
    row = _nudge_on(session, team_id=team_id, key_result_id=kr.id, day=today)
    if not created:
        return NudgeResult(row, kr, False)
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="key_result.nudge",
        entity="key_result",
        entity_id=kr.id,
        after=row,
    )
    return NudgeResult(row, kr, True)


def _nudge_on(session: Session, *, team_id: str, key_result_id: int, day: date) -> KrNudge | None:
    return session.exec(
        select(KrNudge).where(
            KrNudge.team_id == team_id, KrNudge.key_result_id == key_result_id, KrNudge.day == day
        )
    ).first()
