"""Whether the database answers, for the health check."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine


def check_database(engine: Engine) -> None:
    """Run the cheapest query there is; raises whatever the driver raises when it cannot."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
