"""Alignment graphs too large to build one `/okr align` at a time (a 2,000-link chain, a
60-objective diamond): objectives with one key result each and their links, bulk-inserted in
one transaction. The numbers continue the team's O- and KR- sequences, and the database's own
triggers keep each objective's key-result totals, exactly as for objectives made in the app.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select, update

from storage.models import KeyResult, Objective, ObjectiveLink, RefCounter
from storage.quarters import quarter_bounds, quarter_of
from tests.support.factories import TEAM

OWNER = "U0ALICE01"


def _take_numbers(conn, team_id: str, kind: str, count: int) -> int:
    """Reserve `count` numbers of the team's `kind` sequence; the first one."""
    last = conn.execute(
        select(RefCounter.last).where(RefCounter.team_id == team_id, RefCounter.kind == kind)
    ).scalar()
    if last is None:
        conn.execute(insert(RefCounter.__table__), [{"team_id": team_id, "kind": kind, "last": 0}])
        last = 0
    conn.execute(
        update(RefCounter.__table__)
        .where(RefCounter.team_id == team_id, RefCounter.kind == kind)
        .values(last=last + count)
    )
    return last + 1


def add_objectives(
    engine,
    department_id: int | None,
    count: int,
    *,
    team_id: str = TEAM,
    quarter: str | None = None,
    title: str = "Step",
    current: float | None = None,
) -> list[tuple[int, int]]:
    """`count` objectives of the department (None: company-wide), each with one key result from
    0 to 100 at `current`; their (id, number), in number order."""
    quarter = quarter or quarter_of(date.today())
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = _take_numbers(conn, team_id, "objective", count)
        numbers = range(first, first + count)
        conn.execute(
            insert(Objective.__table__),
            [
                {
                    "team_id": team_id,
                    "number": n,
                    "department_id": department_id,
                    "title": f"{title} {n}",
                    "description": "",
                    "quarter": quarter,
                    "owner_id": OWNER,
                    "due_date": quarter_bounds(quarter)[1],
                    "status": "active",
                    "created_by": OWNER,
                    "created_at": now,
                }  # fmt: skip
                for n in numbers
            ],
        )
        made = conn.execute(
            select(Objective.id, Objective.number)
            .where(Objective.team_id == team_id, Objective.number.between(first, numbers[-1]))
            .order_by(Objective.number)
        ).all()
        kr_first = _take_numbers(conn, team_id, "key_result", count)
        conn.execute(
            insert(KeyResult.__table__),
            [
                {
                    "team_id": team_id,
                    "number": kr_first + i,
                    "objective_id": oid,
                    "title": "Share done",
                    "unit": "%",
                    "baseline": 0.0,
                    "target": 100.0,
                    "current_value": current,
                    "owner_id": OWNER,
                    "created_at": now,
                }  # fmt: skip
                for i, (oid, _) in enumerate(made)
            ],
        )
    return [(oid, number) for oid, number in made]


def add_links(
    engine,
    pairs: list[tuple[int, int, float]],
    *,
    team_id: str = TEAM,
    quarter: str | None = None,
) -> None:
    """Links (child id, parent id, weight): the caller keeps them acyclic, as the app does."""
    quarter = quarter or quarter_of(date.today())
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(ObjectiveLink.__table__),
            [
                {
                    "team_id": team_id,
                    "quarter": quarter,
                    "child_id": child,
                    "parent_id": parent,
                    "weight": weight,
                    "created_by": OWNER,
                    "created_at": now,
                }  # fmt: skip
                for child, parent, weight in pairs
            ],
        )


def _scope(kw: dict) -> dict:
    return {k: v for k, v in kw.items() if k in ("team_id", "quarter")}


def chain(engine, department_id: int | None, links: int, **kw) -> list[tuple[int, int]]:
    """links + 1 objectives, each contributing to the one before it: the first is the top."""
    made = add_objectives(engine, department_id, links + 1, **kw)
    add_links(engine, [(made[i + 1][0], made[i][0], 1.0) for i in range(links)], **_scope(kw))
    return made


def diamond(
    engine, department_id: int | None, layers: int, *, bottom: bool = True, **kw
) -> list[list[tuple[int, int]]]:
    """A top objective, `layers` layers of two objectives each contributing to both of the layer
    above, and (with `bottom`) one objective contributing to both of the last layer: the layers
    of (id, number), top first. Its paths double with every layer."""
    sizes = [1] + [2] * layers + ([1] if bottom else [])
    made = add_objectives(engine, department_id, sum(sizes), **kw)
    rows, at = [], 0
    for size in sizes:
        rows.append(made[at : at + size])
        at += size
    add_links(
        engine,
        [
            (child, parent, 1.0)
            for above, below in zip(rows, rows[1:], strict=False)
            for child, _ in below
            for parent, _ in above
        ],  # fmt: skip
        **_scope(kw),
    )
    return rows
