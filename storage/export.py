"""`loyalty export`: every table of one team as UTF-8 CSV, plus a manifest of row counts."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (all tables on the metadata)
from storage.errors import DomainError


# Tables without a team_id of their own are not team data (e.g. OAuth state); stored Slack
# credentials (info["credentials"], storage/oauth_tables.py) are never exported.
def team_tables():
    return [
        t
        for t in SQLModel.metadata.sorted_tables
        if "team_id" in t.c and not t.info.get("credentials")
    ]


def only_team(engine: Engine) -> str:
    from storage.models import Team

    with engine.connect() as conn:
        teams = [r[0] for r in conn.execute(select(Team.team_id))]
    if len(teams) != 1:
        raise DomainError(
            "Say which team with --team (teams here: " + (", ".join(teams) or "none") + ")."
        )
    return teams[0]


FORMULA_STARTS = ("=", "+", "-", "@")


def _safe_cell(value):
    """Text a spreadsheet would run as a formula (a customer's comment starting with `=`) is
    prefixed with `'`; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_team(engine: Engine, *, team_id: str, out_dir: str | Path) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"team_id": team_id, "exported_at": datetime.now(UTC).isoformat(), "tables": {}}
    # One read transaction so the files agree with each other.
    with engine.connect() as conn, conn.begin():
        for table in team_tables():
            cols = [c.name for c in table.c]
            rows = conn.execute(
                select(table).where(table.c.team_id == team_id).order_by(*table.primary_key.columns)
            )
            count = 0
            with (out / f"{table.name}.csv").open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(cols)
                for row in rows:
                    writer.writerow([_safe_cell(v) for v in row])
                    count += 1
            manifest["tables"][table.name] = count
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest
