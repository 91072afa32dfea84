"""HTTP mode through real `loyalty serve` processes (gunicorn) against the fake Slack:
signatures, health, the body-size limit, a killed worker replaced, a graceful restart on
SIGHUP, and the drain on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, func, select

from storage.db import make_engine
from storage.models import Department
from tests.conftest import ADMIN, ALICE, BOB, CAROL, _truncate_postgres
from tests.fakes.slack_api import FakeSlack
from tests.support.oauth_helpers import KEY_OLD, TEAM_B, Browser, install, raw_rows
from tests.support.processes import child_pids, free_port, healthy
from tests.support.slack_driver import SIGNING_SECRET, sign

FORM = "application/x-www-form-urlencoded"


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


class Serve:
    """One `loyalty serve` process (the gunicorn master) on a free loopback port."""

    def __init__(
        self, db_url: str, slack: FakeSlack, log_path: Path, *args: str, env: dict | None = None
    ):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "LOYALTY_", "DATABASE_", "GOOGLE_", "KPI_"))
            },
            "DATABASE_URL": db_url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            **(env or {}),
        }
        self.log_path = log_path
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loyalty", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), *args],
            env=env, cwd=log_path.parent, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
        wait_until(
            lambda: (
                self.proc.poll() is None
                and len(self.workers()) == workers
                and self.booted(self.workers())
                and healthy(self.port)
                or self._died()
            ),
            60,
            "loyalty serve did not become healthy",
        )

    def booted(self, workers: set[int]) -> bool:
        """Every worker has built its app (not only forked), so none is still starting."""
        output = self.output()
        return all(f"Worker {pid} ready" in output for pid in workers)

    def _died(self) -> bool:
        assert self.proc.poll() is None, f"loyalty serve exited: {self.log_path.read_text()}"
        return False

    def workers(self) -> set[int]:
        return child_pids(self.proc.pid)

    def output(self) -> str:
        return self.log_path.read_text()

    def close(self) -> None:
        for pid in self.workers():
            os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def fake_slack():
    fake = FakeSlack().start()
    for user, name in [(ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol")]:
        fake.add_user(user, name=name)
    fake.add_user(ADMIN, name="Ada Admin", admin=True)
    yield fake
    fake.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory, sqlite_template, fake_slack):
    """One `loyalty serve --workers 2` per database, shared by the request-level tests."""
    where = tmp_path_factory.mktemp("serve")
    if request.param == "sqlite":
        shutil.copy(sqlite_template, where / "serve.db")
        url = f"sqlite:///{where / 'serve.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_postgres(url)
    fake_slack.reset()  # replies are told apart by name within one database's run
    server = Serve(url, fake_slack, where / "serve.log", "--workers", "2")
    engine = make_engine(url)
    yield server, engine
    engine.dispose()
    server.close()


def post(base: str, body: str, headers: dict) -> tuple[int, str]:
    req = urllib.request.Request(
        base + "/slack/events", data=body.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def command_body(slack: FakeSlack, text: str, reply_to: str, command: str = "/okr") -> str:
    return urlencode(
        {
            "team_id": slack.team_id,
            "user_id": ADMIN,
            "command": command,
            "text": text,
            "response_url": slack.response_url(reply_to),
            "trigger_id": "1.1.x",
            "channel_id": "C1",
            "api_app_id": "A0LOYALTY1",
        }
    )


def departments(engine, name: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count()).select_from(Department).where(Department.name == name)
        ).one()


def replies(slack: FakeSlack, name: str) -> list[str]:
    return [
        c.args.get("text", "") for c in slack.calls_to("response_url") if c.args["_name"] == name
    ]


def test_healthz(served):
    server, _ = served
    with urllib.request.urlopen(server.base + "/healthz", timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {"ok": True}


def test_signed_command_is_handled_and_answered_in_its_acknowledgement(served, fake_slack):
    server, engine = served
    body = command_body(fake_slack, "dept create Retention", "signed")
    status, answer = post(server.base, body, {"content-type": FORM, **sign(body)})
    assert status == 200 and "Created" in json.loads(answer)["text"]
    assert departments(engine, "Retention") == 1
    assert replies(fake_slack, "signed") == []  # no second request to Slack


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "wrong_secret"])
def test_bad_signatures_get_401_and_change_nothing(served, fake_slack, case):
    server, engine = served
    body = command_body(fake_slack, f"dept create Forged {case}", f"bad-{case}")
    headers = {"content-type": FORM}
    if case == "forged":
        headers |= sign(body)
        headers["x-slack-signature"] = "v0=" + "0" * 64
    elif case == "stale":
        headers |= sign(body, timestamp=int(time.time()) - 6 * 60)
    elif case == "wrong_secret":
        headers |= sign(body, secret="someone-elses-secret")
    status, _ = post(server.base, body, headers)
    assert status == 401
    time.sleep(0.2)
    assert departments(engine, f"Forged {case}") == 0
    assert replies(fake_slack, f"bad-{case}") == []


def raw_exchange(port: int, head: bytes, body: bytes) -> bytes:
    """Send a request byte for byte and return what the server answered before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            sock.sendall(body)
        except OSError:  # the server may answer and close before reading it all
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:  # closed on unread data: what arrived before still counts
            pass
        return answer


