"""Where a slash command's answer goes (slackapp.command_answer): in the acknowledgement when it
is ready in time, through the response URL when the acknowledgement's deadline came first —
whether the database was slow or every listener thread was busy — and never later than the
deadline, even when the listener fails."""

from __future__ import annotations

import json
import logging
import threading
import time

from sqlmodel import Session, func, select

from slackapp.command_answer import FAILED
from slackapp.listeners import kudos, objectives
from storage.models import Department
from tests.conftest import ADMIN, ALICE
from tests.support.factories import department, objective
from tests.support.slow import slow_down


def posted_replies(slack) -> list[dict]:
    """What the app itself posted to response URLs (not the acknowledgements' replies)."""
    return [c.args for c in slack.calls_to("response_url") if c.args.get("_via") != "ack"]


def test_a_read_is_answered_in_its_acknowledgement(driver, slack, engine):
    dept = department(engine, name="Support", heads=(ALICE,))
    objective(engine, dept, owner=ALICE, title="Answer every ticket in a day")
    resp = driver.command("/okr", "list all", user=ALICE)
    assert resp.status == 200
    answer = json.loads(resp.body)
    assert "Answer every ticket in a day" in json.dumps(answer["blocks"])
    assert len(answer["blocks"]) <= 50  # Slack's limit for a message holds for the ack too
    help_answer = json.loads(driver.command("/okr", "help", user=ALICE).body)
    assert "/okr show O-12" in help_answer["text"]
    assert posted_replies(slack) == []  # no second request to Slack


def test_a_mistake_is_answered_in_the_acknowledgement_and_writes_nothing(driver, slack, engine):
    resp = driver.command("/okr", "dept create", user=ADMIN)
    answer = json.loads(resp.body)
    assert answer["response_type"] == "ephemeral"
    assert "/okr dept create" in json.dumps(answer["blocks"])  # quoted, with the usage
    assert posted_replies(slack) == []
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Department)).one() == 0


def test_a_slow_read_is_acknowledged_by_the_deadline_and_answered_later(
    app, driver, slack, engine, monkeypatch
):
    dept = department(engine, name="Support", heads=(ALICE,))
    objective(engine, dept, owner=ALICE, title="Answer every ticket in a day")
    app.deps.ack_deadlines.budget = 0.2  # Slack's patience, shortened for the test
    slow_down(monkeypatch, objectives, "respond_list", 0.8)  # a database that answers late
    started = time.monotonic()
    resp = driver.command("/okr", "list all", user=ALICE)
    assert time.monotonic() - started < 0.6  # the deadline acknowledged it, not the answer
    assert resp.status == 200 and not resp.body
    (reply,) = [c.args for c in slack.wait_for("response_url", 1)]
    assert reply.get("_via") is None  # a real post to the response URL
    assert "Answer every ticket in a day" in json.dumps(reply["blocks"])


def test_a_command_waiting_for_a_listener_thread_is_acknowledged_by_its_deadline(
    app, driver, slack
):
    """The deadline runs from the request's arrival: a command queued behind busy listener
    threads is still acknowledged in time, and answered once a thread is free."""
    app.deps.ack_deadlines.budget = 0.3
    release = threading.Event()
    executor = app.bolt.listener_runner.listener_executor
    busy = [executor.submit(release.wait, 10) for _ in range(executor._max_workers)]
    try:
        started = time.monotonic()
        resp = driver.command("/okr", "help", user=ALICE)
        waited = time.monotonic() - started
    finally:
        release.set()
    assert all(f.result(timeout=10) for f in busy)
    assert resp.status == 200 and not resp.body
    assert 0.3 <= waited < 1.0
    (reply,) = [c.args for c in slack.wait_for("response_url", 1)]
    assert reply.get("_via") is None and "/okr show O-12" in reply["text"]


def test_a_failing_command_is_acknowledged_at_once_with_an_apology(
    app, driver, slack, monkeypatch, caplog
):
    app.deps.ack_deadlines.budget = 5.0  # so only the failure can have acknowledged it

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(objectives, "respond_list", broken)
    with caplog.at_level(logging.ERROR, logger="slackapp.command_answer"):
        started = time.monotonic()
        resp = driver.command("/okr", "list all", user=ALICE)
        waited = time.monotonic() - started
    assert resp.status == 200 and waited < 1.0
    assert json.loads(resp.body)["text"] == FAILED
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
    assert posted_replies(slack) == []


def test_the_deadline_watcher_ends_when_no_command_is_in_flight(app, driver):
    app.deps.ack_deadlines.budget = 0.1
    driver.command("/okr", "help", user=ALICE)
    deadline = time.monotonic() + 5
    while app.deps.ack_deadlines._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.deps.ack_deadlines._thread is None
    # …and starts again with the next command.
    assert json.loads(driver.command("/okr", "help", user=ALICE).body)["text"]


def test_a_command_acknowledged_first_that_fails_tells_its_author_through_the_response_url(
    driver, slack, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug after the acknowledgement")

    monkeypatch.setattr(kudos, "parse_kudos_text", broken)
    resp = driver.command("/kudos", "<@U0BOB0001> saved the renewal", user=ALICE)
    assert resp.status == 200 and not resp.body  # /kudos acknowledges first
    (reply,) = [c.args for c in slack.wait_for("response_url", 1)]
    assert reply.get("_via") is None and reply["text"] == FAILED
