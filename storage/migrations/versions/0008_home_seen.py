"""When each person last opened or used App Home (Home is republished after writes only for
people who looked at it recently)

Revision ID: 0008_home_seen
Revises: 0006_alignment
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_home_seen"
down_revision: str | Sequence[str] | None = "0006_alignment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slackuser", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("home_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("slackuser", schema=None) as batch_op:
        batch_op.drop_column("home_seen_at")
