"""One way for benches to run a server under gunicorn, with the settings `loyalty serve` uses
(slackapp/http_server.py: workers, gthread threads, timeouts, hooks):

- `product_server`: `loyalty serve --workers N` itself, as a subprocess;
- `bare_server`: a minimal `slack_bolt.App` with the same signing secret that only acks the
  given commands and actions, under the very same gunicorn configuration — the floor a signed
  request costs on this machine, to divide the product's figures by;
- `product_server(profile_dir=...)`: `loyalty serve` with every thread of every worker under
  cProfile (CPU time per thread), each worker writing its profile when it exits.

`python -m bench.servers bare|profiled ...` is how the last two start (see `_main`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.support.processes import child_pids, free_port, healthy
from tests.support.slack_driver import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "xoxb-bench-token"


class GunicornServer:
    """A gunicorn master started as a subprocess on a free loopback port; ready once it has
    all its workers and answers GET /healthz."""

    def __init__(self, argv: list[str], env: dict[str, str], processes: int, name: str):
        self.port = free_port()
        self.processes = processes
        self.log = open(  # noqa: SIM115 - closed in stop()
            Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}_{self.port}.log", "w"
        )
        self.proc = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(processes)],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited at start; see {self.log.name}")
            if len(self.workers()) == processes and healthy(self.port):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{name} did not become healthy within 60 s; see {self.log.name}")

    def workers(self) -> set[int]:
        return child_pids(self.proc.pid)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time (user + system) used so far by the master and each worker."""
        used = {}
        for pid in [self.proc.pid, *self.workers()]:
            try:
                fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return used

    def cpu_since(self, before: dict[int, float], settle: float = 15.0) -> float:
        """CPU seconds used since `before`, once the server is idle again: the work a request
        leaves for after its answer (replies, App Home refreshes) is part of its cost."""
        deadline = time.monotonic() + settle
        last = -1.0
        while True:
            used = sum(t - before.get(pid, 0.0) for pid, t in self.cpu_seconds().items())
            if used - last < 0.02 or time.monotonic() > deadline:
                return used
            last = used
            time.sleep(0.5)

    def stop(self, wait: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                for pid in self.workers():
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def slack_env(fake: FakeSlack) -> dict[str, str]:
    """Single-workspace settings of an app talking to the fake Slack."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "SLACK_CLIENT_ID": "",
        "SLACK_CLIENT_SECRET": "",
    }


def product_server(
    url: str, fake: FakeSlack, processes: int, *, admins: str = "", profile_dir: Path | None = None
) -> GunicornServer:
    """`loyalty serve` on the database `url`; profiled when `profile_dir` is given."""
    env = {**slack_env(fake), "DATABASE_URL": url, "LOYALTY_ADMINS": admins}
    if profile_dir is None:
        argv = [sys.executable, "-m", "loyalty", "serve"]
    else:
        argv = [sys.executable, "-m", "bench.servers", "profiled", "--out", str(profile_dir)]
    return GunicornServer(argv, env, processes, "loyalty_bench")


def bare_server(
    fake: FakeSlack, processes: int, *, commands: tuple[str, ...], actions: tuple[str, ...] = ()
) -> GunicornServer:
    """A bare Bolt app acking `commands` and `actions`, under the product's gunicorn settings."""
    argv = [sys.executable, "-m", "bench.servers", "bare",
            "--commands", ",".join(commands), "--actions", ",".join(actions)]  # fmt: skip
    return GunicornServer(argv, slack_env(fake), processes, "bare_bolt_bench")


# ---------------------------------------------------------------- inside the server processes


def bare_bolt_app(*, api_url: str, commands: tuple[str, ...], actions: tuple[str, ...] = ()):
    """A `slack_bolt.App` with the test signing secret that only acks `commands` and `actions`:
    the floor a signed request costs, through `App.dispatch` or behind `bare_server`."""
    from slack_bolt import App
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
    )
    for command in commands:
        app.command(command)(lambda ack: ack())
    for action in actions:
        app.action(action)(lambda ack: ack())
    return app


def _bare_wsgi(commands: tuple[str, ...], actions: tuple[str, ...]):
    import json

    from slack_bolt.adapter.wsgi import SlackRequestHandler

    from slackapp.app import freeze_startup_heap

    app = bare_bolt_app(api_url=os.environ["SLACK_API_URL"], commands=commands, actions=actions)
    handler = SlackRequestHandler(app)
    ok = json.dumps({"ok": True}).encode()

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [ok]
        return handler(environ, start_response)

    freeze_startup_heap()  # as the product's workers do before serving
    return wsgi


def _serve_bare(args) -> None:
    from slackapp import http_server

    names = tuple(c for c in args.commands.split(",") if c)
    action_ids = tuple(a for a in args.actions.split(",") if a)
    server = http_server.make_server(lambda: None, args.host, args.port, args.workers)
    # The product's gunicorn application and configuration, with only the app it loads
    # replaced (its worker_exit hook finds no product app here and does nothing).
    server.load = lambda: _bare_wsgi(names, action_ids)
    server.run()


class ThreadProfiles:
    """cProfile in every thread of this process (one profiler per thread, timed in that
    thread's CPU time), merged when written."""

    def __init__(self):
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        threading.setprofile(self._first_event)  # threads started from now on
        self._enable()

    def _first_event(self, *_event) -> None:
        self._enable()  # replaces this hook in the new thread

    def _enable(self) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self.lock:
            self.profiles.append(profile)
        profile.enable()

    def write(self, path: Path) -> None:
        threading.setprofile(None)
        with self.lock:
            for profile in self.profiles:
                profile.disable()
            pstats.Stats(*self.profiles).dump_stats(str(path))


def _serve_profiled(args) -> None:
    from loyalty import cli
    from slackapp import http_server

    out = Path(args.out)
    profiles = ThreadProfiles()
    make_wsgi_app, drain = http_server.make_wsgi_app, http_server._drain_acknowledged_work

    def profiled_wsgi_app(app):  # runs in each worker after the fork, before it serves
        profiles.start()
        return make_wsgi_app(app)

    def drain_then_write(arbiter, worker):
        drain(arbiter, worker)
        if getattr(worker.app, "slack_app", None) is not None:
            profiles.write(out / f"worker-{os.getpid()}.prof")

    http_server.make_wsgi_app = profiled_wsgi_app
    http_server._drain_acknowledged_work = drain_then_write
    sys.argv = ["loyalty", "serve", "--host", args.host, "--port", str(args.port),
                "--workers", str(args.workers)]  # fmt: skip
    cli.main()


def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers")
    parser.add_argument("mode", choices=["bare", "profiled"])
    parser.add_argument("--commands", default="")
    parser.add_argument("--actions", default="")
    parser.add_argument("--out", default=".")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    (_serve_bare if args.mode == "bare" else _serve_profiled)(args)


if __name__ == "__main__":
    _main(sys.argv[1:])
