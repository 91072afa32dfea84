"""HTTP mode through the real WSGI server (waitress): signatures, health, and a full command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, func, select
from waitress import create_server

from slackapp.http_server import make_wsgi_app
from storage.models import Department
from tests.conftest import ADMIN
from tests.support.slack_driver import SlackDriver, sign


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
    http = SlackDriver(app.bolt, slack, http_url=server)
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


def _children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(entry.name))
    return kids


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_serve_with_workers_replaces_a_dead_worker_and_stops_cleanly(tmp_path, slack):
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "LOYALTY_", "DATABASE_"))
        },
        "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": slack.api_url,
    }
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty", "serve", "--host", "127.0.0.1", "--port", str(number),
         "--workers", "2"],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (_healthy(number) and len(_children(proc.pid)) == 2):
            assert time.monotonic() < deadline and proc.poll() is None, "workers did not start"
            time.sleep(0.2)
        victim = sorted(_children(proc.pid))[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            kids = _children(proc.pid)
            if len(kids) == 2 and victim not in kids and _healthy(number):
                break
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not _healthy(number) and not _children(proc.pid)
        assert "starting a new one" in (tmp_path / "serve.log").read_text()
    finally:
        for pid in _children(proc.pid):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
