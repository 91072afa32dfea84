"""Praise-sheet staff → Slack users, against the fake Slack Web API over HTTP."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from jobs.sheet_values import PraiseRow
from jobs.staff_matching import StaffMatcher, looks_like_email, match_praise
from slackapp.web_client import make_web_client
from tests.conftest import BOB, CAROL

HOSTILE_CELL = "x@" + "a." * 25_000 + " "  # 50k characters that once took a regex ~30 s


@pytest.fixture
def matcher(settings):
    return StaffMatcher(make_web_client(settings))


def row(staff: str) -> PraiseRow:
    return PraiseRow("key-" + staff[:20], date(2026, 11, 20), "Dana", "Lovely", staff, "Praise!D2")


def test_mentions_handles_and_emails_match_people(matcher, slack):
    slack.users[BOB]["profile"]["email"] = "bob@example.com"
    assert matcher.match("<@U0BOB0001>") == BOB
    assert matcher.match("<@U0BOB0001|bob>") == BOB
    assert matcher.match("U0CAROL01") == CAROL
    assert matcher.match("@Carol") == CAROL
    assert matcher.match("bob@example.com") == BOB
    assert matcher.match("ghost@example.com") is None


@pytest.mark.parametrize(
    "staff", ["UNASSIGNED", "WAITING", "<@UNASSIGNED>", "U0NOSUCH1", "<@U0NOSUCH1|ghost>", "TBD"]
)
def test_words_and_ids_of_nobody_are_unmatched(matcher, slack, staff):
    praise, problems, unmatched = match_praise([row(staff)], matcher)
    assert [p.staff_user_id for p in praise] == [None] and not problems
    assert unmatched == [f"Praise!D2: `{staff}`"]
    assert not slack.calls_to("users.lookupByEmail")


def test_a_huge_cell_is_judged_in_one_pass(matcher, slack):
    outcome: list = []
    worker = threading.Thread(
        target=lambda: outcome.append(match_praise([row(HOSTILE_CELL)], matcher))
    )
    worker.start()
    worker.join(timeout=20)  # a safety net only: linear work ends in milliseconds
    assert not worker.is_alive(), "matching a 50k-character cell did not finish"
    ((praise, problems, unmatched),) = outcome
    assert praise[0].staff_user_id is None and len(unmatched) == 1 and not problems
    assert not slack.calls_to("users.lookupByEmail")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dana@example.com", True),
        ("d.ana+kudos@mail.example.co.uk", True),
        ("dana@localhost", False),
        ("dana@.com", False),
        ("dana@example.", False),
        ("@example.com", False),
        ("dana@@example.com", False),
        ("dana smith@example.com", False),
        ("<dana@example.com>", False),
        ("dana", False),
        (HOSTILE_CELL, False),
        (HOSTILE_CELL.strip(), False),  # longer than any address
        ("d" * 64 + "@" + "e" * 185 + ".com", True),
    ],
)
def test_email_shape(text, expected):
    assert looks_like_email(text) is expected
