"""Alignment links and rolled-up progress (spec §8) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from storage import alignment, rollup
from storage.checkins import record_checkin
from storage.db import session_scope
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import AuditLog, KeyResult, ObjectiveLink
from storage.objectives import (
    KeyResultInput,
    close_objective,
    get_objective,
    list_objectives,
    load_views,
    objectives_page,
)
from storage.quarters import next_quarter, quarter_of
from storage.rollup import quarter_tree
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import TEAM, department, objective
from tests.support.graphs import chain, diamond
from tests.support.sql_count import counted_statements

TEAM_B = "T0TEAMB02"


def kr(title, baseline, target, current=None):
    return KeyResultInput(title=title, baseline=baseline, target=target), current


def make(engine, dept, title, *krs, quarter=None):
    """An objective whose key results then get `current` values by check-in."""
    obj, rows = objective(engine, dept, title=title, krs=[k for k, _ in krs], quarter=quarter)
    with session_scope(engine) as s:
        for row, (_, current) in zip(rows, krs, strict=True):
            if current is not None:
                record_checkin(
                    s, team_id=TEAM, user_id=ADMIN, is_admin=True, ref=f"KR-{row.number}",
                    value=current, confidence=7,
                )  # fmt: skip
    return obj, rows


def link(engine, child, parent, weight=1.0, actor=ADMIN, admin=True):
    with session_scope(engine) as s:
        return alignment.align(
            s, team_id=TEAM, actor_id=actor, is_admin=admin, child=s.get(type(child), child.id),
            parent=s.get(type(parent), parent.id), weight=weight,
        )  # fmt: skip


def links(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(ObjectiveLink)).one()


@pytest.fixture
def world(engine):
    support = department(engine, "Support", heads=(ALICE,))
    product = department(engine, "Product", heads=(BOB,), channel="C0PRODUCT1")
    ops = department(engine, "Ops", heads=(BOB,), channel="C0OPS00001")
    company, _ = make(engine, None, "Loyal customers", kr("NPS", 0, 100, 50))  # own 0.5
    s_obj, s_krs = make(engine, support, "Callbacks", kr("a", 30, 50, 45), kr("b", 10, 0))
    p_obj, _ = make(engine, product, "Fixes", kr("bugs", 0, 10, 10))  # own 1.0
    g_obj, g_krs = make(engine, ops, "Runbooks", kr("docs", 0, 100))  # own 0.0
    return dict(
        support=support, product=product, ops=ops, company=company, s=s_obj, p=p_obj, g=g_obj,
        s_krs=s_krs, g_krs=g_krs,
    )  # fmt: skip


def progress_of(engine, obj) -> float:
    with Session(engine) as s:
        return quarter_tree(s, team_id=TEAM, quarter=obj.quarter).progress(obj.id)


def test_rolled_up_progress_hand_computed(engine, world):
    w = world
    link(engine, w["s"], w["company"], 2)
    link(engine, w["p"], w["company"], 1)
    # Support: (0.75 + 0.0) / 2 = 0.375; Product 1.0;
    # company: (0.5 + 2·0.375 + 1·1.0) / (1 + 2 + 1) = 2.25 / 4 = 0.5625
    assert progress_of(engine, w["s"]) == pytest.approx(0.375)
    assert progress_of(engine, w["company"]) == pytest.approx(0.5625)
    link(engine, w["g"], w["s"], 1)
    # Support: (0.75 + 0 + 1·0.0) / 3 = 0.25; company: (0.5 + 0.5 + 1.0) / 4 = 0.5
    assert progress_of(engine, w["s"]) == pytest.approx(0.25)
    assert progress_of(engine, w["company"]) == pytest.approx(0.5)
    with session_scope(engine) as s:  # a check-in three levels down moves every ancestor
        record_checkin(
            s, team_id=TEAM, user_id=BOB, is_admin=False, ref=f"KR-{w['g_krs'][0].number}",
            value=100, confidence=8,
        )  # fmt: skip
    # Ops 1.0; Support (0.75 + 1.0) / 3 = 0.58333; company (0.5 + 1.16667 + 1.0) / 4 = 0.66667
    assert progress_of(engine, w["g"]) == pytest.approx(1.0)
    assert progress_of(engine, w["s"]) == pytest.approx(1.75 / 3)
    assert progress_of(engine, w["company"]) == pytest.approx((0.5 + 3.5 / 3 + 1.0) / 4)
    with Session(engine) as s:  # the views every surface uses show the same numbers
        view = load_views(s, [get_objective(s, team_id=TEAM, ref=f"O-{w['company'].number}")])[0]
        assert view.progress == pytest.approx((0.5 + 3.5 / 3 + 1.0) / 4)
        assert view.own_progress == pytest.approx(0.5)


def test_changing_weight_updates_link_and_rollup(engine, world):
    w = world
    link(engine, w["s"], w["company"], 2)
    _, created = link(engine, w["s"], w["company"], 3)
    assert not created and links(engine) == 1
    # (0.5 + 3·0.375) / 4
    assert progress_of(engine, w["company"]) == pytest.approx((0.5 + 1.125) / 4)


def test_self_cycle_and_cross_quarter_refused(engine, world):
    w = world
    with pytest.raises(DomainError, match="itself"):
        link(engine, w["s"], w["s"])
    link(engine, w["s"], w["p"])
    link(engine, w["p"], w["g"])
    with pytest.raises(DomainError, match="cycle") as exc:  # g → s closes s → p → g → s
        link(engine, w["g"], w["s"])
    assert f"O-{w['g'].number} → O-{w['s'].number} → O-{w['p'].number} → O-{w['g'].number}" in str(
        exc.value
    )
    later, _ = make(
        engine, w["support"], "Next quarter", kr("x", 0, 1),
        quarter=next_quarter(quarter_of(w["s"].due_date)),
    )  # fmt: skip
    with pytest.raises(DomainError, match="own quarter"):
        link(engine, later, w["company"])
    assert links(engine) == 2


def test_weights_parsed_and_bounded():
    assert alignment.parse_weight("2") == 2.0
    assert alignment.parse_weight("0.5") == 0.5
    for bad, msg in [("0", "greater than 0"), ("-1", "greater than 0"), ("abc", "not a number"),
                     ("1e9", "not a number"), ("1000000000", "too large")]:  # fmt: skip
        with pytest.raises(DomainError, match=msg):
            alignment.parse_weight(bad)


def test_roles_member_other_head_company(engine, world):
    w = world
    with pytest.raises(PermissionDenied, match="Support"):  # Bob heads Product, not Support
        link(engine, w["s"], w["company"], actor=BOB, admin=False)
    with pytest.raises(PermissionDenied, match="admin"):  # a company objective: admins only
        link(engine, w["company"], w["s"], actor=ALICE, admin=False)
    assert links(engine) == 0
    link(engine, w["s"], w["company"], actor=ALICE, admin=False)  # Alice heads Support
    with Session(engine) as s:
        log = s.exec(select(AuditLog).where(AuditLog.action == "objective.align")).one()
        assert log.actor_id == ALICE and '"weight": 1.0' in log.after


def test_foreign_team_parent_refused(engine, world):
    other = department(engine, "Support", team_id=TEAM_B, channel="C0BSUPP001")
    foreign, _ = objective(engine, other, team_id=TEAM_B)
    with session_scope(engine) as s, pytest.raises(NotFound):
        alignment.objectives_by_ids(s, team_id=TEAM, ids=[world["company"].id, foreign.id])
    with session_scope(engine) as s, pytest.raises(FieldErrors) as exc:
        child = get_objective(s, team_id=TEAM, ref=f"O-{world['s'].number}")
        alignment.set_parents(s, team_id=TEAM, actor_id=ADMIN, child=child, parent_ids=[foreign.id])
    assert "contributes_to" in exc.value.errors
    assert links(engine) == 0


def test_set_parents_replaces_links_keeping_weights(engine, world):
    w = world
    link(engine, w["s"], w["company"], 2)
    with session_scope(engine) as s:
        child = get_objective(s, team_id=TEAM, ref=f"O-{w['s'].number}")
        alignment.set_parents(
            s, team_id=TEAM, actor_id=ADMIN, child=child, parent_ids=[w["company"].id, w["p"].id]
        )
    with Session(engine) as s:
        rows = {r.parent_id: r.weight for r in s.exec(select(ObjectiveLink)).all()}
    assert rows == {w["company"].id: 2.0, w["p"].id: 1.0}
    with session_scope(engine) as s:
        child = get_objective(s, team_id=TEAM, ref=f"O-{w['s'].number}")
        alignment.set_parents(s, team_id=TEAM, actor_id=ADMIN, child=child, parent_ids=[])
    assert links(engine) == 0


def test_unalign_and_closing_a_parent(engine, world):
    w = world
    link(engine, w["s"], w["company"])
    with session_scope(engine) as s:
        close_objective(s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                        ref=f"O-{w['company'].number}")  # fmt: skip
    with Session(engine) as s:  # the child still says what it contributes to, now closed
        view = load_views(s, [get_objective(s, team_id=TEAM, ref=f"O-{w['s'].number}")])[0]
        ((parent, weight),) = view.linked("parents")
        assert parent.status == "closed" and weight == 1.0
    with session_scope(engine) as s:
        alignment.unalign(
            s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
            child=get_objective(s, team_id=TEAM, ref=f"O-{w['s'].number}"),
            parent=get_objective(s, team_id=TEAM, ref=f"O-{w['company'].number}"),
        )  # fmt: skip
    assert links(engine) == 0
    with session_scope(engine) as s, pytest.raises(NotFound, match="does not contribute"):
        alignment.unalign(
            s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
            child=get_objective(s, team_id=TEAM, ref=f"O-{w['s'].number}"),
            parent=get_objective(s, team_id=TEAM, ref=f"O-{w['company'].number}"),
        )  # fmt: skip


def test_company_objective_admins_only(engine):
    from storage.objectives import create_objective

    with session_scope(engine) as s, pytest.raises(PermissionDenied, match="admin"):
        create_objective(
            s, team_id=TEAM, actor_id=ALICE, is_admin=False, department_id=None, title="x",
            quarter=quarter_of(__import__("datetime").date.today()), owner_id=ALICE,
            due_date=None, key_results=[KeyResultInput(title="k", baseline=0, target=1)],
        )  # fmt: skip


def test_quarter_tree_statement_count_constant(engine, world):
    w = world
    link(engine, w["s"], w["company"])
    with counted_statements(engine) as statements, Session(engine) as s:
        tree = quarter_tree(s, team_id=TEAM, quarter=w["s"].quarter)
        tree.progress(w["company"].id)
    assert len(statements) == 2
    assert tree.unaligned_ids() == sorted(
        [w["p"].id, w["g"].id], key=lambda i: (tree.nodes[i].department_id, tree.nodes[i].number)
    )


@pytest.mark.parametrize("id_list_max", [500, 1])
def test_partial_tree_reads_only_what_the_objectives_need(engine, world, monkeypatch, id_list_max):
    """A page's part of the graph: the same progress, status and links as the whole quarter's
    tree, in two statements (three with the company objectives); past the id-list size the
    whole quarter is read instead."""
    w = world
    monkeypatch.setattr(rollup, "ID_LIST_MAX", id_list_max)
    link(engine, w["s"], w["company"], 2)
    link(engine, w["p"], w["company"], 1)
    link(engine, w["g"], w["s"], 1)
    other, _ = make(engine, w["ops"], "Unrelated", kr("x", 0, 10, 3))
    quarter = w["s"].quarter
    with Session(engine) as s:
        full = quarter_tree(s, team_id=TEAM, quarter=quarter)
        with counted_statements(engine) as statements:
            page = rollup.partial_tree(s, team_id=TEAM, quarter=quarter, objective_ids=[w["s"].id])
            page_statements = len(statements)
            home = rollup.partial_tree(
                s, team_id=TEAM, quarter=quarter, objective_ids=[], company=True
            )
            home_statements = len(statements) - page_statements
    assert (page_statements, home_statements) == (2, 3)
    # Support, what it contributes to, what contributes to either (Ops, Product)
    wanted = {w["s"].id, w["company"].id, w["g"].id, w["p"].id}
    assert set(page.nodes) == (wanted | {other.id} if id_list_max == 1 else wanted)
    assert page.complete == (id_list_max == 1) and full.complete
    assert set(home.nodes) >= wanted
    for tree in (page, home):
        for oid in wanted:
            assert tree.progress(oid) == pytest.approx(full.progress(oid))
    assert page.nodes[w["s"].id].parents == full.nodes[w["s"].id].parents
    assert page.nodes[w["s"].id].children == full.nodes[w["s"].id].children
    assert rollup.company_overview(home) == rollup.company_overview(full)


def test_partial_tree_does_not_read_again_what_a_page_loaded(engine, world):
    """A list page's objectives come with all their key results: their own progress is summed
    from those rows, and only the objectives beyond the page are read (none when unaligned)."""
    w = world
    link(engine, w["g"], w["s"], 1)
    quarter = w["s"].quarter
    with Session(engine) as s:
        full = quarter_tree(s, team_id=TEAM, quarter=quarter)
        objs = {o: s.get(type(w[o]), w[o].id) for o in ("s", "p", "g")}
        krs = {
            o.id: list(s.exec(select(KeyResult).where(KeyResult.objective_id == o.id)))
            for o in objs.values()
        }
        with counted_statements(engine) as statements:
            # Product is aligned to nothing: the links are read, nothing else.
            alone = rollup.trees_for(s, [objs["p"]], krs)[quarter]
            alone_statements = len(statements)
            # Support's child Ops is on the page too; Support has no parent: links only.
            both = rollup.trees_for(s, [objs["s"], objs["g"]], krs)[quarter]
            both_statements = len(statements) - alone_statements
            # Support alone: Ops, its child, is read.
            part = rollup.trees_for(s, [objs["s"]], krs)[quarter]
            part_statements = len(statements) - alone_statements - both_statements
    assert (alone_statements, both_statements, part_statements) == (1, 1, 2)
    for tree, ids in ((alone, ["p"]), (both, ["s", "g"]), (part, ["s", "g"])):
        for o in ids:
            assert tree.progress(w[o].id) == pytest.approx(full.progress(w[o].id))
            assert tree.nodes[w[o].id].children == full.nodes[w[o].id].children
    assert both.progress(w["s"].id) == pytest.approx((0.75 + 0.0 + 0.0) / 3)


def test_objectives_page_counts_and_keeps_the_page_in_range(engine, world):
    with Session(engine) as s:
        everything = list_objectives(s, team_id=TEAM, user_id=ADMIN, scope="all")
        views, total, page = objectives_page(
            s, team_id=TEAM, user_id=ADMIN, page=2, page_size=3, scope="all"
        )
        assert (total, page) == (4, 2)
        assert [v.objective.id for v in views] == [v.objective.id for v in everything[3:]]
        # Past the end (the list got shorter since its buttons were drawn): the last page.
        views, total, page = objectives_page(
            s, team_id=TEAM, user_id=ADMIN, page=9, page_size=3, scope="all"
        )
        assert (total, page, len(views)) == (4, 2, 1)
        views, total, page = objectives_page(
            s, team_id=TEAM, user_id=ADMIN, page=0, page_size=3, scope="all"
        )
        assert (total, page, len(views)) == (4, 1, 3)
        assert views[0].progress == pytest.approx(everything[0].progress)
        # Nothing to list: page 1 of nothing.
        assert objectives_page(
            s, team_id=TEAM, user_id=ADMIN, page=3, page_size=3, scope="department",
            department_id=-1,
        ) == ([], 0, 1)  # fmt: skip


def test_concurrent_opposite_links_cannot_make_a_cycle(engine, world):
    import threading

    w = world
    barrier = threading.Barrier(2)
    outcomes = []

    def run(child, parent):
        barrier.wait()
        try:
            link(engine, child, parent)
            outcomes.append("linked")
        except Exception as exc:  # noqa: BLE001 - the refused one may be a cycle or a busy DB
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=pair) for pair in
               ((w["s"], w["p"]), (w["p"], w["s"]))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("linked") == 1, outcomes
    assert links(engine) == 1


def test_two_thousand_link_chain_rolls_up_and_refuses_its_cycle_briefly(engine):
    """Rolled-up progress, ancestors and the cycle check walk a 2,000-link chain without
    recursion; closing it into a cycle is refused naming the ends of the chain, not all 2,002."""
    support = department(engine, "Support", heads=(ALICE,))
    made = chain(engine, support.id, 2000, current=50.0)
    (top_id, top), (bottom_id, bottom) = made[0], made[-1]
    with session_scope(engine) as s:
        kr_number = s.exec(
            select(KeyResult.number).where(KeyResult.objective_id == bottom_id)
        ).one()
        record_checkin(s, team_id=TEAM, user_id=ALICE, is_admin=False, ref=f"KR-{kr_number}",
                       value=100, confidence=8)  # fmt: skip
    with Session(engine) as s:
        tree = quarter_tree(s, team_id=TEAM, quarter=quarter_of(date.today()))
        assert tree.progress(bottom_id) == pytest.approx(1.0)
        assert tree.progress(made[-2][0]) == pytest.approx(0.75)
        # Each level halves the extra: 0.5 + 0.5 / 2^2000 is 0.5 in floating point.
        assert tree.progress(top_id) == pytest.approx(0.5)
        assert len(tree.ancestors(bottom_id)) == 2000
        assert len(tree.descendants([top_id])) == 2001
        assert tree.path_up(bottom_id, top_id) == [oid for oid, _ in reversed(made)]
    with session_scope(engine) as s, pytest.raises(DomainError, match="cycle") as exc:
        alignment.align(
            s, team_id=TEAM, actor_id=ALICE, is_admin=False,
            child=get_objective(s, team_id=TEAM, ref=f"O-{top}"),
            parent=get_objective(s, team_id=TEAM, ref=f"O-{bottom}"),
        )  # fmt: skip
    assert (
        f"(O-{top} → O-{bottom} → O-{bottom - 1} → … 1,996 more … → O-{top + 2} → O-{top + 1} "
        f"→ O-{top})" in exc.value.message
    )
    assert len(exc.value.message) < 300
    assert links(engine) == 2000


def test_sixty_objective_diamond_rolls_up_through_every_path(engine):
    """A top, 29 layers of two (each contributing to both above) and a bottom: 2^29 paths, one
    visit per objective and link. Each layer's share is (own 0 + what contributes) / count."""
    support = department(engine, "Support", heads=(ALICE,))
    rows = diamond(engine, support.id, 29)
    with session_scope(engine) as s:
        kr_number = s.exec(
            select(KeyResult.number).where(KeyResult.objective_id == rows[-1][0][0])
        ).one()
        record_checkin(s, team_id=TEAM, user_id=ALICE, is_admin=False, ref=f"KR-{kr_number}",
                       value=100, confidence=8)  # fmt: skip
    with Session(engine) as s:
        tree = quarter_tree(s, team_id=TEAM, quarter=quarter_of(date.today()))
    share, count = 1.0, 1
    for row in reversed(rows[:-1]):
        share = count * share / (1 + count)
        for oid, _ in row:
            assert tree.progress(oid) == pytest.approx(share)
        count = len(row)
    assert tree.progress(rows[0][0][0]) == pytest.approx(2**28 / 3**29)
    assert len(tree.ancestors(rows[-1][0][0])) == 59
