"""The department list: each department of the workspace with its member count and its heads,
by name, in one statement — departments without members included, other workspaces' left out.
On SQLite and PostgreSQL."""

from __future__ import annotations

from storage.db import read_scope, session_scope
from storage.departments import add_members, create_department, list_departments
from tests.support.factories import TEAM
from tests.support.sql_count import counted_statements

ADMIN = "U0ADMIN01"


def test_each_department_with_its_member_count_and_heads_in_one_statement(engine):
    with session_scope(engine) as s:
        for team, name, heads in [
            (TEAM, "Support", ["U0ZOE0001", "U0AMY0001"]),
            (TEAM, "billing", []),
            (TEAM, "Onboarding", ["U0BEN0001"]),
            ("T0OTHER01", "Support", ["U0ELSE001"]),
        ]:
            create_department(
                s, team_id=team, actor_id=ADMIN, is_admin=True, name=name, head_ids=heads
            )
        add_members(
            s,
            team_id=TEAM,
            actor_id=ADMIN,
            is_admin=True,
            department_name="Support",
            user_ids=["U0MEMBER1", "U0MEMBER2"],
        )
    with read_scope(engine) as s, counted_statements(engine) as statements:
        rows = list_departments(s, team_id=TEAM)
    assert [(d.name, members, heads) for d, members, heads in rows] == [
        ("billing", 0, []),
        ("Onboarding", 1, ["U0BEN0001"]),
        ("Support", 4, ["U0AMY0001", "U0ZOE0001"]),
    ]
    assert len(statements) == 1
    with read_scope(engine) as s:
        assert list_departments(s, team_id="T0EMPTY01") == []
