"""Data lifecycle: forgetting one person (personal data removed or pseudonymised, aggregates
kept, audit-logged), purging a team (every row, every table), and the export (every row of the
team, nothing of any other)."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlmodel import Session

from loyalty.cli import cli
from storage import token_crypto
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.errors import DomainError
from storage.export import export_team, team_tables
from storage.lifecycle import forget_user, purge_team, team_tables_for_purge
from storage.models import (
    AuditLog,
    Behavior,
    BehaviorLog,
    CheckIn,
    DepartmentMember,
    KeyResult,
    Recognition,
    RecognitionRecipient,
    SlackUser,
    utcnow,
)
from storage.oauth_tables import slack_bots
from tests.conftest import ALICE, BOB
from tests.support.factories import department, objective

TEAM_A, TEAM_B = "T0TEAMA01", "T0TEAMB02"
ALICE_EMAIL = "alice.private@example.com"


def seed(engine, team_id: str, marker: str) -> None:
    """A team with every kind of row Alice leaves behind; `marker` tags its free text."""
    dept = department(engine, f"Support {marker}", team_id=team_id, heads=(BOB,), members=(ALICE,))
    _, (kr,) = objective(engine, dept, team_id=team_id, owner=ALICE, title=f"Delight {marker}")
    with session_scope(engine) as s:
        for value, note in ((35, f"my private note {marker}"), (40, "call <@U0BOB0001> back")):
            record_checkin(
                s,
                team_id=team_id,
                user_id=ALICE,
                is_admin=False,
                ref=f"KR-{kr.number}",
                value=value,
                confidence=7,
                note=note,
            )
        s.add(SlackUser(team_id=team_id, user_id=ALICE, email=ALICE_EMAIL, display_name="Alice"))
        s.add(SlackUser(team_id=team_id, user_id=BOB, email="bob@example.com"))
        behavior = Behavior(
            team_id=team_id,
            number=1,
            department_id=dept.id,
            description=f"Call back {marker}",
            weekly_target=3,
            created_by=BOB,
        )
        s.add(behavior)
        s.flush()
        s.add(
            BehaviorLog(
                team_id=team_id,
                behavior_id=behavior.id,
                user_id=ALICE,
                count=2,
                note=f"called {marker} customers",
            )
        )
        rec = Recognition(
            team_id=team_id,
            giver_id=BOB,
            text=f"<@U0ALICE01> saved the {marker} account; mail {ALICE_EMAIL}",
        )
        s.add(rec)
        s.flush()
        s.add(
            RecognitionRecipient(
                team_id=team_id, recognition_id=rec.id, user_id=ALICE, department_id=dept.id
            )
        )


def dump(engine, team_id: str) -> str:
    """Every value of every row of the team, as text."""
    out = []
    with engine.connect() as conn:
        for table in team_tables_for_purge():
            if table.info.get("credentials"):
                continue
            for row in conn.execute(select(table).where(table.c.team_id == team_id)):
                out.append(" | ".join(map(str, row)))
    return "\n".join(out)


def count(engine, model, team_id: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count()).select_from(model).where(model.team_id == team_id)
        ).one()[0]


def test_forget_user_removes_personal_data_and_keeps_aggregates(engine):
    seed(engine, TEAM_A, "alpha")
    seed(engine, TEAM_B, "beta")
    before_b = dump(engine, TEAM_B)
    checkins = count(engine, CheckIn, TEAM_A)
    with session_scope(engine) as s:
        result = forget_user(s, team_id=TEAM_A, user_id=ALICE, actor_id="U0ADMIN01")
    pseudonym = result["pseudonym"]
    assert len(pseudonym) == len(ALICE) and pseudonym != ALICE
    after_a = dump(engine, TEAM_A)
    assert ALICE not in after_a and ALICE_EMAIL not in after_a
    assert "my private note alpha" not in after_a and "called alpha customers" not in after_a
    # Aggregates and others' data stay.
    assert count(engine, CheckIn, TEAM_A) == checkins == 2
    with Session(engine) as s:
        kr = s.exec(select(KeyResult).where(KeyResult.team_id == TEAM_A)).scalar_one()
        assert kr.current_value == 40 and kr.owner_id == pseudonym
        authors = {
            c.author_id for c in s.exec(select(CheckIn).where(CheckIn.team_id == TEAM_A)).scalars()
        }
        assert authors == {pseudonym}
        log = s.exec(select(BehaviorLog).where(BehaviorLog.team_id == TEAM_A)).scalar_one()
        assert log.count == 2 and log.user_id == pseudonym and log.note == ""
        rec = s.exec(select(Recognition).where(Recognition.team_id == TEAM_A)).scalar_one()
        assert rec.text.startswith(f"<@{pseudonym}> saved the alpha account")
        assert s.get(SlackUser, (TEAM_A, ALICE)) is None
        assert s.get(SlackUser, (TEAM_A, BOB)) is not None  # only Alice is forgotten
        members = (
            s.exec(select(DepartmentMember.user_id).where(DepartmentMember.team_id == TEAM_A))
            .scalars()
            .all()
        )
        assert ALICE not in members and BOB in members
        audit = s.exec(select(AuditLog).where(AuditLog.action == "user.forget")).scalar_one()
        assert audit.team_id == TEAM_A and audit.actor_id == "U0ADMIN01"
        assert ALICE not in (audit.after or "") and pseudonym in audit.after
    assert count(engine, RecognitionRecipient, TEAM_A) == 1
    # The other team is untouched, byte for byte.
    assert dump(engine, TEAM_B) == before_b and ALICE in before_b


def test_forget_user_refuses_bad_ids_and_unknown_team(engine):
    seed(engine, TEAM_A, "alpha")
    with session_scope(engine) as s, pytest.raises(DomainError, match="not a Slack user id"):
        forget_user(s, team_id=TEAM_A, user_id="alice'; DROP TABLE team;--")
    with session_scope(engine) as s, pytest.raises(DomainError, match="No team"):
        forget_user(s, team_id="T0NOTHERE1", user_id=ALICE)
    assert ALICE in dump(engine, TEAM_A)


def test_user_forget_cli(db_url, engine):
    seed(engine, TEAM_A, "alpha")
    env = {"DATABASE_URL": db_url, "LOYALTY_ADMINS": "", "SLACK_BOT_TOKEN": ""}
    result = CliRunner().invoke(cli, ["user", "forget", "--team", TEAM_A, "--user", ALICE], env=env)
    assert result.exit_code == 0, result.output
    assert f"Forgot {ALICE} in team {TEAM_A}" in result.output
    assert ALICE not in dump(engine, TEAM_A)


def test_purge_team_deletes_every_row_of_every_table_including_tokens(engine):
    seed(engine, TEAM_A, "alpha")
    seed(engine, TEAM_B, "beta")
    token_crypto.configure(token_crypto.Fernet.generate_key().decode())
    with engine.begin() as conn:
        for team in (TEAM_A, TEAM_B):
            conn.execute(
                slack_bots.insert().values(
                    client_id="1111.2222",
                    app_id="A0LOYALTY1",
                    team_id=team,
                    bot_token=f"xoxb-{team}-secret",
                    is_enterprise_install=False,
                    installed_at=utcnow().replace(tzinfo=None),
                )
            )
    before_b = dump(engine, TEAM_B)
    with session_scope(engine) as s:
        counts = purge_team(s, team_id=TEAM_A)
    assert counts["slack_bots"] == 1 and counts["checkin"] == 2
    with engine.connect() as conn:
        for table in team_tables_for_purge():
            left = conn.execute(
                select(func.count()).select_from(table).where(table.c.team_id == TEAM_A)
            ).scalar_one()
            assert left == 0, table.name
        assert conn.execute(text("SELECT count(*) FROM slack_bots")).scalar_one() == 1
    assert dump(engine, TEAM_B) == before_b


def test_export_holds_every_row_of_the_team_and_nothing_of_others(engine, tmp_path):
    tmp_path = tmp_path / "export"  # the SQLite database file lives in tmp_path itself
    seed(engine, TEAM_A, "alpha")
    seed(engine, TEAM_B, "beta")
    token_crypto.configure(token_crypto.Fernet.generate_key().decode())
    with engine.begin() as conn:
        conn.execute(
            slack_bots.insert().values(
                client_id="1111.2222",
                app_id="A0LOYALTY1",
                team_id=TEAM_A,
                bot_token="xoxb-never-exported",
                is_enterprise_install=False,
                installed_at=utcnow().replace(tzinfo=None),
            )
        )
    manifest = export_team(engine, team_id=TEAM_A, out_dir=tmp_path)
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["tables"] == manifest["tables"]
    exported_names = set(manifest["tables"])
    # Every team table except stored credentials, each with exactly the team's rows.
    assert exported_names == {
        t.name for t in team_tables_for_purge() if not t.info.get("credentials")
    }
    assert "slack_bots" not in exported_names and "slack_installations" not in exported_names
    with engine.connect() as conn:
        for table in team_tables():
            with (tmp_path / f"{table.name}.csv").open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            expected = conn.execute(
                select(func.count()).select_from(table).where(table.c.team_id == TEAM_A)
            ).scalar_one()
            assert len(rows) == expected == manifest["tables"][table.name], table.name
            assert all(r["team_id"] == TEAM_A for r in rows)
    everything = "\n".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert TEAM_B not in everything and "beta" not in everything
    assert "alpha" in everything and "xoxb" not in everything
