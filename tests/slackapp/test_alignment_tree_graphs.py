"""`/okr tree` over graphs, not just trees (an objective with several parents, long chains),
through signed requests against the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from storage.models import KeyResult
from tests.conftest import ALICE, CAROL
from tests.support.factories import department, objective
from tests.support.graphs import chain, diamond

EXPANDED_OR_REPEAT = re.compile(r"\*O-(\d+)\*")


def tree_pages(driver, slack, text: str, user: str = CAROL) -> list[dict]:
    """Every page of `/okr tree <text>`, following the Next buttons."""
    slack.reset()
    driver.command("/okr", f"tree {text}".strip(), user=user)
    pages = [driver.replies()[-1]]
    while True:
        actions = [b for b in pages[-1]["blocks"] if b["type"] == "actions"]
        nexts = [e for a in actions for e in a["elements"] if e["action_id"] == "okr_tree_next"]
        if not nexts:
            return pages
        assert len(pages) < 200, "the tree does not end"
        slack.reset()
        driver.block_action("okr_tree_next", nexts[0]["value"], user=user)
        pages.append(driver.replies()[-1])


def tree_lines(pages: list[dict]) -> list[str]:
    out = []
    for page in pages:
        assert len(page["blocks"]) <= 50
        for block in page["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
                out.extend(block["text"]["text"].split("\n"))
    return out


def objective_lines(lines: list[str]) -> dict[int, tuple[list[str], list[str]]]:
    """Objective number → (its lines shown in full, its "also under" lines)."""
    seen: dict[int, tuple[list[str], list[str]]] = {}
    for line in lines:
        m = EXPANDED_OR_REPEAT.search(line)
        if m is None:
            continue
        full, again = seen.setdefault(int(m.group(1)), ([], []))
        (again if "also under" in line else full).append(line)
    return seen


def test_diamond_built_by_a_head_shows_each_objective_in_full_once(driver, slack, engine):
    """Eight layers of two objectives, each contributing to both of the layer above, aligned by
    Support's head with `/okr align`: 256 paths from the top to the bottom, but each objective
    is shown in full once (under its lowest-numbered parent) and once as "also under" it."""
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    top, _ = objective(engine, support, title="Top")
    layers = [[top]]
    for i in range(8):
        layers.append([objective(engine, support, title=f"L{i} {j}")[0] for j in (0, 1)])
    bottom, (bottom_kr,) = objective(engine, support, title="Bottom")
    layers.append([bottom])
    links = 0
    for above, below in zip(layers, layers[1:], strict=False):
        for child in below:
            for parent in above:
                slack.reset()
                driver.command("/okr", f"align O-{child.number} to O-{parent.number}", user=ALICE)
                assert "now contributes to" in driver.last_reply_text()
                links += 1
    slack.reset()
    driver.command("/checkin", f"KR-{bottom_kr.number} 50 8/10", user=ALICE)  # bottom at 100%
    assert "Checked in" in driver.last_reply_text()

    for scope in ("", f"O-{top.number}"):
        lines = tree_lines(tree_pages(driver, slack, scope))
        shown = objective_lines(lines)
        assert set(shown) == {o.number for layer in layers for o in layer}
        assert len(shown[top.number][0]) == 1 and not shown[top.number][1]
        for above, below in zip(layers, layers[1:], strict=False):
            first_parent = above[0].number
            for child in below:
                full, again = shown[child.number]
                assert len(full) == 1, full
                if len(above) == 1:
                    assert again == []
                else:
                    assert len(again) == 1 and f"also under *O-{first_parent}*" in again[0]
        # One line per root and per link: nothing is expanded twice.
        assert sum(len(f) + len(a) for f, a in shown.values()) == 1 + links

    # Rolled-up progress through every path: the bottom at 100%, each layer above it the mean
    # of its own key result (0%) and what contributes to it.
    expected = {bottom.number: 1.0}
    below_share, below_count = 1.0, 1
    for layer in reversed(layers[:-1]):
        share = (0.0 + below_count * below_share) / (1 + below_count)
        for o in layer:
            expected[o.number] = share
        below_share, below_count = share, len(layer)
    lines = tree_lines(tree_pages(driver, slack, f"O-{top.number}"))
    for number, (full, _) in objective_lines(lines).items():
        assert f" {expected[number]:.0%} " in full[0], (number, full[0])


@pytest.mark.parametrize("layers", [17, 29])
def test_diamond_of_many_layers_answers_with_every_objective_once(driver, slack, engine, layers):
    """35 objectives (17 layers, no bottom) had 262,144 lines; 60 (29 layers and a bottom)
    would never end. Now one line per objective and per link, over a few pages."""
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    rows = diamond(engine, support.id, layers, bottom=layers == 29)
    numbers = {n for row in rows for _, n in row}
    assert len(numbers) == (35 if layers == 17 else 60)
    links = sum(len(a) * len(b) for a, b in zip(rows, rows[1:], strict=False))
    pages = tree_pages(driver, slack, "")  # the top is "Not aligned yet": the default tree
    lines = tree_lines(pages)
    assert "*Not aligned yet*" in lines
    shown = objective_lines(lines)
    assert set(shown) == numbers
    assert all(len(full) == 1 for full, _ in shown.values())
    assert sum(len(f) + len(a) for f, a in shown.values()) == 1 + links
    assert f"Page {len(pages)} of {len(pages)}" in str(pages[-1]["blocks"])


def test_chain_of_two_thousand_links_answers_with_rolled_up_progress(driver, slack, engine):
    """A chain of 2,000 links raised RecursionError and the user got no reply. Now the tree
    pages through it, deep levels shown with their depth rather than ever wider indents, and
    a check-in at the bottom moves the objective above it."""
    support = department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    made = chain(engine, support.id, 2000, current=50.0)  # every objective's own 50%
    top, bottom = made[0][1], made[-1][1]
    with Session(engine) as s:
        bottom_kr = s.exec(
            select(KeyResult.number).where(KeyResult.objective_id == made[-1][0])
        ).one()
    slack.reset()
    driver.command("/checkin", f"KR-{bottom_kr} 100 8/10", user=ALICE)
    assert "Checked in" in driver.last_reply_text()

    for scope in ("", f"O-{top}"):
        slack.reset()
        driver.command("/okr", f"tree {scope}".strip(), user=CAROL)
        first = driver.replies()[-1]
        # One line per objective (and a heading for the whole quarter's tree), 40 a page.
        m = re.search(r"Page 1 of (\d+) · (\d+) lines", str(first["blocks"]))
        assert m is not None and (int(m.group(1)), int(m.group(2))) == (51, 2001)
        (button,) = [
            e
            for b in first["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "okr_tree_next"
        ]
        scope_value = button["value"].rpartition("|")[0]
        pages = [first]
        for page in (50, 51):  # the bottom of the chain, as the Next button would bring it
            slack.reset()
            driver.block_action("okr_tree_next", f"{scope_value}|{page}", user=CAROL)
            pages.append(driver.replies()[-1])
            assert f"Page {page} of 51" in str(pages[-1]["blocks"])
        shown = objective_lines(tree_lines(pages))
        assert all(len(full) == 1 and not again for full, again in shown.values())
        assert " 50% " in shown[top][0][0]  # (50% own + 50% below) / 2, all the way up
        assert " 100% " in shown[bottom][0][0]
        assert " 75% " in shown[made[-2][1]][0][0]  # (50% + 100%) / 2
        deepest = shown[bottom][0][0]
        assert "level 2000" in deepest.split(f"*O-{bottom}*")[0]  # its depth, as a number
        assert len(deepest) < 300
