"""Comments on key results: a head or admin's word to the owner, kept with the key result and
shown beside it wherever the key result is shown."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage import audit
from storage.errors import DomainError
from storage.models import KeyResult, KrComment
from storage.objectives import key_result_for_head

COMMENT_MAX = 3000


def add_comment(
    session: Session, *, team_id: str, actor_id: str, is_admin: bool, ref: str, text: str
) -> tuple[KrComment, KeyResult]:
    """Heads of the key result's department and admins comment; the text is 1–3,000 chars."""
    kr, _ = key_result_for_head(
        session,
        team_id=team_id,
        user_id=actor_id,
        is_admin=is_admin,
        ref=ref,
        action="comment on a key result",
    )
    text = (text or "").strip()
    if not text:
        raise DomainError("Write a comment.", field="text")
    if len(text) > COMMENT_MAX:
        raise DomainError(
            f"The comment is {len(text):,} characters; the limit is {COMMENT_MAX:,}.",
            field="text",
        )
    row = KrComment(team_id=team_id, key_result_id=kr.id, author_id=actor_id, text=text)
    session.add(row)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="key_result.comment",
        entity="key_result",
        entity_id=kr.id,
        # The text stays on the comment row (forgetting its author blanks it there).
        after={"comment_id": row.id, "key_result_id": kr.id, "characters": len(text)},
    )
    return row, kr


# Read by every objective view: built once, not on each call.
_COMMENTS_OF = (
    select(KrComment)
    .where(
        KrComment.team_id == bindparam("team_id"),
        col(KrComment.key_result_id).in_(bindparam("ids", expanding=True)),
    )
    .order_by(col(KrComment.created_at).desc(), col(KrComment.id).desc())
)


def recent_comments(
    session: Session, *, team_id: str, key_result_ids: list[int], per_key_result: int = 3
) -> dict[int, list[KrComment]]:
    """The newest comments of each key result, newest first (one statement)."""
    if not key_result_ids:
        return {}
    out: dict[int, list[KrComment]] = defaultdict(list)
    for row in session.scalars(_COMMENTS_OF, {"team_id": team_id, "ids": key_result_ids}):
        if len(out[row.key_result_id]) < per_key_result:
            out[row.key_result_id].append(row)
    return dict(out)
