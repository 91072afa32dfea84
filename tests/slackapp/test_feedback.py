"""Customer voice through the real app: the webhook over real HTTP, the heads' DM and its
buttons and modals (signed requests), `/feedback` commands, the message shortcut and the
setup form — against the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from sqlmodel import Session, func, select

from slackapp.http_server import make_wsgi_app
from slackapp.settings import Settings
from storage.db import session_scope
from storage.feedback import FeedbackIn, store_feedback
from storage.models import (
    AuditLog,
    BehaviorLog,
    Feedback,
    FeedbackSettings,
    Followup,
)
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department
from tests.support.slack_driver import SIGNING_SECRET, state

TOKEN = "feedback-token-0123456789abcdef"
TEAM_B = "T0TEAMB02"
DAVE = "U0DAVE001"


@pytest.fixture
def settings(db_url, slack):
    return Settings(
        _env_file=None,
        database_url=db_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        loyalty_feedback_token=TOKEN,
    )


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


class _ThreadedServer(WSGIServer):
    """One thread per request, like the production server's threads."""

    def process_request(self, request, client_address):
        threading.Thread(target=self._handle, args=(request, client_address), daemon=True).start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@pytest.fixture
def http(app):
    server = make_server("127.0.0.1", 0, make_wsgi_app(app), server_class=_ThreadedServer,
                         handler_class=_Quiet)  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def hook(base: str, body, token: str | None = TOKEN, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + "/hooks/feedback", data=data, headers=headers,
                                 method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def followups(engine) -> list[Followup]:
    with Session(engine) as s:
        return list(s.exec(select(Followup).order_by(Followup.number)).all())


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def dms_to(slack, user) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == user]


@pytest.fixture
def world(engine, slack):
    slack.add_user(DAVE, name="Dave")
    support = department(engine, "Support", heads=(ALICE, BOB), members=(CAROL,))
    billing = department(engine, "Billing", heads=(DAVE,), channel="C0BILLING1")
    return dict(support=support, billing=billing)


HOSTILE = "Terrible! <!channel> <@U0BOB0001> *bold* <https://evil.example|click>"


