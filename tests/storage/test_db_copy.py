"""`loyalty db copy` / `db backup` logic and explicit migrations (spec §10), on SQLite and
PostgreSQL: every table copied with its row count checked, non-empty / unreachable / malformed
targets and old sources refused, sequences continue after the copy, SQLite backed up while
written to, two upgrades at once on PostgreSQL serialize."""

from __future__ import annotations

import sqlite3
import threading
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401
import storage.oauth_tables  # noqa: F401
from storage import token_crypto
from storage.db import (
    SchemaNotCurrent,
    alembic_config,
    check_schema_current,
    current_revisions,
    head_revisions,
    make_engine,
    safe_url,
    upgrade,
)
from storage.db_copy import CopyError, backup_sqlite, copy_database
from storage.models import AuditLog, Department, KeyResult, Objective
from tests.conftest import POSTGRES_URL
from tests.support import factories
from tests.support.oauth_helpers import KEY_OLD, seed_installation


def _seed(engine) -> str:
    """A workspace with data, an OAuth installation (encrypted token) and a scheduler job;
    returns the installation's bot token."""
    token = seed_installation(engine)
    support = factories.department(engine, "Support", heads=("U0ALICE01",), members=("U0BOB0001",))
    sales = factories.department(engine, "Sales", heads=("U0BOB0001",), channel="C0SALES001")
    factories.objective(engine, support, title="Delight customers")
    factories.objective(engine, sales, title="Keep customers", owner="U0BOB0001")
    with engine.begin() as conn:  # the scheduler's job table (not a model) is copied too
        conn.execute(
            text("INSERT INTO apscheduler_jobs (id, next_run_time, job_state) VALUES (:i, :n, :s)"),
            {"i": "loyalty.tick", "n": 1.5, "s": b"\x80\x04pickled"},
        )
    return token


def _raw_tokens(engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(f"SELECT bot_token FROM {table} ORDER BY id")).scalars())


