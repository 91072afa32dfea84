"""Logging (spec §10): LOG_FORMAT=json gives one JSON object per line; a line logged while a
Slack request is handled names its team, user and command; libraries' chatter only at DEBUG."""

from __future__ import annotations

import io
import json
import logging

import pytest

from slackapp import logging_setup
from slackapp.app import create_app
from storage.db import upgrade
from tests.conftest import ALICE
from tests.support.oauth_helpers import wait_until


@pytest.fixture
def log_stream():
    """The app's logging configured into a buffer; the root logger restored afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    saved_chatty = {n: logging.getLogger(n).level for n in logging_setup.CHATTY_LOGGERS}
    stream = io.StringIO()

    def configure(level="INFO", fmt="json"):
        stream.seek(0)
        stream.truncate()
        logging_setup.configure(level, fmt, stream=stream)
        return stream

    yield configure
    for handler in list(root.handlers):
        if handler not in saved[1]:
            root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved_chatty.items():
        logging.getLogger(name).setLevel(level)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_name_the_slack_request(log_stream, driver, slack):
    stream = log_stream("INFO", "json")
    slack.api_error("views.open", "invalid_trigger_id")
    driver.command("/kudos", "", user=ALICE)  # opening the form fails: an error is logged
    wait_until(lambda: "invalid_trigger_id" in stream.getvalue())
    records = lines(stream)  # every line parses as one JSON object
    about = [r for r in records if "invalid_trigger_id" in r["message"]]
    assert about[0]["level"] == "ERROR" and "Traceback" in about[0]["exception"]
    assert about[0]["team"] == "T0TEAMA01" and about[0]["user"] == ALICE
    assert about[0]["command"] == "/kudos"
    # Outside a request nothing is added.
    logging.getLogger("loyalty").info("plain line")
    assert "team" not in lines(stream)[-1]


def test_text_format_puts_the_request_at_the_end(log_stream, driver, slack):
    stream = log_stream("INFO", "text")
    slack.api_error("views.open", "invalid_trigger_id")
    driver.command("/kudos", "", user=ALICE)
    wait_until(lambda: "invalid_trigger_id" in stream.getvalue())
    text = stream.getvalue()
    assert " ERROR slackapp.command_answer: A slash command failed" in text
    assert "invalid_trigger_id'}) [team=T0TEAMA01 user=U0ALICE01 command=/kudos]\n" in text


def test_library_chatter_only_at_debug(log_stream, tmp_path, settings, engine, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")  # Bolt warns on this
    for level in ("INFO", "DEBUG"):
        stream = log_stream(level, "text")
        upgrade(f"sqlite:///{tmp_path / f'{level}.db'}")  # alembic: ~9 INFO lines
        logging.getLogger("apscheduler.executors.default").info("Running job tick")
        app = create_app(settings, engine)
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)
        text = stream.getvalue()
        chatter = ("Running upgrade", "Running job tick", "will be unused")
        if level == "INFO":
            assert not any(c in text for c in chatter), text
        else:
            assert all(c in text for c in chatter), text
            assert "DEBUG slack_bolt" in text and "WARNING slack_bolt" not in text