def test_webhook_routes_a_detractor_to_a_follow_up_and_dms_heads_escaped(
    driver, slack, engine, world, http
):
    driver.command("/feedback", "route refund invoice to Billing", user=ADMIN)
    assert "Billing" in driver.last_reply_text()
    slack.reset()
    body = {"id": "resp-1", "customer": "Zoe <@U0BOB0001>", "score": 2,
            "comment": f"Where is my REFUND? {HOSTILE}"}  # fmt: skip
    status, answer = hook(http, body)
    assert status == 200 and answer == {"ok": True, "stored": True, "followup": "F-1"}
    (fu,) = followups(engine)
    assert fu.department_id == world["billing"].id and fu.status == "open"
    dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == DAVE)[0]
    text = json.dumps(dm["blocks"])
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "<@U0BOB0001>" not in text and "&lt;@U0BOB0001&gt;" in text
    buttons = [b for b in dm["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [b["action_id"] for b in buttons] == [
        "followup_take",
        "followup_assign",
        "followup_close",
    ]
    assert {b["value"] for b in buttons} == {"F-1"}
    # The same answer again: stored once, 200 again, nobody told twice.
    status, answer = hook(http, body)
    assert status == 200 and answer["stored"] is False
    time.sleep(0.3)
    assert count(engine, Feedback) == 1 and len(followups(engine)) == 1
    assert len(dms_to(slack, DAVE)) == 1


def test_webhook_refuses_bad_requests_and_stores_nothing(engine, world, http):
    good = {"id": "r", "customer": "Ann", "score": 3, "comment": "meh"}
    assert hook(http, good, token=None)[0] == 401
    assert hook(http, good, token="wrong-token-0123456789")[0] == 401
    status, answer = hook(http, None, raw=b"{not json")
    assert status == 400 and answer["field"] == "body"
    for field, value in [("score", 11), ("score", -1), ("score", 7.5), ("score", "ten"),
                         ("customer", ""), ("received_at", "yesterday")]:  # fmt: skip
        status, answer = hook(http, {**good, field: value})
        assert (status, answer["field"]) == (400, field), (field, value, answer)
    status, answer = hook(http, {k: v for k, v in good.items() if k != "id"})
    assert (status, answer["field"]) == (400, "id")
    status, _ = hook(http, None, raw=json.dumps({**good, "comment": "x" * 70_000}).encode())
    assert status == 413
    assert count(engine, Feedback) == 0 and count(engine, Followup) == 0


def test_unrouted_detractor_goes_to_the_default_department(driver, slack, engine, world, http):
    with session_scope(engine) as s:
        s.add(FeedbackSettings(team_id=TEAM, default_department_id=world["support"].id,
                               followup_hours=24))  # fmt: skip
    status, answer = hook(http, {"id": "x", "customer": "Ann", "score": 0, "comment": "no"})
    assert status == 200 and answer["followup"] == "F-1"
    (fu,) = followups(engine)
    assert fu.department_id == world["support"].id
    assert (fu.due_at - fu.received_at).total_seconds() == 24 * 3600
    slack.wait_for("chat.postMessage", 2, where=lambda c: c["channel"] in (ALICE, BOB))


def seed(engine, *scores, department="Support", team_id=TEAM):
    with session_scope(engine) as s:
        items = [FeedbackIn(source="webhook", source_id=f"s{i}-{team_id}",
                            received_at=__import__("storage.models").models.utcnow(),
                            customer=f"Customer {i}", score=score, comment=f"comment {i}",
                            department=department) for i, score in enumerate(scores)]  # fmt: skip
        return store_feedback(s, team_id=team_id, actor_id="test", items=items)


def test_two_heads_press_take_at_once_one_owner_loser_told(driver, slack, engine, world):
    seed(engine, 3)
    slack.reset()
    threads = [threading.Thread(target=driver.block_action, args=("followup_take", "F-1"),
                                kwargs={"user": who}) for who in (ALICE, BOB)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = [r.get("text") or "" for r in driver.replies(2)]
    (fu,) = followups(engine)
    assert fu.status == "taken" and fu.owner_id in (ALICE, BOB) and fu.first_contact_at
    loser = BOB if fu.owner_id == ALICE else ALICE
    assert sum("already taken by" in a for a in answers) == 1
    assert any(f"<@{fu.owner_id}>" in a for a in answers if "already taken" in a)
    assert loser != fu.owner_id
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "followup.take")).one() == 1  # fmt: skip


def test_assign_and_close_modals_log_the_follow_up_behavior(driver, slack, engine, world):
    driver.command("/behavior", "add Support Call every detractor within 48 hours", user=ALICE)
    driver.replies(1)
    slack.reset()
    driver.command("/feedback", "behavior B-1", user=ALICE)
    assert "B-1" in driver.last_reply_text()
    seed(engine, 4)
    slack.reset()
    driver.block_action("followup_assign", "F-1", user=BOB)
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "followup_assign_submit" and view["private_metadata"] == "F-1"
    resp = driver.view_submission("followup_assign_submit", state(owner=("user", CAROL)),
                                  user=BOB, private_metadata="F-1")  # fmt: skip
    assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == CAROL)
    assert followups(engine)[0].owner_id == CAROL
    # Carol, a member who owns it, may close it; a bad outcome is refused in the modal.
    slack.reset()
    driver.block_action("followup_close", "F-1", user=CAROL)
    assert slack.wait_for("views.open")[0]["view"]["callback_id"] == "followup_close_submit"
    bad = driver.view_submission("followup_close_submit", state(outcome=("option", "maybe")),
                                 user=CAROL, private_metadata="F-1")  # fmt: skip
    assert "outcome" in json.loads(bad.body)["errors"]
    assert followups(engine)[0].status == "taken"
    ok = driver.view_submission(
        "followup_close_submit",
        state(outcome=("option", "resolved"), note="Refunded, she was happy"),
        user=CAROL, private_metadata="F-1",
    )  # fmt: skip
    assert ok.status == 200 and not ok.body
    (fu,) = followups(engine)
    assert (fu.status, fu.outcome, fu.closed_by, fu.note) == (
        "closed", "resolved", CAROL, "Refunded, she was happy",
    )  # fmt: skip
    with Session(engine) as s:
        (logged,) = s.exec(select(BehaviorLog)).all()
    assert (logged.user_id, logged.count, logged.note) == (CAROL, 1, "from F-1")
    # Closing again: nothing changes, nothing logged twice.
    slack.reset()
    driver.command("/feedback", "close F-1 contacted", user=ALICE)
    assert "already closed" in driver.last_reply_text()
    assert count(engine, BehaviorLog) == 1


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("close F-1 maybe", "is not an outcome"),
        ("close F-9 contacted", "no follow-up `F-9`"),
        ("close F-2 contacted", "no follow-up `F-2`"),  # only the other workspace has an F-2
        ("take X-1", "is not a followup reference"),
        ("assign F-1", "who should own it"),
        ("list Nowhere", "is not a list or a department"),
        ("route to Billing", "which keywords"),
        ("frobnicate", "is not a `/feedback` command"),
    ],
)
def test_bad_input_quotes_it_and_writes_nothing(driver, slack, engine, world, text, expect):
    department(engine, "Ops", team_id=TEAM_B, heads=(BOB,), channel="C0BOPS0001")
    seed(engine, 3)
    seed(engine, 1, 2, department="Ops", team_id=TEAM_B)
    before = [(f.status, f.owner_id) for f in followups(engine)]
    audits = count(engine, AuditLog)
    driver.command("/feedback", text, user=ALICE)
    reply = driver.replies(1)[0]
    shown = json.dumps(reply["blocks"])
    assert reply["response_type"] == "ephemeral"
    assert f"You wrote: `/feedback {text}`" in shown and expect in shown, shown
    assert "Usage:" in shown
    assert [(f.status, f.owner_id) for f in followups(engine)] == before
    assert count(engine, AuditLog) == audits


