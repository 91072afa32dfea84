"""Alembic owns the schema: migrations must produce exactly the models' schema on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import alembic_config


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"


def test_database_is_at_every_head(engine, db_url):
    script = ScriptDirectory.from_config(alembic_config(db_url))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    assert current == set(script.get_heads())
