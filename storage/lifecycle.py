"""A team's data lifecycle: install, uninstall, retention purge, and forgetting one person.

- `mark_installed` / `mark_uninstalled`: Team.uninstalled_at is the single switch jobs read
  (`active_team_ids`, `is_team_active`); a reinstall within the retention period clears it.
- `purge_team`: every row of every table that carries the team's `team_id` (tables other
  features add are covered without changes here), stored tokens included.
- `forget_user`: one person's personal data removed (their user cache row, memberships, the
  notes they wrote, in the tables and in audit-log payloads) or pseudonymised (their id, everywhere it appears, becomes one random id of
  the same length), so counts, values and history stay; audit-logged without the original id.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import String, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from storage import audit
from storage.db import session_scope
from storage.errors import DomainError, NotFound
from storage.models import (
    DepartmentMember,
    SlackUser,
    Team,
    utcnow,
)
from storage.oauth_tables import slack_bots
from storage.teams import get_or_create_team
from storage.token_crypto import EncryptedText

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
TEAM_ID = re.compile(r"^[TE][A-Z0-9]{2,31}$")
SYSTEM_ACTOR = "system"


def personal_text_columns():
    """(table, owner column, text column) for every PERSONAL_TEXT_KEYS field a team table holds
    (check-in and behavior-log notes, commitment reasons and notes, praise staff names, and any
    such column a later table adds)."""
    return [
        (table, table.c[owner], table.c[key])
        for table in team_tables_for_purge()
        for key, owners in audit.PERSONAL_TEXT_KEYS.items()
        if key in table.c
        for owner in owners
        if owner in table.c
    ]


def team_tables_for_purge():
    """Every table with a team_id column, children before parents (foreign keys)."""
    return [t for t in reversed(SQLModel.metadata.sorted_tables) if "team_id" in t.c]


# ---- install state ----------------------------------------------------------------------------
def mark_installed(engine: Engine, *, team_id: str, name: str | None = None) -> None:
    with session_scope(engine) as session:
        team = get_or_create_team(session, team_id=team_id)
        was_uninstalled = team.uninstalled_at is not None
        if name:
            team.name = name[:200]
        team.uninstalled_at = None
        session.add(team)
        if was_uninstalled:
            audit.record(
                session,
                team_id=team_id,
                actor_id=SYSTEM_ACTOR,
                action="team.reinstall",
                entity="team",
            )


def mark_uninstalled(session: Session, *, team_id: str, now: datetime | None = None) -> Team:
    """Idempotent: a repeated or second uninstall event keeps the first time."""
    team = get_or_create_team(session, team_id=team_id)
    if team.uninstalled_at is None:
        team.uninstalled_at = now or utcnow()
        session.add(team)
        audit.record(
            session,
            team_id=team_id,
            actor_id=SYSTEM_ACTOR,
            action="team.uninstall",
            entity="team",
            after={"uninstalled_at": team.uninstalled_at},
        )
    return team


def reactivate_if_uninstalled(session: Session, *, team_id: str) -> bool:
    """Proof that the app is installed there again (a person's request, or the team's token
    working in auth.test) makes an uninstalled team active. Conditional, so processes noticing
    it at once record one reinstall."""
    changed = session.execute(
        update(Team)
        .where(Team.team_id == team_id, Team.uninstalled_at.is_not(None))
        .values(uninstalled_at=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not changed:
        return False
    audit.record(
        session, team_id=team_id, actor_id=SYSTEM_ACTOR, action="team.reinstall", entity="team"
    )
    return True


def bot_enterprise_id(engine: Engine, *, client_id: str, team_id: str) -> str | None:
    """The Enterprise Grid org id on the team's newest bot installation (None outside a grid).

    Requests name both ids and the installation store matches both; work that starts from a
    team id alone (jobs, CLI commands) looks the enterprise id up here first."""
    bots = slack_bots.c
    with engine.connect() as conn:
        return conn.execute(
            select(bots.enterprise_id)
            .where(
                bots.client_id == client_id,
                bots.team_id == team_id,
                bots.bot_token.is_not(None),
            )
            .order_by(bots.installed_at.desc(), bots.id.desc())
            .limit(1)
        ).scalar()


def active_team_ids(session: Session) -> list[str]:
    """Teams jobs should run for: every known team that is not uninstalled."""
    rows = session.execute(
        select(Team.team_id).where(Team.uninstalled_at.is_(None)).order_by(Team.team_id)
    )
    return [r[0] for r in rows]


def is_team_active(session: Session, *, team_id: str) -> bool:
    """False only for a team marked uninstalled (an unknown team is a fresh install)."""
    team = session.get(Team, team_id)
    return team is None or team.uninstalled_at is None


def expired_team_ids(session: Session, *, now: datetime, retention_days: int) -> list[str]:
    cutoff = now - timedelta(days=retention_days)
    rows = session.execute(
        select(Team.team_id).where(Team.uninstalled_at.is_not(None), Team.uninstalled_at <= cutoff)
    )
    return [r[0] for r in rows]


# ---- deletion ---------------------------------------------------------------------------------
def purge_team(session: Session, *, team_id: str) -> dict[str, int]:
    """Delete every row of the team, in every table; returns rows deleted per table."""
    counts: dict[str, int] = {}
    for table in team_tables_for_purge():
        result = session.execute(delete(table).where(table.c.team_id == team_id))
        if result.rowcount:
            counts[table.name] = result.rowcount
    return counts


def _is_plain_text(col) -> bool:
    """String/Text columns, and SQLModel's AutoString; not encrypted ones (ciphertext)."""
    if isinstance(col.type, EncryptedText):
        return False
    return isinstance(getattr(col.type, "impl", col.type), String) or isinstance(col.type, String)