def test_only_heads_and_admins_take_and_route(driver, slack, engine, world):
    seed(engine, 3)
    driver.command("/feedback", "take F-1", user=CAROL)
    assert "Only a head of Support" in driver.last_reply_text()
    slack.reset()
    driver.command("/feedback", "route billing to Billing", user=ALICE)  # heads Support only
    assert "head of Billing" in driver.last_reply_text()
    slack.reset()
    driver.command("/feedback", 'route "late delivery" parcel to Support', user=ALICE)
    assert "late delivery" in driver.last_reply_text()
    slack.reset()
    driver.command("/feedback", "routes", user=CAROL)
    shown = driver.last_reply_text()
    assert "late delivery" in shown and "parcel" in shown
    slack.reset()
    driver.command("/feedback", "unroute parcel", user=ALICE)
    assert "no longer routes" in driver.last_reply_text()


def test_list_and_show(driver, slack, engine, world):
    seed(engine, 3, 5)
    driver.command("/feedback", "take F-2", user=ALICE)
    driver.replies(1)
    slack.reset()
    driver.command("/feedback", "list", user=ALICE)
    mine = driver.last_reply_text()
    assert "F-2" in mine and "F-1" not in mine
    slack.reset()
    driver.command("/feedback", "list support", user=CAROL)
    listed = driver.last_reply_text()
    assert "F-1" in listed and "F-2" in listed and "comment 0" in listed
    slack.reset()
    driver.command("/feedback", "show F-1", user=CAROL)
    assert "Customer 0" in driver.last_reply_text()


def test_message_shortcut_logs_feedback_with_its_link(driver, slack, engine, world):
    message = {"type": "message", "user": "U0CUST001", "ts": "1700000000.000100",
               "text": "Customer wrote: the app <!here> keeps crashing"}  # fmt: skip
    driver.message_shortcut("log_customer_feedback", message, channel="C0VOICE001", user=CAROL)
    view = slack.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "feedback_log_submit"
    comment = [b for b in view["blocks"] if b.get("block_id") == "comment"][0]
    assert "keeps crashing" in comment["element"]["initial_value"]
    values = state(customer="Acme Corp", score=("option", "1"),
                   comment=comment["element"]["initial_value"],
                   department=("option", str(world["support"].id)))  # fmt: skip
    resp = driver.view_submission("feedback_log_submit", values, user=CAROL,
                                  private_metadata=view["private_metadata"])  # fmt: skip
    assert resp.status == 200 and not resp.body
    (fu,) = followups(engine)
    assert fu.department_id == world["support"].id
    with Session(engine) as s:
        (fb,) = s.exec(select(Feedback)).all()
    assert fb.source == "shortcut" and fb.link.startswith("https://example.slack.com/archives/")
    dm = slack.wait_for("chat.postMessage", where=lambda c: c["channel"] == ALICE)[0]
    assert "Source message" in json.dumps(dm["blocks"]) and "<!here>" not in json.dumps(
        dm["blocks"]
    )
    # Logging the same message again stores nothing new.
    driver.view_submission("feedback_log_submit", values, user=CAROL,
                           private_metadata=view["private_metadata"])  # fmt: skip
    assert count(engine, Feedback) == 1


