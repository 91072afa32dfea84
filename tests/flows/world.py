"""The world of the whole-quarter flow: one workspace served by the real app over HTTP, the
fake Slack and fake Google Sheets around it, a clock the test moves, and named steps for what
people and the scheduler do.

People act through signed requests (commands, buttons, modals filled from the view the app
opened); the scheduler acts through the job functions of jobs/scheduler.py. The whole process
lives on a travelled clock (time-machine replaces the C-level clock functions for every
thread, so the HTTP server, Bolt's listener threads and the home refresher see it too): the
story runs in a fixed quarter whatever today's date, and moving the clock moves requests and
scheduled work alike. A later feature adds its step to the flow test, a method here when it
needs a new kind of action, and the rows it writes to `expected_rows`.
"""

from __future__ import annotations

import csv
import json
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from jobs import scheduler
from loyalty.cli import cli
from storage.quarters import next_quarter, quarter_bounds, quarter_of
from tests.fakes.google_api import FakeGoogle, FakeSpreadsheet
from tests.fakes.slack_api import Call, FakeSlack
from tests.support import modal_form
from tests.support.slack_driver import SlackDriver

KPI_HEADER = ["Date", "Department", "KPI", "Value"]
FEEDBACK_HEADER = ["Date", "Customer", "Score", "Comment", "Department", "Staff"]


def mention(user: str) -> str:
    """A user as Slack writes them into a slash command's text."""
    return f"<@{user}|{user.lower()}>"


def channel_ref(channel: str, name: str) -> str:
    return f"<#{channel}|{name}>"


def flat(call_or_args) -> str:
    """Everything a message shows (text and blocks) as one string, for `in` checks."""
    args = call_or_args.args if isinstance(call_or_args, Call) else call_or_args
    return json.dumps(
        {k: args.get(k) for k in ("text", "blocks", "attachments")}, ensure_ascii=False
    )


