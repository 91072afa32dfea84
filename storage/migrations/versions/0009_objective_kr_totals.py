"""Each objective's own key-result progress, summed by the database (objectivekrtotals, kept by
triggers on keyresult), so rolled-up progress reads one row per objective, not every key result

Revision ID: 0009_objective_kr_totals
Revises: 0008_home_seen
Create Date: 2026-11-29 12:30:00

The share of one key result is storage.progress.progress: (current − baseline) / (target −
baseline) clamped to 0..1, 0 without a value or when target equals baseline. A later migration
that rebuilds keyresult on SQLite (batch_alter_table) drops these triggers and must create them
again (tests/storage/test_kr_totals.py checks the totals after every kind of change).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_objective_kr_totals"
down_revision: str | Sequence[str] | None = "0008_home_seen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RATIO = "(k.current_value - k.baseline) / (k.target - k.baseline)"
SHARE = (
    "CASE WHEN k.current_value IS NULL THEN 0.0 WHEN k.target = k.baseline THEN 0.0 "
    f"WHEN {_RATIO} <= 0.0 THEN 0.0 WHEN {_RATIO} >= 1.0 THEN 1.0 ELSE {_RATIO} END"
)


def _refresh(objective_id: str) -> list[str]:
    """Statements that make `objective_id`'s totals right again (upsert, or delete when it has
    no key result left)."""
    return [
        "INSERT INTO objectivekrtotals (objective_id, share_sum, kr_count) "
        f"SELECT k.objective_id, SUM({SHARE}), COUNT(*) FROM keyresult k "
        f"WHERE k.objective_id = {objective_id} GROUP BY k.objective_id "
        "ON CONFLICT (objective_id) DO UPDATE SET share_sum = excluded.share_sum, "
        "kr_count = excluded.kr_count",
        "DELETE FROM objectivekrtotals WHERE objective_id = "
        f"{objective_id} AND NOT EXISTS (SELECT 1 FROM keyresult k WHERE k.objective_id = "
        f"{objective_id})",
    ]


def upgrade() -> None:
    op.create_table(
        "objectivekrtotals",
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("share_sum", sa.Float(), nullable=False),
        sa.Column("kr_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["objective_id"], ["objective.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("objective_id"),
    )
    op.execute(
        "INSERT INTO objectivekrtotals (objective_id, share_sum, kr_count) "
        f"SELECT k.objective_id, SUM({SHARE}), COUNT(*) FROM keyresult k GROUP BY k.objective_id"
    )
    columns = "current_value, baseline, target, objective_id"
    if op.get_bind().dialect.name == "postgresql":
        body = "\n".join(
            [
                "IF TG_OP <> 'DELETE' THEN",
                *(f"  {s};" for s in _refresh("NEW.objective_id")),
                "END IF;",
                "IF TG_OP = 'DELETE' OR OLD.objective_id <> NEW.objective_id THEN",
                *(f"  {s};" for s in _refresh("OLD.objective_id")),
                "END IF;",
            ]
        )
        op.execute(
            "CREATE FUNCTION objective_kr_totals() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nRETURN NULL;\nEND $$"
        )
        op.execute(
            f"CREATE TRIGGER keyresult_totals AFTER INSERT OR DELETE OR UPDATE OF {columns} "
            "ON keyresult FOR EACH ROW EXECUTE FUNCTION objective_kr_totals()"
        )
        return
    # SQLite's upsert after a SELECT needs that SELECT's WHERE clause (it has one).
    new = "; ".join(_refresh("NEW.objective_id"))
    old = "; ".join(_refresh("OLD.objective_id"))
    op.execute(f"CREATE TRIGGER keyresult_totals_insert AFTER INSERT ON keyresult BEGIN {new}; END")
    op.execute(
        f"CREATE TRIGGER keyresult_totals_update AFTER UPDATE OF {columns} ON keyresult "
        f"BEGIN {new}; {old}; END"
    )
    op.execute(f"CREATE TRIGGER keyresult_totals_delete AFTER DELETE ON keyresult BEGIN {old}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS keyresult_totals ON keyresult")
        op.execute("DROP FUNCTION IF EXISTS objective_kr_totals()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS keyresult_totals_{name}")
    op.drop_table("objectivekrtotals")