def _counts(url: str) -> dict[str, int]:
    eng = create_engine(url)
    try:
        names = inspect(eng).get_table_names()
        with eng.connect() as conn:
            return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}
    finally:
        eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path):
    """An empty database (no tables) to copy into."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests skipped: set LOYALTY_TEST_POSTGRES_URL")
    base = make_url(POSTGRES_URL)
    name = f"loyalty_copy_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def no_key_loaded(monkeypatch):
    """A fresh `loyalty db copy` process: nothing has loaded LOYALTY_ENCRYPTION_KEY."""
    monkeypatch.setattr(token_crypto, "_cipher", None)


@pytest.fixture
def sqlite_source(tmp_path):
    url = f"sqlite:///{tmp_path / 'source.db'}"
    upgrade(url)
    eng = make_engine(url)
    _seed(eng)
    eng.dispose()
    return url


def test_copy_sqlite_to_both_databases_every_table_and_count(sqlite_source, target_url):
    report = copy_database(sqlite_source, target_url)
    source = _counts(sqlite_source)
    target = _counts(target_url)
    assert target == source  # every table, alembic_version included, same row counts
    assert report.rows == {k: v for k, v in source.items() if k != "alembic_version"}
    for table in ("slack_installations", "slack_bots", "apscheduler_jobs", "department"):
        assert table in report.rows
    assert report.rows["objective"] == 2 and report.rows["apscheduler_jobs"] == 1
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= set(report.rows)
    eng = make_engine(target_url)
    try:
        assert current_revisions(eng) == head_revisions()
        with eng.connect() as conn:
            job = conn.execute(text("SELECT job_state FROM apscheduler_jobs")).scalar()
            assert bytes(job) == b"\x80\x04pickled"
            titles = conn.execute(select(Objective.title).order_by(Objective.id)).scalars().all()
            assert titles == ["Delight customers", "Keep customers"]
        # Ids continue after the copied ones (PostgreSQL sequences were reset).
        dept = factories.department(eng, "Billing", heads=("U0CAROL01",), channel="C0BILL0001")
        with eng.connect() as conn:
            assert dept.id == conn.execute(select(func.max(Department.id))).scalar() > 2
            assert conn.execute(select(func.count()).select_from(KeyResult)).scalar() == 2
            assert conn.execute(select(func.count()).select_from(AuditLog)).scalar() > 0
    finally:
        eng.dispose()


def test_copy_from_postgresql_back_to_sqlite(engine, db_url, tmp_path):
    _seed(engine)
    out = f"sqlite:///{tmp_path / 'back.db'}"
    report = copy_database(db_url, out)
    assert _counts(out) == _counts(db_url) and report.rows["objective"] == 2


def test_copy_moves_oauth_tokens_as_ciphertext_without_the_key(
    engine, db_url, tmp_path, no_key_loaded
):
    token = _seed(engine)
    token_crypto._cipher = None  # seeding loaded the key; the copying process has none
    out = f"sqlite:///{tmp_path / 'tokens.db'}"
    report = copy_database(db_url, out)
    assert report.rows["slack_bots"] == 1 and report.rows["slack_installations"] == 1
    target = make_engine(out)
    try:
        for table in ("slack_bots", "slack_installations"):
            stored = _raw_tokens(target, table)
            assert stored == _raw_tokens(engine, table)  # the same ciphertext, not re-encrypted
            assert stored and all(v.startswith("gAAAAA") and token not in v for v in stored)
        # The app on the new database reads the token with the same key.
        from slackapp.oauth import EncryptedInstallationStore

        token_crypto.configure(KEY_OLD)
        bot = EncryptedInstallationStore("1111.2222", target).find_bot(
            enterprise_id=None, team_id="T0TEAMB02"
        )
        assert bot is not None and bot.bot_token == token
    finally:
        target.dispose()


def test_copy_while_the_app_writes_reads_one_snapshot(engine, db_url, tmp_path, monkeypatch):
    """Half-way through the copy (the objectives are being written to the target) the app adds
    a department with an objective, a key result and a check-in: the copy holds none of them —
    not key results whose objective it lacks — and its counts are the snapshot's."""
    from sqlalchemy import event

    import storage.db_copy as db_copy
    from storage.checkins import record_checkin
    from storage.db import session_scope

    _seed(engine)
    before = _counts(db_url)
    out = f"sqlite:///{tmp_path / 'copy.db'}"
    real_make_engine = db_copy.make_engine
    written = []

    def app_writes_meanwhile(_conn, _cursor, statement, *_args):
        if not written and statement.lstrip().upper().startswith("INSERT INTO OBJECTIVE "):
            billing = factories.department(engine, "Billing", heads=("U0CAROL01",),
                                           channel="C0BILL0001")  # fmt: skip
            _, (kr,) = factories.objective(engine, billing, title="New", owner="U0CAROL01")
            with session_scope(engine) as s:
                record_checkin(s, team_id=factories.TEAM, user_id="U0CAROL01", is_admin=False,
                               ref=f"KR-{kr.number}", value=40, confidence=7)  # fmt: skip
            written.append(kr.number)

    def spying_make_engine(url, **kwargs):
        made = real_make_engine(url, **kwargs)
        if url == out:
            event.listen(made, "before_cursor_execute", app_writes_meanwhile)
        return made

    monkeypatch.setattr(db_copy, "make_engine", spying_make_engine)
    report = copy_database(db_url, out)
    assert written  # the app did write during the copy
    copied = _counts(out)
    assert copied == before
    assert report.rows == {k: v for k, v in before.items() if k != "alembic_version"}
    assert _counts(db_url)["keyresult"] == before["keyresult"] + 1  # the write itself stands
    eng = make_engine(out)
    try:
        with eng.connect() as conn:
            assert "Billing" not in conn.execute(select(Department.name)).scalars().all()
    finally:
        eng.dispose()