def test_setup_form_saves_default_department_and_window(driver, slack, engine, world):
    driver.command("/okr", "setup", user=ADMIN)
    view = slack.wait_for("views.open")[0]["view"]
    ids = [b.get("block_id") for b in view["blocks"]]
    assert "feedback_default_department" in ids and "feedback_followup_hours" in ids
    assert "/hooks/feedback" in json.dumps(view)
    values = state(
        leadership_channel=("conversation", "C0LEAD0001"),
        recognition_emoji="star",
        digest_weekday=("option", "4"),
        digest_time=("time", "16:00"),
        reminder_weekday=("option", "0"),
        reminder_time=("time", "10:00"),
        review_lead_days="7",
        timezone="UTC",
        feedback_default_department=("option", str(world["billing"].id)),
        feedback_followup_hours="0",
    )
    errors = json.loads(driver.view_submission("okr_setup", values, user=ADMIN).body)["errors"]
    assert "feedback_followup_hours" in errors
    values.update(state(feedback_followup_hours="24"))
    resp = driver.view_submission("okr_setup", values, user=ADMIN)
    assert resp.status == 200 and not resp.body
    with Session(engine) as s:
        row = s.get(FeedbackSettings, TEAM)
    assert (row.default_department_id, row.followup_hours) == (world["billing"].id, 24)


def test_multi_workspace_token_picks_the_workspace(db_url, engine, slack):
    """With the OAuth install each workspace has its own token (shown in its setup form); the
    single-workspace LOYALTY_FEEDBACK_TOKEN means nothing there."""
    from slackapp.app import create_app
    from storage.feedback import webhook_token
    from tests.support.oauth_helpers import oauth_settings

    settings = oauth_settings(db_url, slack)
    settings.loyalty_feedback_token = TOKEN
    app = create_app(settings, engine)  # configures the token cipher from the settings
    department(engine, "Ops", team_id=TEAM_B, heads=(BOB,), channel="C0BOPS0001")
    with session_scope(engine) as s:
        token_b = webhook_token(s, team_id=TEAM_B, actor_id=ADMIN)
    with session_scope(engine) as s:
        assert webhook_token(s, team_id=TEAM_B, actor_id=ADMIN) == token_b  # kept, not renewed
    server = make_server("127.0.0.1", 0, make_wsgi_app(app), server_class=_ThreadedServer,
                         handler_class=_Quiet)  # fmt: skip
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        answer = {
            "id": "b-1",
            "customer": "Bea",
            "score": 1,
            "comment": "late",
            "department": "ops",
        }
        assert hook(base, answer, token=TOKEN)[0] == 401
        status, body = hook(base, answer, token=token_b)
        assert status == 200 and body["followup"] == "F-1"
    finally:
        server.shutdown()
        server.server_close()
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)
    with Session(engine) as s:
        (fb,) = s.exec(select(Feedback)).all()
    assert fb.team_id == TEAM_B and fb.customer == "Bea"


def test_app_home_lists_follow_ups_you_own_with_close(driver, slack, engine, world):
    seed(engine, 2, 4)
    driver.command("/feedback", "take F-2", user=ALICE)
    driver.replies(1)
    slack.reset()
    driver.home_opened(ALICE)
    view = slack.wait_for("views.publish")[0]["view"]
    shown = json.dumps(view["blocks"])
    assert "Follow-ups you own" in shown and "F-2" in shown and "*F-1*" not in shown
    closes = [b["accessory"] for b in view["blocks"]
              if b.get("accessory", {}).get("action_id") == "followup_close"]  # fmt: skip
    assert [c["value"] for c in closes] == ["F-2"]
    assert len(view["blocks"]) <= 100


