"""Tests of `storage/`: models, migrations, queries and domain rules, on SQLite and PostgreSQL."""
