"""Message shortcut "Recognize customer praise": quoted, linked, recognized like /kudos."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select

from storage.db import session_scope
from storage.models import Recognition, RecognitionRecipient
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department
from tests.support.slack_driver import state

FEEDBACK = "C0FEEDBACK"
KUDOS = "C0KUDOS001"
MESSAGE = {
    "type": "message",
    "user": "U0CUSTBOT1",
    "ts": "1763900000.000100",
    "text": "Email from Acme: Bob & Carol fixed our export in an hour <3",
}


def setup_team(engine):
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"recognition_channel": KUDOS})
    department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL))


def test_shortcut_opens_modal_with_quote_and_permalink_then_recognizes(driver, slack, engine):
    setup_team(engine)
    slack.permalinks[(FEEDBACK, MESSAGE["ts"])] = "https://example.slack.com/archives/C0FEEDBACK/p1"
    resp = driver.message_shortcut(
        "recognize_customer_praise", MESSAGE, channel=FEEDBACK, user=ALICE
    )
    assert resp.status == 200
    link_call = slack.wait_for("chat.getPermalink")[-1].args
    assert (link_call["channel"], link_call["message_ts"]) == (FEEDBACK, MESSAGE["ts"])
    view = slack.wait_for("views.open")[-1].args["view"]
    body = json.dumps(view)
    assert view["callback_id"] == "kudos_submit"
    assert (
        "fixed our export in an hour &amp;lt;3" in body
        or "fixed our export in an hour &lt;3" in body
    )
    assert "https://example.slack.com/archives/C0FEEDBACK/p1" in body
    praise_input = next(b for b in view["blocks"] if b.get("block_id") == "praise")
    assert praise_input["element"]["initial_value"] == MESSAGE["text"]
    ok = driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [BOB, CAROL]), praise=MESSAGE["text"]),
        user=ALICE,
        private_metadata=view["private_metadata"],
    )
    assert ok.status == 200 and not ok.body
    public = slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == KUDOS)
    assert "Original message" in json.dumps(public[-1].args["blocks"])
    with Session(engine) as s:
        rec = s.exec(select(Recognition)).one()
        assert (rec.source, rec.channel_id, rec.message_ts, rec.link, rec.giver_id) == (
            "shortcut",
            FEEDBACK,
            MESSAGE["ts"],
            "https://example.slack.com/archives/C0FEEDBACK/p1",
            ALICE,
        )
        assert sorted(s.exec(select(RecognitionRecipient.user_id)).all()) == [BOB, CAROL]


def test_shortcut_in_channel_bot_cannot_read_explains_how_to_add_it(driver, slack, engine):
    setup_team(engine)
    slack.unreadable_channels.add("G0PRIVATE1")
    driver.message_shortcut("recognize_customer_praise", MESSAGE, channel="G0PRIVATE1", user=ALICE)
    view = slack.wait_for("views.open")[-1].args["view"]
    body = json.dumps(view)
    assert "can't read messages in <#G0PRIVATE1>" in body and "/invite @Loyalty OKRs" in body
    assert view.get("callback_id") != "kudos_submit"
    slack.unreadable_channels.add("D0DIRECT01")
    driver.message_shortcut("recognize_customer_praise", MESSAGE, channel="D0DIRECT01", user=ALICE)
    dm_view = json.dumps(slack.wait_for("views.open", 2)[-1].args["view"])
    assert "direct messages" in dm_view and "/kudos" in dm_view
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Recognition)).one() == 0


def test_shortcut_submission_refuses_self_and_forged_link(driver, slack, engine):
    setup_team(engine)
    meta = json.dumps(
        {"source": "shortcut", "channel": FEEDBACK, "ts": "1.2", "link": "javascript:alert(1)"}
    )
    refused = driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [ALICE]), praise="x"),
        user=ALICE,
        private_metadata=meta,
    )
    assert "yourself" in json.loads(refused.body)["errors"]["recipients"]
    ok = driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [BOB]), praise="thanks"),
        user=ALICE,
        private_metadata=meta,
    )
    assert ok.status == 200
    slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == KUDOS)  # after the ack
    with Session(engine) as s:
        rec = s.exec(select(Recognition)).one()
        assert rec.link is None and rec.giver_id == ALICE  # giver from the payload, not metadata