def test_copy_refuses_a_target_holding_data(sqlite_source, target_url):
    upgrade(target_url)
    eng = make_engine(target_url)
    factories.department(eng, "Existing", heads=("U0ALICE01",))
    eng.dispose()
    before = _counts(target_url)
    with pytest.raises(CopyError, match="already holds data .*department") as err:
        copy_database(sqlite_source, target_url)
    assert "\n" not in err.value.message
    assert _counts(target_url) == before


def test_copy_refuses_malformed_and_unreachable_targets(sqlite_source):
    for bad in ("mysql://u@h/db", "not a url", "postgresql+psycopg://u@h:notaport/db"):
        with pytest.raises(CopyError, match="--to") as err:
            copy_database(sqlite_source, bad)
        assert "\n" not in err.value.message
    with pytest.raises(CopyError, match="Cannot reach the target database") as err:
        copy_database(sqlite_source, "postgresql://loyalty:secret-pw@127.0.0.1:1/loyalty")
    assert "secret-pw" not in err.value.message and "\n" not in err.value.message


def test_copy_refuses_a_source_whose_schema_is_old(tmp_path, target_url):
    source = f"sqlite:///{tmp_path / 'old.db'}"
    script = ScriptDirectory.from_config(alembic_config(source))
    behind = script.get_revision(script.get_current_head()).down_revision
    upgrade(source, behind)
    with pytest.raises(SchemaNotCurrent, match="loyalty db upgrade"):
        copy_database(source, target_url)
    assert "department" not in _counts(target_url)  # the target was not touched


def test_urls_in_messages_hide_the_password():
    shown = safe_url("postgresql+psycopg://loyalty:hunter2@db.example.com:5432/okrs")
    assert "hunter2" not in shown and shown.endswith("@db.example.com:5432/okrs")


def test_schema_check_missing_behind_and_current(tmp_path, db_url):
    missing = tmp_path / "nothing.db"
    with pytest.raises(SchemaNotCurrent, match="No database at"):
        check_schema_current(f"sqlite:///{missing}")
    assert not missing.exists()  # the check never creates a database
    old = f"sqlite:///{tmp_path / 'old.db'}"
    script = ScriptDirectory.from_config(alembic_config(old))
    upgrade(old, script.get_revision(script.get_current_head()).down_revision)
    with pytest.raises(SchemaNotCurrent, match="behind this version.*loyalty db upgrade"):
        check_schema_current(old)
    check_schema_current(db_url)  # the migrated fixture database is current


def test_two_upgrades_at_once_on_postgresql_serialize(target_url):
    if not target_url.startswith("postgresql"):
        pytest.skip("SQLite: one machine, one file; the advisory lock is PostgreSQL's")
    errors: list[BaseException] = []

    def run():
        try:
            upgrade(target_url)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)  # without the lock they block each other
    assert errors == []
    eng = make_engine(target_url)
    try:
        assert current_revisions(eng) == head_revisions()
    finally:
        eng.dispose()


def test_backup_is_consistent_while_the_app_writes(tmp_path, sqlite_source):
    eng = make_engine(sqlite_source)
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            factories.department(eng, f"Team {n}", heads=("U0ALICE01",), channel=f"C0W{n:07d}")
            written.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 3:
            threading.Event().wait(0.01)
        out = tmp_path / "backup.db"
        size = backup_sqlite(sqlite_source, out)
    finally:
        stop.set()
        thread.join(30)
        eng.dispose()
    assert size == out.stat().st_size > 0
    conn = sqlite3.connect(out)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = conn.execute("SELECT count(*) FROM department").fetchone()[0]
    finally:
        conn.close()
    assert 2 + 3 <= copied <= 2 + len(written)
    check_schema_current(f"sqlite:///{out}")  # a restorable, current database
    with pytest.raises(CopyError, match="already exists"):
        backup_sqlite(sqlite_source, out)


def test_backup_of_postgresql_says_pg_dump(engine, db_url, tmp_path):
    if not db_url.startswith("postgresql"):
        pytest.skip("the SQLite case is test_backup_is_consistent_while_the_app_writes")
    with pytest.raises(CopyError, match="pg_dump"):
        backup_sqlite(db_url, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()
