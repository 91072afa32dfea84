"""`loyalty run` in Socket Mode: apps.connections.open on the fake Web API hands out a local
WebSocket URL; a slash-command envelope delivered over it is acknowledged and answered (through
the response URL, or for `/checkin` in the acknowledgement's payload)."""

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
        ack = received.get(timeout=20)
        while ack.get("envelope_id") != "env-123":
            ack = received.get(timeout=20)
        assert ack["envelope_id"] == "env-123"
        reply = slack.wait_for("response_url", timeout=20)[0]
        assert reply["_name"] == "socket"
        assert "/okr new" in json.dumps(reply["blocks"]) and reply["response_type"] == "ephemeral"

        # /checkin answers in its acknowledgement: over Socket Mode, in the envelope's payload.
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
        ack = received.get(timeout=20)
        while ack.get("envelope_id") != "env-456":
            ack = received.get(timeout=20)
        answer = ack["payload"]
        assert "There is no key result `KR-999`" in answer["text"], ack
        assert answer["response_type"] == "ephemeral"
        assert not [c for c in slack.calls_to("response_url") if c["_name"] == "socket-checkin"]
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out
