"""Company-wide reviews (review.department_id may be NULL) and where their summary was posted,
what a score was measured against and why it departs from it, and the decisions recorded from
a review summary

Revision ID: 0010_review_decisions
Revises: 0009_objective_kr_totals
Create Date: 2026-12-03 19:30:00

Only review, reviewitem and the new decision table change: keyresult (and the triggers that
keep objectivekrtotals) is left alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_review_decisions"
down_revision: str | Sequence[str] | None = "0009_objective_kr_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPANY_ONLY = sa.text("department_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(
            sa.Column("summary_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("summary_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    # A unique constraint lets any number of NULLs through; one company review per quarter.
    op.create_index(
        "ux_review_company",
        "review",
        ["team_id", "quarter"],
        unique=True,
        sqlite_where=COMPANY_ONLY,
        postgresql_where=COMPANY_ONLY,
    )
    with op.batch_alter_table("reviewitem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measured_progress", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "score_reason",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("reviewitem", schema=None) as batch_op:
        batch_op.alter_column("score_reason", server_default=None)
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("quarter", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["objective_id"], ["objective.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decision_team_quarter", "decision", ["team_id", "quarter"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_decision_team_quarter", table_name="decision")
    op.drop_table("decision")
    with op.batch_alter_table("reviewitem", schema=None) as batch_op:
        batch_op.drop_column("score_reason")
        batch_op.drop_column("measured_progress")
    op.drop_index("ux_review_company", table_name="review")
    # The older schema has no place for company reviews.
    op.execute(
        "DELETE FROM reviewitem WHERE review_id IN (SELECT id FROM review WHERE department_id "
        "IS NULL)"
    )
    op.execute("DELETE FROM review WHERE department_id IS NULL")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("summary_ts")
        batch_op.drop_column("summary_channel")
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=False)
