"""Rituals that close the loop: a check-in's blocker, comments on key results, nudges

Revision ID: 0012_checkin_blockers
Revises: 0011_team_spreadsheet
Create Date: 2026-12-03 19:30:00

Only `checkin` gains a column (ALTER TABLE ADD COLUMN on both databases); `keyresult` is left
alone so its totals triggers (0009) stay in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_checkin_blockers"
down_revision: str | Sequence[str] | None = "0011_team_spreadsheet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocker", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "krcomment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(length=32), nullable=False),
        sa.Column("key_result_id", sa.Integer(), nullable=False),
        sa.Column("author_id", _str(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_result_id"], ["keyresult.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_krcomment_team_id", "krcomment", ["team_id"])
    op.create_index("ix_krcomment_kr_created", "krcomment", ["key_result_id", "created_at"])
    op.create_table(
        "krnudge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(length=32), nullable=False),
        sa.Column("key_result_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("nudged_by", _str(length=32), nullable=False),
        sa.Column("owner_id", _str(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_result_id"], ["keyresult.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "key_result_id", "day"),
    )
    op.create_index("ix_krnudge_key_result_id", "krnudge", ["key_result_id"])


def downgrade() -> None:
    op.drop_index("ix_krnudge_key_result_id", table_name="krnudge")
    op.drop_table("krnudge")
    op.drop_index("ix_krcomment_kr_created", table_name="krcomment")
    op.drop_index("ix_krcomment_team_id", table_name="krcomment")
    op.drop_table("krcomment")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_column("blocker")