def test_oversized_body_refused_before_it_is_read(served):
    server, _ = served
    body = "x" * (600 * 1024)
    headers = sign(body)
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        f"X-Slack-Request-Timestamp: {headers['x-slack-request-timestamp']}\r\n"
        f"X-Slack-Signature: {headers['x-slack-signature']}\r\n\r\n"
    ).encode()
    # Only the headers and a first part of the body: the answer must not wait for the rest.
    assert raw_exchange(server.port, head, body[:1024].encode()).startswith(b"HTTP/1.1 413")
    # A client that sends it all gets the same answer (it may find the connection closed while
    # still sending: the server does not read what it refuses, so the answer is read after).
    assert raw_exchange(server.port, head, body.encode()).startswith(b"HTTP/1.1 413")


def test_oversized_chunked_body_refused(served):
    server, _ = served
    chunk = b"x" * (64 * 1024)
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 10 + b"0\r\n\r\n"
    assert raw_exchange(server.port, head, body).startswith(b"HTTP/1.1 413")


def test_unknown_path_404(served):
    server, _ = served
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.base + "/nope", timeout=5)
    assert err.value.code == 404


def test_killed_worker_replaced_even_if_slack_fails_then_hup_restarts_workers(
    tmp_path, sqlite_template, fake_slack
):
    shutil.copy(sqlite_template, tmp_path / "w.db")
    server = Serve(f"sqlite:///{tmp_path / 'w.db'}", fake_slack, tmp_path / "serve.log",
                   "--workers", "2")  # fmt: skip
    try:
        first = server.workers()
        victim, survivor = sorted(first)
        # Slack failing (503, three times: one start with its retries) just as the replacement
        # starts: it tries again instead of taking the whole server down.
        fake_slack.http_error("auth.test", status=503, times=3)
        os.kill(victim, signal.SIGKILL)

        def replacement() -> set[int] | None:
            kids = server.workers()
            return kids if len(kids) == 2 and victim not in kids else None

        replaced = wait_until(replacement, 30, "the killed worker was not replaced")
        (newcomer,) = replaced - {survivor}
        # With the survivor paused, only the new worker can accept: it answers.
        os.kill(survivor, signal.SIGSTOP)
        try:
            assert wait_until(lambda: healthy(server.port), 20, "the new worker does not answer")
        finally:
            os.kill(survivor, signal.SIGCONT)
        assert f"Booting worker with pid: {newcomer}" in server.output()
        assert f"Worker {newcomer} could not start" in server.output()
        # Graceful restart: every worker replaced by a new one, the port answering throughout.
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while not ((kids := server.workers()) and len(kids) == 2 and not kids & replaced):
            assert healthy(server.port), "a request was refused during the graceful restart"
            assert time.monotonic() < deadline, "SIGHUP did not replace the workers"
            time.sleep(0.1)
        assert healthy(server.port)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
        assert not healthy(server.port) and not server.workers()
    finally:
        server.close()


def test_sigterm_drains_in_flight_request_and_acknowledged_work(
    tmp_path, sqlite_template, fake_slack
):
    shutil.copy(sqlite_template, tmp_path / "d.db")
    url = f"sqlite:///{tmp_path / 'd.db'}"
    server = Serve(url, fake_slack, tmp_path / "serve.log", "--workers", "2")
    engine = make_engine(url)
    try:
        # Acknowledged work still running: the admin check waits 4 s on a rate-limited
        # users.info, so the acknowledgement's deadline (2 s) answers Slack first.
        fake_slack.rate_limit("users.info", retry_after=4, match={"user": ADMIN})
        body = command_body(fake_slack, "dept create Drained", "drained")
        assert post(server.base, body, {"content-type": FORM, **sign(body)}) == (200, "")
        # A request in progress: headers and half of the body sent, the rest after SIGTERM.
        second = command_body(fake_slack, "help", "in-flight")
        raw = second.encode()
        headers = sign(second)
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        sock.sendall(
            (
                f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
                f"Content-Length: {len(raw)}\r\nConnection: close\r\n"
                f"X-Slack-Request-Timestamp: {headers['x-slack-request-timestamp']}\r\n"
                f"X-Slack-Signature: {headers['x-slack-signature']}\r\n\r\n"
            ).encode()
            + raw[: len(raw) // 2]
        )
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert not departments(engine, "Drained"), "the acknowledged work ended too early"
        sock.sendall(raw[len(raw) // 2 :])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        sock.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert server.proc.wait(timeout=30) == 0
        # Both finished before the exit: the in-flight request and the acknowledged work.
        assert departments(engine, "Drained") == 1
        assert any("Created" in text for text in replies(fake_slack, "drained"))
        assert b"/okr new" in answer  # the in-flight command's answer, in its acknowledgement
    finally:
        engine.dispose()
        server.close()


def test_oauth_install_routes_served_when_oauth_is_configured(
    tmp_path, sqlite_template, fake_slack
):
    shutil.copy(sqlite_template, tmp_path / "oauth.db")
    url = f"sqlite:///{tmp_path / 'oauth.db'}"
    client_id, client_secret = fake_slack.oauth_client
    oauth_env = {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": client_id,
        "SLACK_CLIENT_SECRET": client_secret,
        "LOYALTY_ENCRYPTION_KEY": KEY_OLD,
    }
    server = Serve(url, fake_slack, tmp_path / "serve.log", "--workers", "2", env=oauth_env)
    engine = make_engine(url)
    try:
        # The install page, the redirect and the state check, across two worker processes.
        page = install(Browser(server.base), fake_slack, team_id=TEAM_B)
        assert f"slack://app?team={TEAM_B}" in page
        assert len(raw_rows(engine, "slack_installations")) == 1
    finally:
        engine.dispose()
        server.close()
