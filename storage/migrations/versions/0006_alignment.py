"""Alignment and commitments (spec §8): company objectives, objective links, commitments

Revision ID: 0006_alignment
Revises: 0007_insights
Create Date: 2026-11-29 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_alignment"
down_revision: str | Sequence[str] | None = "0007_insights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A company objective has no department.
    with op.batch_alter_table("objective", schema=None) as batch_op:
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=True)

    op.create_table(
        "objectivelink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["objective.id"]),
        sa.ForeignKeyConstraint(["parent_id"], ["objective.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("child_id", "parent_id"),
    )
    with op.batch_alter_table("objectivelink", schema=None) as batch_op:
        batch_op.create_index("ix_objectivelink_team_quarter", ["team_id", "quarter"], unique=False)
        batch_op.create_index(batch_op.f("ix_objectivelink_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objectivelink_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.String(length=32), nullable=False),
        sa.Column("asker_department_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("key_result_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["asker_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["key_result_id"], ["keyresult.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "number"),
    )
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commitment_team_status_due", ["team_id", "status", "due_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_commitment_department_id"), ["department_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitment_department_id"))
        batch_op.drop_index("ix_commitment_team_status_due")
    op.drop_table("commitment")
    with op.batch_alter_table("objectivelink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objectivelink_parent_id"))
        batch_op.drop_index(batch_op.f("ix_objectivelink_child_id"))
        batch_op.drop_index("ix_objectivelink_team_quarter")
    op.drop_table("objectivelink")
    with op.batch_alter_table("objective", schema=None) as batch_op:
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=False)
