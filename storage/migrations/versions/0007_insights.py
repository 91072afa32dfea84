"""Insights and guardrails (spec §9): stale days setting, away periods, KPI guardrails,
behavior-to-KPI links

Revision ID: 0007_insights
Revises: 0005_oauth
Create Date: 2026-11-29 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_insights"
down_revision: str | Sequence[str] | None = "0005_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stale_days", sa.Integer(), nullable=False, server_default="14")
        )
    op.create_table(
        "useraway",
        sa.Column("team_id", _str(length=32), nullable=False),
        sa.Column("user_id", _str(length=32), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("set_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    op.create_table(
        "kpiguardrail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(length=32), nullable=False),
        sa.Column("kpi_name", _str(length=64), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("op", _str(length=8), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("state", _str(length=16), nullable=False),
        sa.Column("evaluated_day", sa.Date(), nullable=True),
        sa.Column("evaluated_value", sa.Float(), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_by", _str(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "kpi_name", "scope"),
    )
    op.create_table(
        "behaviorkpilink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(length=32), nullable=False),
        sa.Column("behavior_id", sa.Integer(), nullable=False),
        sa.Column("kpi_name", _str(length=64), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("created_by", _str(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["behavior_id"], ["behavior.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "behavior_id"),
    )


def downgrade() -> None:
    op.drop_table("behaviorkpilink")
    op.drop_table("kpiguardrail")
    op.drop_table("useraway")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("stale_days")
