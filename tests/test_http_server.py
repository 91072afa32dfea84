"""HTTP mode through the real WSGI server (waitress): signatures, health, and a full command."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, func, select
from waitress import create_server

from slackapp.http_server import make_wsgi_app
from storage.models import Department
from tests.conftest import ADMIN
from tests.slack_driver import SlackDriver, sign


@pytest.fixture
def server(app):
    srv = create_server(make_wsgi_app(app), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()


def post(url, body: str, headers: dict) -> tuple[int, str]:
    req = urllib.request.Request(
        url + "/slack/events", data=body.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def departments(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Department)).one()


def test_healthz(server):
    with urllib.request.urlopen(server + "/healthz", timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {"ok": True}


def test_signed_command_over_http_creates_department(server, app, slack, engine):
    http = SlackDriver(app, slack, http_url=server)
    resp = http.command("/okr", "dept create Retention", user=ADMIN)
    assert resp.status == 200
    assert "Created" in http.last_reply_text()
    assert departments(engine) == 1


def _command_body(slack) -> str:
    return urlencode(
        {
            "team_id": slack.team_id,
            "user_id": ADMIN,
            "command": "/okr",
            "text": "dept create Forged",
            "response_url": slack.response_url("forged"),
            "trigger_id": "1.1.x",
            "channel_id": "C1",
            "api_app_id": "A0LOYALTY1",
        }
    )


@pytest.mark.parametrize("case", ["forged", "missing", "stale", "wrong_secret"])
def test_bad_signatures_get_401_and_change_nothing(server, slack, engine, case):
    body = _command_body(slack)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if case == "forged":
        headers |= sign(body)
        headers["x-slack-signature"] = "v0=" + "0" * 64
    elif case == "stale":
        headers |= sign(body, timestamp=int(time.time()) - 6 * 60)
    elif case == "wrong_secret":
        headers |= sign(body, secret="someone-elses-secret")
    status, _ = post(server, body, headers)
    assert status == 401
    time.sleep(0.2)
    assert departments(engine) == 0
    assert slack.calls_to("response_url") == []


def test_oversized_body_refused(server):
    body = "x" * (600 * 1024)
    status, _ = post(
        server, body, {"content-type": "application/x-www-form-urlencoded", **sign(body)}
    )
    assert status == 413


def test_unknown_path_404(server):
    try:
        urllib.request.urlopen(server + "/nope", timeout=5)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as err:
        assert err.code == 404
