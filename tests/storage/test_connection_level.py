"""The storage functions that work on a connection of their own rather than a unit of work: run
claims and results, event ids, the advisory lock, stored tokens and the health check. On SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from storage import token_crypto
from storage.event_log import first_delivery, forget_events_before
from storage.health import check_database
from storage.job_runs import claim_run, run_status, set_run_status
from storage.locks import advisory_unlock, holds_advisory_lock, try_advisory_lock
from storage.models import JobRunStatus, ProcessedEvent
from storage.oauth_tables import slack_bots, slack_installations
from storage.oauth_tokens import delete_team_tokens, delete_user_tokens

KEY = {"team_id": "T1", "job": "digest", "scope": "dept:1", "period": "2026-W48"}
NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def test_a_run_is_claimed_once_and_again_only_after_failing(engine):
    assert claim_run(engine, **KEY, now=NOW) is True
    assert claim_run(engine, **KEY, now=NOW) is False
    assert run_status(engine, **KEY) == JobRunStatus.STARTED
    set_run_status(engine, **KEY, status=JobRunStatus.FAILED, detail="channel_not_found")
    assert claim_run(engine, **KEY, now=NOW) is True  # a failed run is taken over
    assert claim_run(engine, **KEY, now=NOW) is False
    set_run_status(engine, **KEY, status=JobRunStatus.DONE, detail=None)
    assert claim_run(engine, **KEY, now=NOW) is False
    assert run_status(engine, **KEY) == JobRunStatus.DONE
    assert run_status(engine, **{**KEY, "scope": "dept:2"}) is None


def test_an_event_id_is_first_once_and_old_ids_are_forgotten(engine):
    assert first_delivery(engine, event_id="Ev1", team_id="T1") is True
    assert first_delivery(engine, event_id="Ev1", team_id="T1") is False
    assert forget_events_before(engine, cutoff=datetime.now(UTC) - timedelta(days=1)) == 0
    assert forget_events_before(engine, cutoff=datetime.now(UTC) + timedelta(seconds=1)) == 1
    with engine.connect() as conn:
        assert conn.execute(select(ProcessedEvent.event_id)).all() == []
    assert first_delivery(engine, event_id="Ev1", team_id="T1") is True


def _token_row(table, **values) -> dict:
    base = {
        "client_id": "C1",
        "app_id": "A1",
        "team_id": "T1",
        "bot_token": "xoxb-1",
        "installed_at": datetime(2026, 1, 1),
    }
    if table is slack_installations:
        base |= {"user_id": "U1", "user_token": "xoxp-1", "user_refresh_token": "r-1"}
    return base | values


def test_token_deletions(engine, monkeypatch):
    # The token columns are encrypted; a cipher for this test only.
    monkeypatch.setattr(
        token_crypto, "_cipher", token_crypto.TokenCipher(Fernet.generate_key().decode())
    )
    with engine.begin() as conn:
        for team in ("T1", "T2"):
            conn.execute(
                slack_installations.insert().values(**_token_row(slack_installations, team_id=team))
            )
            conn.execute(slack_bots.insert().values(**_token_row(slack_bots, team_id=team)))
    delete_user_tokens(engine, team_id="T2", user_ids=["U1"])
    delete_team_tokens(engine, team_id="T1")
    with engine.connect() as conn:
        rows = conn.execute(
            select(slack_installations.c.team_id, slack_installations.c.user_token)
        ).all()
        bots = conn.execute(select(slack_bots.c.team_id)).scalars().all()
    assert [tuple(r) for r in rows] == [("T2", None)]
    assert bots == ["T2"]


def test_the_health_check_answers(engine):
    check_database(engine)  # no exception


def test_advisory_lock(engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    key = 4242
    holder, other = engine.connect(), engine.connect()
    try:
        assert try_advisory_lock(holder, key=key) is True
        assert holds_advisory_lock(holder, key=key) is True
        assert try_advisory_lock(other, key=key) is False
        assert holds_advisory_lock(other, key=key) is False
        advisory_unlock(holder, key=key)
        assert holds_advisory_lock(holder, key=key) is False
        assert try_advisory_lock(other, key=key) is True
        advisory_unlock(other, key=key)
    finally:
        holder.close()
        other.close()
