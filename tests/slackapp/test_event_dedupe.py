"""An event retried by Slack (X-Slack-Retry-Num / retry_attempt) or delivered twice is processed
once, by event_id: through App.dispatch, over the real HTTP server (concurrently), in Socket
Mode, and across two app instances sharing one database (two workers)."""

from __future__ import annotations

import json
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from slackapp.app import create_app
from slackapp.event_dedupe import first_delivery, prune_processed_events
from storage.models import ProcessedEvent, utcnow
from tests.conftest import ALICE
from tests.support.oauth_helpers import serve_in_thread, wait_until
from tests.support.slack_driver import SlackDriver

HOME = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE01", "tab": "home"}


def publishes(slack) -> int:
    return len(slack.calls_to("views.publish"))


def settle(app):
    """Wait for every listener started after its ack."""
    app.bolt.listener_runner.listener_executor.submit(lambda: None).result(timeout=10)


def test_retry_with_same_event_id_runs_once(driver, app, slack, engine):
    assert driver.event(HOME, event_id="Ev0RETRY01").status == 200
    slack.wait_for("views.publish")
    for n in (1, 2, 3):
        resp = driver.event(
            HOME,
            event_id="Ev0RETRY01",
            headers={"x-slack-retry-num": str(n), "x-slack-retry-reason": "http_timeout"},
        )
        assert resp.status == 200
    settle(app)
    assert publishes(slack) == 1
    # A different event is a different delivery.
    driver.event(HOME, event_id="Ev0RETRY02")
    slack.wait_for("views.publish", 2)
    with Session(engine) as s:
        ids = sorted(r.event_id for r in s.exec(select(ProcessedEvent)))
        assert ids == ["Ev0RETRY01", "Ev0RETRY02"]


def test_concurrent_duplicates_over_http_run_once(app, slack, engine):
    url, srv = serve_in_thread(app)
    try:
        http = SlackDriver(app.bolt, slack, http_url=url)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(lambda _: http.event(HOME, event_id="Ev0PARALLEL").status, range(8))
            )
        assert statuses == [200] * 8
        slack.wait_for("views.publish")
        settle(app)
        assert publishes(slack) == 1
    finally:
        srv.close()


def test_two_workers_sharing_the_database_process_once(settings, engine, slack):
    worker_a, worker_b = create_app(settings, engine), create_app(settings, engine)
    try:
        SlackDriver(worker_a.bolt, slack).event(HOME, event_id="Ev0TWOWORK")
        SlackDriver(worker_b.bolt, slack).event(
            HOME, event_id="Ev0TWOWORK", headers={"x-slack-retry-num": "1"}
        )
        slack.wait_for("views.publish")
        settle(worker_a)
        settle(worker_b)
        assert publishes(slack) == 1
    finally:
        for worker in (worker_a, worker_b):
            worker.bolt.listener_runner.listener_executor.shutdown(wait=True)


def test_socket_mode_redelivery_runs_once(settings, engine, slack):
    pytest.importorskip("websockets")
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from websockets.sync.server import serve

    acks: queue.Queue = queue.Queue()
    outgoing: queue.Queue = queue.Queue()

    def handler(ws):
        ws.send(json.dumps({"type": "hello", "num_connections": 1}))
        while True:
            try:
                ws.send(json.dumps(outgoing.get(timeout=0.05)))
            except queue.Empty:
                pass
            try:
                acks.put(json.loads(ws.recv(timeout=0.05)))
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the client closed the connection
                return

    server = serve(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slack.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link"
    app = create_app(settings, engine)
    socket = SocketModeHandler(app.bolt, "xapp-1-A0LOYALTY1-test")
    socket.connect()
    try:
        payload = {
            "token": "legacy",
            "team_id": slack.team_id,
            "api_app_id": "A0LOYALTY1",
            "type": "event_callback",
            "event_id": "Ev0SOCKET1",
            "event_time": 1,
            "event": {**HOME, "event_ts": "1.0"},
        }
        for attempt, envelope in enumerate(("env-1", "env-2", "env-3")):
            outgoing.put(
                {
                    "envelope_id": envelope,
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "retry_attempt": attempt,
                    "retry_reason": "timeout" if attempt else "",
                    "payload": payload,
                }
            )
        acked = set()
        wait_until(lambda: acked.update([acks.get(timeout=10)["envelope_id"]]) or len(acked) == 3)
        slack.wait_for("views.publish")
        settle(app)
        assert publishes(slack) == 1
    finally:
        socket.close()
        server.shutdown()
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)


def test_first_delivery_and_pruning(engine):
    assert first_delivery(engine, event_id="Ev0STORE01", team_id="T0TEAMA01")
    assert not first_delivery(engine, event_id="Ev0STORE01", team_id="T0TEAMA01")
    from datetime import timedelta

    assert prune_processed_events(engine, now=utcnow()) == 0
    assert prune_processed_events(engine, now=utcnow() + timedelta(days=8)) == 1
    assert first_delivery(engine, event_id="Ev0STORE01", team_id="T0TEAMA01")
