"""Deprecated: the previous HTTP server (waitress, with a hand-made pre-fork manager).

`loyalty serve --server waitress` keeps it for one release so deployments can compare it with
gunicorn (the default, slackapp/http_server.py) and benches can measure both in one run; it
will be removed in the next release.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slackapp.http_server import MAX_BODY, make_wsgi_app

if TYPE_CHECKING:
    from slackapp.app import SlackApp

log = logging.getLogger(__name__)


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
    engine) is built in each worker after the fork, never shared across processes; the caller
    builds one first, so a refused token stops the start instead of every worker."""
    import os
    import signal
    import socket
    import time

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
