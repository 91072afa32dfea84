"""`loyalty run` in Socket Mode: apps.connections.open on the fake Web API hands out a local
WebSocket URL; a slash-command envelope delivered over it is acknowledged and answered: in the
acknowledgement's payload when the answer is ready in time, else through the response URL."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

import pytest
from websockets.sync.server import serve

from tests.support.slack_driver import SIGNING_SECRET


@pytest.fixture
def socket_server():
    received: queue.Queue = queue.Queue()
    to_send: queue.Queue = queue.Queue()

    def handler(ws):
        ws.send(
            json.dumps(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0LOYALTY1"}}
            )
        )
        while True:
            try:
                envelope = to_send.get(timeout=0.05)
                ws.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                msg = ws.recv(timeout=0.05)
                received.put(json.loads(msg))
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - connection closed by the client
                return

    server = serve(handler, "127.0.0.1", 0)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{port}/link", received, to_send
    server.shutdown()


def acked_payload(received: queue.Queue, envelope_id: str) -> dict:
    """The payload of the acknowledgement the app sent for `envelope_id` ({} when empty)."""
    ack = received.get(timeout=20)
    while ack.get("envelope_id") != envelope_id:
        ack = received.get(timeout=20)
    return ack.get("payload") or {}


def test_loyalty_run_acks_and_replies_over_socket_mode(slack, socket_server, tmp_path):
    url, received, to_send = socket_server
    slack.socket_url = url
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "LOYALTY_", "DATABASE_"))
        },
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": "xapp-1-test",
        "SLACK_API_URL": slack.api_url,
    }
    # Only `loyalty db upgrade` migrates; `loyalty run` refuses a database without the schema.
    subprocess.run(
        [sys.executable, "-m", "loyalty", "db", "upgrade"], env=env, cwd=tmp_path, check=True
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        slack.wait_for("apps.connections.open", timeout=30)
        envelope_payload = {
            "token": "legacy",
            "team_id": slack.team_id,
            "team_domain": "example",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": "U0BOB0001",
            "user_name": "bob",
            "command": "/okr",
            "text": "help",
            "api_app_id": "A0LOYALTY1",
            "response_url": slack.response_url("socket"),
            "trigger_id": "1.2.socket",
        }
        to_send.put(
            {
                "envelope_id": "env-123",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": envelope_payload,
            }
        )
        # An answer ready in time rides in the acknowledgement: in the envelope's payload.
        answer = acked_payload(received, "env-123")
        assert "/okr new" in json.dumps(answer["blocks"]) and answer["response_type"] == "ephemeral"

        to_send.put(
            {
                "envelope_id": "env-456",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    **envelope_payload,
                    "command": "/checkin",
                    "text": "KR-999 5 7/10",
                    "response_url": slack.response_url("socket-checkin"),
                    "trigger_id": "2.3.socket",
                },
            }
        )
        answer = acked_payload(received, "env-456")
        assert "There is no key result `KR-999`" in answer["text"]
        assert answer["response_type"] == "ephemeral"

        # /kudos acknowledges first (it posts and sends DMs before it can confirm): its answer
        # goes through the response URL.
        to_send.put(
            {
                "envelope_id": "env-789",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    **envelope_payload,
                    "command": "/kudos",
                    "text": "thanks for the quick fix",
                    "response_url": slack.response_url("socket-kudos"),
                    "trigger_id": "3.4.socket",
                },
            }
        )
        assert not acked_payload(received, "env-789")
        reply = slack.wait_for("response_url", timeout=20)[0]
        assert reply["_name"] == "socket-kudos"
        assert "thanks for the quick fix" in json.dumps(reply["blocks"])
        assert [c["_name"] for c in slack.calls_to("response_url")] == ["socket-kudos"]
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out
