"""Shared fixtures: every storage-touching test runs on SQLite and on PostgreSQL.

PostgreSQL tests run when LOYALTY_TEST_POSTGRES_URL is set (`.ci/run` sets it); otherwise they
are skipped and the run says so. With LOYALTY_REQUIRE_POSTGRES=1 an unreachable server fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slackapp.settings import Settings
from storage.db import make_engine, upgrade
from tests.fakes.slack_api import FakeSlack
from tests.support.kr_totals import kr_totals_mismatches
from tests.support.slack_driver import SIGNING_SECRET, SlackDriver

POSTGRES_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("LOYALTY_REQUIRE_POSTGRES") == "1"
SKIP_PG_REASON = "PostgreSQL tests skipped: set LOYALTY_TEST_POSTGRES_URL (see README) to run them"

ALICE, BOB, CAROL, ADMIN = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0ADMIN01"


def pytest_report_header(config):
    if POSTGRES_URL:
        return (
            f"PostgreSQL tests: on ({make_url(POSTGRES_URL).render_as_string(hide_password=True)})"
        )
    return SKIP_PG_REASON


def pytest_terminal_summary(terminalreporter):
    if not POSTGRES_URL:
        terminalreporter.write_line(SKIP_PG_REASON, yellow=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database():
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("LOYALTY_REQUIRE_POSTGRES=1 but LOYALTY_TEST_POSTGRES_URL is not set")
        pytest.skip(SKIP_PG_REASON)
    base = make_url(POSTGRES_URL)
    name = f"loyalty_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL unreachable at {base.host}:{base.port}: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    # Whatever the test did to key results, the database kept each objective's totals in step
    # (rolled-up progress reads them; tests/storage/test_kr_totals.py).
    try:
        wrong = kr_totals_mismatches(eng)
    finally:
        eng.dispose()
    assert not wrong, f"objectivekrtotals out of step with the key results: {wrong}"


@pytest.fixture
def slack():
    fake = FakeSlack().start()
    fake.add_user(ALICE, name="Alice")
    fake.add_user(BOB, name="Bob", tz="Europe/Paris")
    fake.add_user(CAROL, name="Carol", tz="Asia/Tokyo")
    fake.add_user(ADMIN, name="Ada Admin", admin=True)
    yield fake
    fake.stop()


@pytest.fixture
def settings(db_url, slack):
    return Settings(
        _env_file=None,
        database_url=db_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
    )


@pytest.fixture
def app(settings, engine):
    from slackapp.app import create_app

    app = create_app(settings, engine)
    yield app
    # Let listeners still running after ack() finish before the fakes and database go away.
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)
    app.deps.home_refresher.cancel_all()


@pytest.fixture
def driver(app, slack):
    return SlackDriver(app.bolt, slack)


@pytest.fixture(autouse=True)
def block_json_matches_slack_sdk(monkeypatch):
    """Every Block Kit object the app turns into JSON in a test is also turned by `slack_sdk`'s
    own `to_dict`: the two must agree, on the dict and on refusing what breaks a limit."""
    from slackapp.blocks import block_json as module

    real = module.block_json

    def checked(obj):
        try:
            expected = obj.to_dict()
        except Exception as exc:
            with pytest.raises(type(exc)):
                real(obj)
            raise
        got = real(obj)
        assert got == expected, f"block_json differs from to_dict for {type(obj).__name__}"
        return got

    # Every module of the app that imported it, so a new one is checked without a list here.
    for user in list(sys.modules.values()):
        name = getattr(user, "__name__", "")
        if name.startswith("slackapp.") and user is not module:
            if getattr(user, "block_json", None) is real:
                monkeypatch.setattr(user, "block_json", checked)
