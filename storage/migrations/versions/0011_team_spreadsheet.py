"""Each workspace's own KPI spreadsheet (multi-workspace mode), set in `/okr setup`

Revision ID: 0011_team_spreadsheet
Revises: 0010_review_decisions
Create Date: 2026-12-03 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_team_spreadsheet"
down_revision: str | Sequence[str] | None = "0010_review_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kpi_spreadsheet", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("kpi_spreadsheet")