def test_slack_faults_lose_no_detractor_and_post_nothing_twice(slack, engine, world, http,
                                                                settings):  # fmt: skip
    from jobs.feedback_jobs import run_feedback_jobs
    from slackapp.web_client import make_web_client

    slack.rate_limit("chat.postMessage", retry_after=1, times=1, match={"channel": ALICE})
    slack.api_error("chat.postMessage", "fatal_error", times=1, match={"channel": DAVE})
    assert hook(http, {"id": "a", "customer": "Ann", "score": 1, "department": "Support"})[0] == 200
    assert hook(http, {"id": "b", "customer": "Ben", "score": 2, "department": "Billing"})[0] == 200
    # Support's heads: Alice after one 429 (its Retry-After honoured), Bob at once.
    slack.wait_for("chat.postMessage", 2, where=lambda c: c["channel"] in (ALICE, BOB))
    time.sleep(0.5)
    # Billing's only head could not be told: stored all the same, left for the next try.
    with Session(engine) as s:
        billing = s.exec(
            select(Followup).where(Followup.department_id == world["billing"].id)
        ).one()
    assert billing.heads_notified_at is None
    assert [c.ok for c in dms_to(slack, DAVE)] == [False]
    # The scheduler's tick tries again; nobody hears twice.
    client = make_web_client(settings)
    run_feedback_jobs(engine, client, team_id=TEAM)
    run_feedback_jobs(engine, client, team_id=TEAM)
    new = [c for c in slack.calls_to("chat.postMessage") if "New detractor" in c["text"] and c.ok]
    assert sorted(c["channel"] for c in new) == sorted([ALICE, BOB, DAVE])
    assert count(engine, Feedback) == 2


def test_every_heads_copy_shows_who_took_and_closed_it(driver, slack, engine, world, http):
    assert hook(http, {"id": "w", "customer": "Wes", "score": 0, "department": "Support"})[0] == 200
    slack.wait_for("chat.postMessage", 2, where=lambda c: c["channel"] in (ALICE, BOB))
    time.sleep(0.3)  # the DMs' places are recorded after they went out
    with Session(engine) as s:
        places = dict(json.loads(s.exec(select(Followup)).one().heads_messages))
    slack.reset()
    mine = "D" + ALICE[1:]
    driver.block_action("followup_take", "F-1", user=ALICE,
                        container={"type": "message", "channel_id": mine,
                                   "message_ts": places[mine]})  # fmt: skip
    assert driver.replies(1)[0]["replace_original"]
    (update,) = slack.wait_for("chat.update")
    assert update["channel"] == "D" + BOB[1:] and f"<@{ALICE}> took it." in json.dumps(
        update["blocks"]
    )
    assert "followup_take" not in json.dumps(update["blocks"])  # no stale Take button
    slack.reset()
    driver.command("/feedback", "close F-1 unreachable no answer twice", user=ALICE)
    driver.replies(1)
    updates = slack.wait_for("chat.update", 2)
    assert all("Closed (unreachable)" in json.dumps(u["blocks"]) for u in updates)
    assert all("actions" not in json.dumps(u["blocks"]) for u in updates)


def test_heads_dms_in_flight_hold_no_transaction(slack, engine, world, http):
    """While Slack is slow to take the heads' DMs, the follow-up's claim is already committed
    (no second sender can take it) and other answers are stored at once: no transaction stays
    open across the Slack calls (on SQLite one would hold every writer back)."""
    slack.slow("chat.postMessage", 1.5)
    assert (
        hook(http, {"id": "s1", "customer": "Ann", "score": 1, "department": "Support"})[0] == 200
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        claimed = [f for f in followups(engine) if f.heads_notified_at is not None]
        if claimed:
            break
        time.sleep(0.02)
    assert [f.number for f in claimed] == [1]
    assert claimed[0].heads_messages is None  # claimed, its DMs still on their way
    status, body = hook(http, {"id": "s2", "customer": "Ben", "score": 2, "department": "Billing"})
    assert (status, body["followup"]) == (200, "F-2")
    assert slack.calls_to("chat.postMessage") == []  # stored before any DM was answered
    slack.wait_for("chat.postMessage", 3, timeout=15)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(f.heads_messages is None for f in followups(engine)):
        time.sleep(0.05)
    told = {f.number: len(json.loads(f.heads_messages)) for f in followups(engine)}
    assert told == {1: 2, 2: 1}  # Support's two heads, Billing's one
