"""Hostile input: forged, stale and missing signatures; 1 MB bodies; malformed form and JSON;
unknown payload types; SQL and Block Kit injection in free-text fields; control characters,
emoji and right-to-left text. Each gets a clear answer or a 4xx, writes nothing unintended and
leaves the app serving. Most of it goes through a real HTTP server
in a thread."""

from __future__ import annotations

import json
import time
import urllib.request
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, func, select

from storage.models import AuditLog, Behavior, CheckIn, Department, Objective
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import department, objective
from tests.support.oauth_helpers import serve_in_thread
from tests.support.slack_driver import SIGNING_SECRET, SlackDriver, sign, state

PINGS = ("<!channel>", "<!here>", "<!everyone>", "<@U0BOB0001>", "<!subteam^S0TEAM>")
RTL_EMOJI = "دعم العملاء 🚀 שירות 👩🏽‍💻"


@pytest.fixture
def server(app):
    url, srv = serve_in_thread(app)
    yield url
    srv.close()


@pytest.fixture
def http(app, slack, server):
    return SlackDriver(app.bolt, slack, http_url=server)


def post(url: str, body: bytes | str, headers: dict) -> tuple[int, str]:
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url + "/slack/events", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def command_body(text: str, user: str = ADMIN, team: str = "T0TEAMA01") -> str:
    return urlencode(
        {
            "team_id": team,
            "user_id": user,
            "command": "/okr",
            "text": text,
            "channel_id": "C0GENERAL",
            "response_url": "http://127.0.0.1:9/response/never",
            "trigger_id": "1.1.trigger",
        }
    )


def still_serving(server: str, http: SlackDriver, slack) -> None:
    with urllib.request.urlopen(server + "/healthz", timeout=5) as resp:
        assert resp.status == 200
    slack.reset()
    assert http.command("/okr", "help", user=BOB).status == 200
    assert "Loyalty OKRs" in http.last_reply_text()


FORM = "application/x-www-form-urlencoded"


def test_forged_stale_and_missing_signatures_are_refused(server, http, slack, engine):
    body = command_body("dept create Forged")
    forged = sign(body, secret="not-the-signing-secret")
    stale = sign(body, timestamp=int(time.time()) - 60 * 10)
    future = sign(body, timestamp=int(time.time()) + 60 * 10)
    tampered = sign(command_body("dept create Original"))
    cases = [
        ("forged", body, forged),
        ("stale", body, stale),
        ("future", body, future),
        ("missing", body, {}),
        ("timestamp only", body, {"x-slack-request-timestamp": str(int(time.time()))}),
        ("signature of another body", body, tampered),
        ("garbage signature", body, {**sign(body), "x-slack-signature": "v0=zz"}),
    ]
    for name, payload, headers in cases:
        status, _ = post(server, payload, {"content-type": FORM, **headers})
        assert status == 401, name
    assert count(engine, Department) == 0 and count(engine, AuditLog) == 0
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []
    still_serving(server, http, slack)


def test_oversized_bodies_get_413(server, http, slack, engine):
    huge = command_body("dept create " + "A" * (1024 * 1024))
    status, _ = post(server, huge, {"content-type": FORM, **sign(huge)})
    assert status == 413
    blob = "payload=" + json.dumps({"type": "block_actions", "junk": "x" * (1024 * 1024)})
    status, _ = post(server, blob, {"content-type": FORM, **sign(blob)})
    assert status == 413
    assert count(engine, Department) == 0
    still_serving(server, http, slack)


JSON = "application/json"
UNHANDLED = (404, '{"error": "unhandled request"}')


def bad(reason: str) -> tuple[int, str]:
    return 400, f"malformed request: {reason}"


NO_EVENT = bad("event_callback without an event")


