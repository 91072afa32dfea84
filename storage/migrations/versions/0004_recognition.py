"""Recognition: weekly kudos tallies, praise-draft notification time, team/time index

Revision ID: 0004_recognition
Revises: 0003_scheduler
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence
from datetime import UTC, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_recognition"
down_revision: str | Sequence[str] | None = "0003_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recognitionweek",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "week", "user_id", "department_id"),
    )
    with op.batch_alter_table("praisedraft", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("notified_messages", sa.Text(), nullable=True))
    with op.batch_alter_table("recognition", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recognition_team_created", ["team_id", "created_at"], unique=False
        )
    _backfill_weekly_tallies()


def _backfill_weekly_tallies() -> None:
    """Tallies for recognitions stored before this revision (self-contained: no app imports)."""
    recognition = sa.table(
        "recognition",
        sa.column("id", sa.Integer()),
        sa.column("team_id", sa.String()),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    recipient = sa.table(
        "recognitionrecipient",
        sa.column("recognition_id", sa.Integer()),
        sa.column("user_id", sa.String()),
        sa.column("department_id", sa.Integer()),
    )
    week_table = sa.table(
        "recognitionweek",
        sa.column("team_id", sa.String()),
        sa.column("week", sa.Date()),
        sa.column("user_id", sa.String()),
        sa.column("department_id", sa.Integer()),
        sa.column("received", sa.Integer()),
    )
    rows = op.get_bind().execute(
        sa.select(
            recognition.c.team_id,
            recognition.c.created_at,
            recipient.c.user_id,
            recipient.c.department_id,
        ).join(recipient, recipient.c.recognition_id == recognition.c.id)
    )
    counts: dict[tuple, int] = {}
    for team_id, created_at, user_id, department_id in rows:
        day = created_at.astimezone(UTC).date()
        key = (team_id, day - timedelta(days=day.weekday()), user_id, department_id or 0)
        counts[key] = counts.get(key, 0) + 1
    if counts:
        op.bulk_insert(
            week_table,
            [
                {"team_id": t, "week": w, "user_id": u, "department_id": d, "received": n}
                for (t, w, u, d), n in counts.items()
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("recognition", schema=None) as batch_op:
        batch_op.drop_index("ix_recognition_team_created")
    with op.batch_alter_table("praisedraft", schema=None) as batch_op:
        batch_op.drop_column("notified_messages")
        batch_op.drop_column("notified_at")
    op.drop_table("recognitionweek")
