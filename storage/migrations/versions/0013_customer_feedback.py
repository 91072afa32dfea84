"""Customer voice: feedback, routing rules, feedback settings, follow-ups F-n, each
department's follow-up behavior and the per-workspace webhook token (encrypted, TEXT)

Revision ID: 0013_customer_feedback
Revises: 0012_checkin_blockers
Create Date: 2026-12-03 19:10:58
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013_customer_feedback"
down_revision: str | Sequence[str] | None = "0012_checkin_blockers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedbackwebhooktoken",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
        sa.UniqueConstraint("token_hash"),
        info={"credentials": True},
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("customer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("customer_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("staff", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("praise_checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "source", "source_id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_team_customer", ["team_id", "customer_key"], unique=False
        )

    op.create_table(
        "feedbackroute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("keyword", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("keyword_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "keyword_key"),
    )
    with op.batch_alter_table("feedbackroute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedbackroute_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "feedbacksettings",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("default_department_id", sa.Integer(), nullable=True),
        sa.Column("followup_hours", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_department_id"],
            ["department.id"],
        ),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("first_contact_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("recovered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("heads_notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("heads_messages", sa.Text(), nullable=True),
        sa.Column("overdue_notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "number"),
    )
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_feedback_id"), ["feedback_id"], unique=False)
        batch_op.create_index("ix_followup_team_received", ["team_id", "received_at"], unique=False)
        batch_op.create_index(
            "ix_followup_team_status_due", ["team_id", "status", "due_at"], unique=False
        )

    op.create_table(
        "feedbackfollowupbehavior",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("behavior_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["behavior_id"],
            ["behavior.id"],
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "department_id"),
    )


def downgrade() -> None:
    op.drop_table("feedbackfollowupbehavior")
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_team_status_due")
        batch_op.drop_index("ix_followup_team_received")
        batch_op.drop_index(batch_op.f("ix_followup_feedback_id"))

    op.drop_table("followup")
    op.drop_table("feedbacksettings")
    with op.batch_alter_table("feedbackroute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedbackroute_department_id"))

    op.drop_table("feedbackroute")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_team_customer")

    op.drop_table("feedback")
    op.drop_table("feedbackwebhooktoken")
