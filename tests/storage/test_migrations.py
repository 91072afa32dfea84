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
    assert len(script.get_heads()) == 1, "several migration heads: chain or merge them"


def test_migrations_downgrade_to_base_and_back(tmp_path):
    """Every migration can be undone and redone (on a scratch SQLite file)."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "heads")
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "heads")
    from sqlalchemy import create_engine, inspect

    eng = create_engine(url)
    tables = set(inspect(eng).get_table_names())
    eng.dispose()
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