class QuarterWorld:
    def __init__(
        self,
        *,
        app,
        driver: SlackDriver,
        slack: FakeSlack,
        google: FakeGoogle,
        settings,
        engine,
        db_url: str,
        workdir: Path,
        monkeypatch,
        clock,
    ):
        self.app, self.driver, self.slack, self.google = app, driver, slack, google
        self.settings, self.engine, self.db_url, self.workdir = settings, engine, db_url, workdir
        self.monkeypatch = monkeypatch
        self.clock = clock  # time-machine's travelling clock
        self.team_id = slack.team_id
        self.story_start = self.now
        self.quarter = quarter_of(self.now.date())
        self.review_lead_days = 7  # days before the quarter ends that the review opens
        self.sheet: FakeSpreadsheet = google.add_spreadsheet(
            sheets={"KPIs": [KPI_HEADER], "Feedback": [FEEDBACK_HEADER]}
        )
        self.runtime = scheduler.Runtime(settings=settings, engine=engine, app=app)
        # Rows each step wrote, by table: what `loyalty export` must count.
        self.expected_rows: Counter[str] = Counter()
        self._replies = 0
        self.last_reply: dict = {}  # the latest reply `say` got, as Slack received it

    # ---- the clock ----------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return datetime.now(UTC)

    @property
    def today(self) -> date:
        return self.now.date()

    def advance(self, **delta) -> datetime:
        """Move the clock forward (never back), for requests and scheduled work alike."""
        step = timedelta(**delta)
        assert step >= timedelta(0), "the clock only moves forward"
        self.clock.shift(step)
        return self.now

    def move_to(self, moment: datetime) -> datetime:
        assert moment >= self.now, f"{moment} is before the clock ({self.now})"
        self.clock.move_to(moment)
        return self.now

    def move_to_week(self, week: int) -> datetime:
        """Week n's digest runs on the story's Monday n - 1 weeks on, two hours after the
        story's start time (its slot, an hour before that, stays due for the day)."""
        return self.move_to(self.story_start + timedelta(weeks=week - 1, hours=2))

    def move_to_checkins(self, week: int) -> datetime:
        """Week n's check-ins: week 1's on the first day, later weeks' on the Thursday before
        that week's digest."""
        if week == 1:
            return self.now
        return self.move_to(self.story_start + timedelta(weeks=week - 2, days=3))

    @property
    def quarter_end(self) -> date:
        return quarter_bounds(self.quarter)[1]

    @property
    def next_quarter(self) -> str:
        return next_quarter(self.quarter)

    # ---- people: commands, buttons, modals ----------------------------------------------------
    def mark(self) -> float:
        """A point in the fakes' call log: `since=` a mark sees only later calls."""
        return time.monotonic()

    def say(self, user: str, command: str, text: str = "", *, channel: str = "C0GENERAL") -> str:
        """Type a slash command; returns the reply the user sees (text and blocks)."""
        self._replies += 1
        name = f"flow{self._replies}"
        resp = self.driver.command(command, text, user=user, channel=channel, response_name=name)
        assert resp.status == 200, (command, text, resp.status, resp.body)
        reply = self.slack.wait_for("response_url", where=lambda c: c["_name"] == name)[0]
        self.last_reply = reply.args
        return flat(reply)

    def open_modal(self, user: str, command: str, text: str = "") -> dict:
        """A command that opens a form; returns the view the app opened."""
        since = self.mark()
        resp = self.driver.command(command, text, user=user)
        assert resp.status == 200, (command, text, resp.status)
        return self.opened_view(since)

    def opened_view(self, since: float) -> dict:
        """The first form the app opened after `since`."""
        opened = self.slack.wait_for("views.open", where=lambda c: c.at >= since)
        return opened[0]["view"]

    def submit(self, user: str, view: dict, answers: dict | None = None) -> None:
        """Fill the form as shown, change `answers` (block id -> value), submit it; the app
        must accept it (no field errors)."""
        errors = self.submit_for_errors(user, view, answers)
        assert not errors, errors

    def submit_for_errors(self, user: str, view: dict, answers: dict | None = None) -> dict:
        """Submit the form like `submit`; returns the field errors the app answered with (block
        id -> message), {} when it accepted the form."""
        values = modal_form.fill(view, answers)
        resp = self.driver.view_submission(
            view["callback_id"],
            values,
            user=user,
            private_metadata=view.get("private_metadata") or "",
        )
        assert resp.status == 200, resp.body
        body = json.loads(resp.body) if resp.body else {}
        self._settle()
        return body.get("errors") or {} if body.get("response_action") == "errors" else {}

    def press(self, user: str, action_id: str, value: str, *, channel: str | None = None) -> None:
        resp = self.driver.block_action(action_id, value, user=user, channel=channel or user)
        assert resp.status == 200, resp.body

    def _settle(self) -> None:
        """Let listeners still running after their ack finish (their DMs, home refreshes)."""
        self.app.bolt.listener_runner.listener_executor.submit(lambda: None).result(timeout=10)

    # ---- what Slack saw -----------------------------------------------------------------------
    def posts(self, channel: str, *, since: float = 0.0, containing: str = "") -> list[Call]:
        """Messages the app posted in `channel` (a channel id, or a user id for a DM)."""
        return [
            c
            for c in self.slack.calls_to("chat.postMessage")
            if c["channel"] == channel and c.at >= since and c.ok and containing in flat(c)
        ]

    def wait_for_post(
        self, channel: str, containing: str, *, since: float = 0.0, timeout: float = 10.0
    ) -> Call:
        found = self.slack.wait_for(
            "chat.postMessage",
            timeout=timeout,
            where=lambda c: c["channel"] == channel and c.at >= since and containing in flat(c),
        )
        return found[0]

    def buttons(self, message: Call | dict, action_id: str) -> list[dict]:
        """The buttons with `action_id` in a message: in actions blocks and as accessories."""
        args = message.args if isinstance(message, Call) else message
        found = []
        for block in args.get("blocks") or []:
            elements = block.get("elements", []) if block.get("type") == "actions" else []
            if block.get("accessory"):
                elements = [block["accessory"]]
            found += [e for e in elements if e.get("action_id") == action_id]
        return found

    def replies_since(self, since: float, containing: str = "") -> list[Call]:
        """Ephemeral answers (response_url posts) since a mark: what a button's presser saw."""
        return [
            c
            for c in self.slack.calls_to("response_url")
            if c.at >= since and containing in flat(c)
        ]

    # ---- the scheduler ------------------------------------------------------------------------
    def run_scheduler_tick(self) -> float:
        """One tick of `loyalty.tick` at the world's clock (digests, reminders, reviews that
        are due). Returns a mark from before it ran."""
        since = self.mark()
        scheduler.run_due_jobs(self.runtime, now=self.now)
        return since

    def sync_kpis(self) -> float:
        """The `loyalty.kpi_sync` job function, as the scheduler calls it. Returns a mark."""
        since = self.mark()
        with self.monkeypatch.context() as patch:
            patch.setattr(scheduler, "_runtime", self.runtime)
            scheduler.kpi_sync()
        return since

    def sheet_rows(self, *rows: tuple[date, str, str, str]) -> None:
        """Someone types rows into the KPIs worksheet (date, department, kpi, value)."""
        for day, department, kpi, value in rows:
            self.sheet.sheets["KPIs"].append([day.isoformat(), department, kpi, value])

    def feedback_rows(self, *rows: tuple[date, str, str, str, str, str]) -> None:
        """Someone types customers' answers into the Feedback worksheet (date, customer, score,
        comment, department, staff)."""
        for day, *cells in rows:
            self.sheet.sheets["Feedback"].append([day.isoformat(), *cells])

    # ---- survey tools ---------------------------------------------------------------------------
    def post_feedback(self, answer: dict, *, token: str | None = None) -> tuple[int, dict]:
        """A survey tool posts one answer to the app's feedback webhook, with the bearer token."""
        req = urllib.request.Request(
            self.driver.http_url + "/hooks/feedback",
            data=json.dumps(answer).encode(),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {token or self.settings.loyalty_feedback_token}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    # ---- the command line ---------------------------------------------------------------------
    def loyalty(self, *args: str):
        """`loyalty …` as an operator runs it, with this world's settings in the environment."""
        env = {
            "DATABASE_URL": self.db_url,
            "SLACK_BOT_TOKEN": self.settings.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.settings.slack_signing_secret,
            "SLACK_API_URL": self.settings.slack_api_url,
            "LOYALTY_ADMINS": "",
        }
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=True)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    def export(self, name: str) -> dict[str, list[dict]]:
        """`loyalty export`: each table's rows as read back from its CSV file."""
        out = self.workdir / name
        self.loyalty("export", "--out", str(out), "--team", self.team_id)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        tables = {}
        for table, count in manifest["tables"].items():
            with (out / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            assert len(rows) == count, (table, len(rows), count)
            tables[table] = rows
        return tables


def percent_after(label: str, text: str) -> int:
    """The percentage shown after `label` (e.g. the rolled-up progress of `/okr show`)."""
    found = re.search(re.escape(label) + r"[^%]*?(\d+)%", text)
    assert found, f"no {label!r} percentage in {text[:600]}"
    return int(found.group(1))


def ref_in(kind: str, text: str) -> str:
    """The first short reference of a kind (`O`, `KR`, `B`, `C`) in a reply."""
    found = re.search(rf"\b{kind}-\d+\b", text)
    assert found, f"no {kind}-n in {text[:600]}"
    return found.group(0)
