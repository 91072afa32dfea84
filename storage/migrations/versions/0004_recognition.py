"""Recognition: praise-draft notification time, team/time index for leaderboards

Revision ID: 0004_recognition
Revises: 0001_initial
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_recognition"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("praisedraft", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("recognition", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recognition_team_created", ["team_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recognition", schema=None) as batch_op:
        batch_op.drop_index("ix_recognition_team_created")
    with op.batch_alter_table("praisedraft", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