@pytest.mark.parametrize(
    "body,ctype,answer",
    [
        ("payload=not-json", FORM, bad("payload is not JSON")),
        ("payload=%7B%22type%22%3A", FORM, bad("payload is not JSON")),  # truncated JSON
        ("payload=[1,2]", FORM, bad("payload is not an object with a type")),
        ("{not json", JSON, bad("body is not JSON")),
        ("[1, 2, 3]", JSON, bad("JSON body is not an object with a type")),
        ('"just a string"', JSON, bad("JSON body is not an object with a type")),
        ("%%%garbage&&==", FORM, UNHANDLED),
        ("", FORM, UNHANDLED),
        ('{"type": "event_callback"}', JSON, NO_EVENT),  # no event at all
        ('{"type": "event_callback", "event": "nope", "team_id": 5}', JSON, NO_EVENT),
        ('{"type": "no_such_type", "team_id": "T0TEAMA01"}', JSON, UNHANDLED),
        (
            "payload="
            + json.dumps(
                {"type": "mystery_type", "team": {"id": "T0TEAMA01"}, "user": {"id": BOB}}
            ),
            FORM,
            UNHANDLED,
        ),
        (
            "payload="
            + json.dumps(
                {
                    "type": "block_actions",
                    "team": {"id": "T0TEAMA01"},
                    "user": {"id": BOB},
                    "actions": [{"action_id": "no_such_action", "value": "x"}],
                }
            ),
            FORM,
            UNHANDLED,
        ),
        (
            "payload="
            + json.dumps(
                {
                    "type": "view_submission",
                    "team": {"id": "T0TEAMA01"},
                    "user": {"id": BOB},
                    "view": {"callback_id": "okr_new_objective"},
                }
            ),
            FORM,
            bad("view_submission without state values"),
        ),
    ],
    ids=lambda v: v[:30] if isinstance(v, str) else None,
)
def test_malformed_and_unknown_payloads_get_4xx_or_a_clear_answer(
    server, http, slack, engine, body, ctype, answer
):
    # Malformed: our input guard's 400 naming the fault. Well-formed but no listener: Bolt's own
    # 404 answer for an unhandled request (what Slack gets for a button nobody handles).
    assert post(server, body, {"content-type": ctype, **sign(body)}) == answer
    assert count(engine, Department) == 0 and count(engine, Objective) == 0
    still_serving(server, http, slack)


def mrkdwn_texts(slack) -> list[str]:
    """Every string the app sent that Slack would parse as mrkdwn (and so could ping people):
    message `text` fallbacks and `mrkdwn` text objects. plain_text is always literal."""
    found: list[str] = []

    def walk(node, top=False):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            if top and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for call in slack.calls:
        walk(
            call.args,
            top=call.method
            in ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url"),
        )
    return found


BROADCASTS = ("<!channel>", "<!here>", "<!everyone>", "<!subteam^")


def assert_no_pings(slack, *typed: str) -> None:
    """No broadcast ping and none of the user-typed markup reaches mrkdwn unescaped."""
    texts = mrkdwn_texts(slack)
    assert texts, "nothing rendered"
    for text in texts:
        for ping in (*BROADCASTS, *typed):
            assert ping not in text, (ping, text)


SQL = "Robert'); DROP TABLE department;--"


def test_sql_injection_is_stored_as_text(http, slack, engine):
    http.command("/okr", f"dept create {SQL}", user=ADMIN)
    assert "Created" in http.last_reply_text()
    with Session(engine) as s:
        (dept,) = s.exec(select(Department)).all()
        assert dept.name == SQL
    slack.reset()
    http.command("/okr", "list ' OR 1=1 --", user=BOB)
    assert http.last_reply_text()  # a clear answer, whatever it is
    slack.reset()
    http.command("/checkin", "KR-1 OR 1=1; DELETE FROM checkin 7/10", user=BOB)
    assert "KR-1" in http.last_reply_text() and count(engine, CheckIn) == 0
    assert count(engine, Department) == 1


def test_block_kit_injection_in_objective_title_renders_literally(http, slack, engine):
    dept = department(engine, "Support", heads=(ALICE,))
    title = "<!channel> *urgent* <@U0BOB0001> _win_ <https://evil.example|click> ' OR 1=1"
    description = "<!here> ping everyone `code` ~strike~"
    values = state(
        department=("option", str(dept.id)),
        title=title,
        description=description,
        quarter=("option", objective_quarter()),
        owner=("user", ALICE),
        due_date=("date", objective_due()),
        kr0_title="<!everyone> NPS",
        kr0_unit="pts",
        kr0_baseline="30",
        kr0_target="45",
    )
    resp = http.view_submission("okr_new_objective", values, user=ALICE)
    assert resp.status == 200 and not resp.body
    slack.wait_for("chat.postMessage")
    with Session(engine) as s:
        obj = s.exec(select(Objective)).one()
        assert (obj.title, obj.description) == (title, description)  # stored as typed
    http.command("/okr", f"show O-{obj.number}", user=BOB)
    shown = http.last_reply_text()
    assert "&lt;!here&gt;" in shown  # the description, in mrkdwn, escaped
    http.command("/okr", "list all", user=BOB)
    http.replies(2)
    assert_no_pings(slack, "<@U0BOB0001> _win_", "<https://evil.example|click>")