def _pseudonym(user_id: str) -> str:
    # Same length as the id it replaces, so text columns with a size limit never overflow.
    return ("UX" + secrets.token_hex(16).upper())[: len(user_id)]


def _pseudonymise(
    session: Session,
    table,
    *,
    team_id: str,
    needles: tuple[str, str | None],
    to: str,
    count: Callable[[str, int], None],
) -> None:
    """In every plain string column of `table` long enough to hold a user id, replace the
    user id (`needles[0]`) as a whole value, then it and the email wherever they occur."""
    user_id, email = needles
    for col in table.c:
        if col.name == "team_id" or not _is_plain_text(col):
            continue
        limit = getattr(getattr(col.type, "impl", col.type), "length", None) or getattr(
            col.type, "length", None
        )
        if limit is not None and limit < len(user_id):
            continue  # too short to hold a user id (e.g. a quarter like 2026-Q4)
        exact = session.execute(
            update(table).where(table.c.team_id == team_id, col == user_id).values({col.name: to})
        ).rowcount
        count(f"{table.name}.{col.name}", exact)
        for needle in [n for n in (user_id, email) if n and (limit is None or limit >= len(n))]:
            contained = session.execute(
                update(table)
                .where(table.c.team_id == team_id, col.contains(needle, autoescape=True))
                .values({col.name: func.replace(col, needle, to)})
            ).rowcount
            count(f"{table.name}.{col.name}", contained)


def forget_user(
    session: Session, *, team_id: str, user_id: str, actor_id: str = SYSTEM_ACTOR
) -> dict:
    """Remove or pseudonymise one person's data in one team; returns what changed."""
    if not USER_ID.match(user_id or ""):
        raise DomainError(f"`{user_id}` is not a Slack user id (like U012ABCDEF).")
    if session.get(Team, team_id) is None:
        raise NotFound(f"No team {team_id} here.")
    pseudonym = _pseudonym(user_id)
    cached = session.get(SlackUser, (team_id, user_id))
    email = cached.email if cached is not None else None
    changed: dict[str, int] = {}

    def count(name: str, n: int) -> None:
        if n:
            changed[name] = changed.get(name, 0) + n

    # 1. Rows that only describe the person.
    count(
        "slackuser",
        session.execute(
            delete(SlackUser).where(SlackUser.team_id == team_id, SlackUser.user_id == user_id)
        ).rowcount,
    )
    count(
        "departmentmember",
        session.execute(
            delete(DepartmentMember).where(
                DepartmentMember.team_id == team_id, DepartmentMember.user_id == user_id
            )
        ).rowcount,
    )
    # 2. Free text they wrote (or that names them), in the tables and in audit payloads.
    for table, owner, text in personal_text_columns():
        count(
            f"{table.name}.{text.name}",
            session.execute(
                update(table)
                .where(table.c.team_id == team_id, owner == user_id, text != "")
                .values({text.name: ""})
            ).rowcount,
        )
    count("auditlog.payload", audit.forget_personal_text(session, team_id=team_id, user_id=user_id))
    # 3. Every other mention of them: ids (and their email) in any string column of any team
    #    table, including tables added by other features, become the pseudonym.
    for table in team_tables_for_purge():
        _pseudonymise(
            session, table, team_id=team_id, needles=(user_id, email), to=pseudonym, count=count
        )
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="user.forget",
        entity="user",
        after={"pseudonym": pseudonym, "rows_changed": sum(changed.values())},
    )
    return {"pseudonym": pseudonym, "changed": changed}
