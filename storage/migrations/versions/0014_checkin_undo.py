"""Undo: where a recognition was posted, so undoing the kudos can take the post down

Revision ID: 0014_checkin_undo
Revises: 0013_customer_feedback
Create Date: 2026-12-03 20:10:00

Two nullable columns on `recognition` (ALTER TABLE ADD COLUMN on both databases).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014_checkin_undo"
down_revision: str | Sequence[str] | None = "0013_customer_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("recognition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_channel_id", _str(length=32), nullable=True))
        batch_op.add_column(sa.Column("post_ts", _str(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recognition", schema=None) as batch_op:
        batch_op.drop_column("post_ts")
        batch_op.drop_column("post_channel_id")