def objective_quarter() -> str:
    from datetime import date

    from storage.quarters import quarter_of

    return quarter_of(date.today())


def objective_due() -> str:
    from storage.quarters import quarter_bounds

    return quarter_bounds(objective_quarter())[1].isoformat()


def test_free_text_fields_control_characters_emoji_and_rtl_round_trip(http, slack, engine):
    dept = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    _, (kr,) = objective(engine, dept, owner=BOB)
    note = f"<!channel> {RTL_EMOJI} bell\x07 esc\x1b[31m *bold* \u202eevil\u202c"
    http.command("/checkin", f"KR-{kr.number} 40 7/10 {note}", user=BOB)
    assert "Checked in" in http.last_reply_text()
    with Session(engine) as s:
        (row,) = s.exec(select(CheckIn)).all()
        assert row.note == note  # every character kept, in order
    # The modal keeps the note verbatim, tabs and line breaks included.
    modal_note = f"line one\ttabbed\n{RTL_EMOJI}\n<!here> \x07"
    values = state(
        kr=("option", str(kr.number)), value="42", confidence=("option", "8"), note=modal_note
    )
    assert http.view_submission("checkin_submit", values, user=BOB).status == 200
    slack.wait_for("chat.postMessage")
    with Session(engine) as s:
        assert s.exec(select(CheckIn).order_by(CheckIn.id.desc())).first().note == modal_note
    slack.reset()
    # NUL cannot be stored by PostgreSQL: removed, the rest kept, a clear answer.
    http.command("/checkin", f"KR-{kr.number} 41 7/10 before\x00after {RTL_EMOJI}", user=BOB)
    assert "Checked in" in http.last_reply_text()
    with Session(engine) as s:
        latest = s.exec(select(CheckIn).order_by(CheckIn.id.desc())).first()
        assert latest.note == f"beforeafter {RTL_EMOJI}"
    slack.reset()
    http.command("/behavior", f"add Support {RTL_EMOJI} <!here> call back", user=ALICE)
    assert "B-1" in http.last_reply_text()
    with Session(engine) as s:
        assert s.exec(select(Behavior)).one().description == f"{RTL_EMOJI} <!here> call back"
    slack.reset()
    http.command("/okr", f"dept create {RTL_EMOJI}", user=ADMIN)
    assert RTL_EMOJI in http.last_reply_text()
    slack.reset()
    http.command("/okr", "dept list", user=BOB)
    assert RTL_EMOJI in http.last_reply_text()
    assert_no_pings(slack)


def test_lone_surrogates_in_json_are_replaced_not_crashing(app, http, slack, engine, server):
    department(engine, "Support", heads=(ALICE,))
    event = {
        "type": "event_callback",
        "team_id": "T0TEAMA01",
        "api_app_id": "A0LOYALTY1",
        "event_id": "Ev0SURROG1",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": ALICE, "tab": "home", "x": "\ud800"},
    }
    body = json.dumps(event)  # ensure_ascii keeps the lone surrogate as \\ud800
    status, _ = post(server, body, {"content-type": "application/json", **sign(body)})
    assert status == 200
    slack.wait_for("views.publish")
    still_serving(server, http, slack)


def test_dispatch_refuses_unsigned_requests_without_side_effects(app, slack, engine):
    from slack_bolt import BoltRequest

    body = command_body("dept create Sneaky")
    resp = app.bolt.dispatch(BoltRequest(body=body, headers={"content-type": [FORM]}))
    assert resp.status == 401
    resp = app.bolt.dispatch(
        BoltRequest(
            body=body,
            headers={k: [v] for k, v in {"content-type": FORM, **sign(body, secret="x")}.items()},
        )
    )
    assert resp.status == 401
    assert count(engine, Department) == 0
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []
    assert SIGNING_SECRET  # the app's real secret was never used above
