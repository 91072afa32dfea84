"""HTTP mode: `POST /slack/events`, `GET /healthz`, served by waitress (a production WSGI server)."""

from __future__ import annotations

import io
import json
import logging

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from slackapp.app import SlackApp
from slackapp.input_guard import malformed_reason

log = logging.getLogger(__name__)
MAX_BODY = 512 * 1024  # Slack payloads are far smaller; refuse anything bigger before parsing


def make_wsgi_app(app: SlackApp):
    handler = SlackRequestHandler(app.bolt)
    engine = app.deps.engine
    extra_routes = app.routes

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method == "GET":
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                body, status = {"ok": True}, "200 OK"
            except Exception as exc:  # noqa: BLE001 - health checks report, never raise
                body, status = {"ok": False, "error": type(exc).__name__}, "503 Service Unavailable"
            data = json.dumps(body).encode()
            start_response(
                status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
            )
            return [data]
        if path == "/slack/events" and method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
                return [b"payload too large"]
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)  # Bolt's adapter reads it again
            reason = malformed_reason(raw, environ.get("CONTENT_TYPE", ""))
            if reason is not None:
                log.info("Refused a malformed request on /slack/events: %s", reason)
                data = f"malformed request: {reason}".encode()
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))],
                )
                return [data]
            try:
                return handler(environ, start_response)
            except Exception as exc:  # noqa: BLE001
                # Bolt parses the body before verifying it: JSON that is not an object, or not
                # JSON at all, raises here (listener and middleware errors never get this far:
                # Bolt answers those itself). A clear 400, not a 500 with a stack trace.
                log.info(
                    "Refused a malformed request body on /slack/events (%s)", type(exc).__name__
                )
                data = b"malformed request body"
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))],
                )
                return [data]
        if path in extra_routes:
            return extra_routes[path](environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return wsgi


def serve(
    app: SlackApp, host: str, port: int, threads: int = 8, sockets: list | None = None
) -> None:
    """Serve until SIGTERM/SIGINT, then drain: requests in progress finish, and work already
    acknowledged to Slack (listeners still running after ack) completes before the exit."""
    import signal

    from waitress import create_server

    where = {"sockets": sockets} if sockets else {"host": host, "port": port}
    server = create_server(
        make_wsgi_app(app),
        threads=threads,
        max_request_body_size=MAX_BODY,
        ident="loyalty-okrs",
        **where,
    )

    stopping = False

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        if stopping:  # a second signal must not interrupt the drain
            return
        stopping = True
        raise SystemExit(0)  # leaves waitress's loop, which then waits for its task threads

    signal.signal(signal.SIGTERM, stop)
    log.info("Listening on http://%s:%s/slack/events", host, server.effective_port)
    try:
        server.run()
    finally:
        server.close()
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)
        log.info("Stopped: in-flight requests and acknowledged work finished")


def serve_workers(make_app, host: str, port: int, workers: int, threads: int = 8) -> None:
    """Pre-fork: `workers` processes share one listening socket, so one `loyalty serve` uses
    every core (Python runs one request at a time per process). A worker that dies is replaced;
    SIGTERM/SIGINT stop them all, each draining its requests first. The app (and its database
    engine) is built in each worker after the fork, never shared across processes."""
    import os
    import signal
    import socket
    import time

    # Build the app once here so a bad token or database fails fast, with its message, instead
    # of in a loop of dying workers; the workers build their own after the fork.
    probe = make_app()
    probe.deps.engine.dispose()
    del probe

    sock = socket.create_server((host, port), backlog=2048, reuse_port=False)
    sock.setblocking(False)
    children: dict[int, float] = {}  # pid -> start time
    stopping = False
    backoff = 0.5

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: drop the parent's handlers before anything else
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent relays the stop
            code = 0
            try:
                serve(make_app(), host, port, threads=threads, sockets=[sock])
            except BaseException:  # noqa: BLE001 - report and let the parent replace us
                log.exception("worker %s failed", os.getpid())
                code = 1
            os._exit(code)
        children[pid] = time.monotonic()

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for _ in range(workers):
        spawn()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "Listening on http://%s:%s/slack/events with %s workers",
        host,
        sock.getsockname()[1],
        workers,
    )
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = children.pop(pid, time.monotonic())
        if not stopping:
            # A worker dying right after start would die again: back off before replacing it.
            backoff = min(30.0, backoff * 2) if time.monotonic() - started < 10 else 0.5
            log.warning(
                "worker %s exited (status %s); starting a new one in %.1fs", pid, status, backoff
            )
            time.sleep(backoff)
            if not stopping:
                spawn()
    sock.close()
