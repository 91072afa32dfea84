"""HTTP mode: `POST /slack/events`, `GET /healthz`, `POST /hooks/feedback` (survey tools; see
slackapp/feedback_webhook.py) and the OAuth install paths when OAuth is configured, served by
gunicorn, the ecosystem's pre-fork server.

`serve` runs gunicorn in this process as the master: `workers` processes share the port, each
building its own Bolt app (and database engine) after the fork. gunicorn replaces a worker that
dies, restarts every worker gracefully on SIGHUP (no request refused; the code and settings stay
those the server started with: an upgrade is a stop and a start),
and on SIGTERM stops accepting, lets requests in progress finish and, here, the work already
acknowledged to Slack (listeners still running after ack) complete before each worker exits.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_bolt.adapter.wsgi import SlackRequestHandler

from slackapp.feedback_webhook import FEEDBACK_HOOK_PATH, FeedbackHook
from slackapp.input_guard import malformed_reason
from storage.health import check_database

if TYPE_CHECKING:
    from slackapp.app import SlackApp

log = logging.getLogger(__name__)
MAX_BODY = 512 * 1024  # Slack payloads are far smaller; refuse anything bigger before parsing


def _read_body(environ) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY (refused before reading it).
    A chunked body (no Content-Length) is read up to the limit and refused past it."""
    declared = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if not declared:
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return b""
        raw = stream.read(MAX_BODY + 1)
        return None if len(raw) > MAX_BODY else raw
    try:
        length = int(declared)
    except ValueError:
        return None
    if length < 0 or length > MAX_BODY:
        return None
    return stream.read(length) if length else b""


def make_wsgi_app(app: SlackApp):
    handler = SlackRequestHandler(app.bolt)
    engine = app.deps.engine
    extra_routes = app.routes
    feedback_hook = FeedbackHook(app)  # survey tools push customer answers here

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method == "GET":
            try:
                check_database(engine)
                body, status = {"ok": True}, "200 OK"
            except Exception as exc:  # noqa: BLE001 - health checks report, never raise
                body, status = {"ok": False, "error": type(exc).__name__}, "503 Service Unavailable"
            data = json.dumps(body).encode()
            start_response(
                status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
            )
            return [data]
        if path == "/slack/events" and method == "POST":
            raw = _read_body(environ)
            if raw is None:
                start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
                return [b"payload too large"]
            environ["wsgi.input"] = io.BytesIO(raw)  # Bolt's adapter reads it again
            environ["CONTENT_LENGTH"] = str(len(raw))  # and trusts this (a chunked body has none)
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
        if path == FEEDBACK_HOOK_PATH:
            return feedback_hook(environ, start_response)
        if path in extra_routes:
            return extra_routes[path](environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return wsgi


THREADS = 8  # requests served at once per worker (Bolt runs listeners in its own pool)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Logger:
    """gunicorn's lines go through the process's own logging set-up (level, format)
    instead of gunicorn's separate handlers."""

    @staticmethod
    def make():
        from gunicorn.glogging import Logger

        class RootLogger(Logger):
            def setup(self, cfg):
                super().setup(cfg)
                for gunicorn_log in (self.error_log, self.access_log):
                    for handler in list(gunicorn_log.handlers):
                        gunicorn_log.removeHandler(handler)
                self.error_log.propagate = True
                self.error_log.setLevel(logging.NOTSET)

        return RootLogger


def _drain_acknowledged_work(arbiter, worker) -> None:  # noqa: ARG001 - gunicorn's hook
    """worker_exit: after the worker's last response, let listeners still running after ack()
    finish, then close the worker's database connections."""
    app = getattr(worker.app, "slack_app", None)
    if app is None:  # called in the master for a worker that was already gone
        return
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)
    app.deps.engine.dispose()


def _remember_worker(arbiter, worker) -> None:  # noqa: ARG001 - gunicorn's post_fork hook
    worker.app.worker = worker  # for load(): its heartbeat and whether it is being stopped


def _listening(arbiter) -> None:
    log.info(
        "Listening on http://%s/slack/events with %s workers",
        arbiter.cfg.bind[0],
        arbiter.cfg.workers,
    )


def _gunicorn_options(host: str, port: int, workers: int) -> dict:
    return {
        "bind": [_bind(host, port)],
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS,
        # A worker takes only the connections it can serve soon (its threads plus as many kept
        # alive); the rest wait in the shared backlog for any worker. A worker that dies then
        # takes few requests with it, and a busy one does not hoard.
        "worker_connections": 2 * THREADS,
        "backlog": 2048,
        "timeout": 30,  # a worker silent this long is killed and replaced
        "graceful_timeout": 30,  # drain time on SIGTERM / SIGHUP
        "keepalive": 5,  # behind a load balancer that reuses connections
        "preload_app": False,  # one app and database engine per worker
        "proc_name": "loyalty-okrs",
        "logger_class": _Logger.make(),
        "post_fork": _remember_worker,
        "worker_exit": _drain_acknowledged_work,
        "when_ready": _listening,
        "control_socket_disable": True,  # no shared control socket in $HOME
    }


def _wait_before_retry(worker, exc: Exception, delay: float) -> None:
    """Log why the worker could not start and wait `delay` seconds, telling the master all
    along that the worker is starting, not stuck; leave quietly if it is stopped meanwhile."""
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    log.warning("Worker %s could not start (%s); trying again in %.0fs", os.getpid(), reason, delay)
    retry_at = time.monotonic() + delay
    while worker.alive and time.monotonic() < retry_at:
        worker.notify()  # starting, not stuck: the master must not kill it
        time.sleep(0.2)
    if not worker.alive:  # stopped (SIGTERM) while waiting
        raise SystemExit(0) from None


def make_server(make_app: Callable[[], SlackApp], host: str, port: int, workers: int):
    """The gunicorn application: `make_app` runs in each worker after the fork."""
    from gunicorn.app.base import BaseApplication

    class LoyaltyServer(BaseApplication):
        slack_app: SlackApp | None = None
        worker = None  # this process's gunicorn worker, after the fork

        def load_config(self):
            for key, value in _gunicorn_options(host, port, workers).items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            """Build this worker's app. `loyalty serve` checked the settings and Slack before
            starting, so a failure here is passing (Slack or the network briefly down while a
            worker is replaced): try again with backoff, as gunicorn would otherwise stop the
            whole server for one worker that failed to start."""
            delay = 1.0
            while True:
                try:
                    self.slack_app = make_app()
                    wsgi = make_wsgi_app(self.slack_app)
                    from slackapp.app import freeze_startup_heap

                    freeze_startup_heap()
                    log.info("Worker %s ready", os.getpid())
                    return wsgi
                except Exception as exc:  # noqa: BLE001 - logged, retried
                    if self.worker is None:
                        raise
                    _wait_before_retry(self.worker, exc, delay)
                    delay = min(30.0, delay * 2)

    return LoyaltyServer()


def serve(make_app: Callable[[], SlackApp], host: str, port: int, workers: int = 1) -> None:
    """Serve until SIGTERM (drain) or SIGINT/SIGQUIT (quick stop); SIGHUP restarts the workers
    gracefully. Returns only when the master stops."""
    make_server(make_app, host, port, workers).run()
