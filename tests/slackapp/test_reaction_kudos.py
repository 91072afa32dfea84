"""Reactions as kudos: the recognition emoji from a head/admin in the feedback channel prompts
them once with a button into the kudos form; anything else does nothing."""

from __future__ import annotations

import json

from storage.db import session_scope
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB
from tests.support.factories import TEAM, department

FEEDBACK = "C0FEEDBACK"
TS = "1763900000.000200"
CUSTOMER_MESSAGE = {
    "type": "message",
    "ts": TS,
    "user": "U0ZENDESK1",
    "text": "Ticket #812: Bob was brilliant",
}


def configure(engine, **extra):
    with session_scope(engine) as s:
        update_settings(
            s,
            team_id=TEAM,
            actor_id=ADMIN,
            values={"feedback_channel": FEEDBACK, "recognition_channel": "C0KUDOS001", **extra},
        )
    department(engine, "Support", heads=(ALICE,), members=(BOB,))


def reaction(user: str, emoji: str = "star", channel: str = FEEDBACK) -> dict:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": emoji,
        "item_user": "U0ZENDESK1",
        "item": {"type": "message", "channel": channel, "ts": TS},
    }


def test_head_starring_feedback_gets_a_one_click_prompt_into_the_form(driver, slack, engine):
    configure(engine)
    slack.messages[(FEEDBACK, TS)] = CUSTOMER_MESSAGE
    resp = driver.event(reaction(ALICE))
    assert resp.status == 200
    prompt = slack.wait_for("chat.postEphemeral")[-1].args
    assert (prompt["channel"], prompt["user"]) == (FEEDBACK, ALICE)
    (button,) = [e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "reaction_kudos_open"
    driver.block_action("reaction_kudos_open", button["value"], user=ALICE, channel=FEEDBACK)
    view = slack.wait_for("views.open")[-1].args["view"]
    body = json.dumps(view)
    assert view["callback_id"] == "kudos_submit" and "Bob was brilliant" in body
    assert f"archives/{FEEDBACK}/p" in body  # the permalink
    assert json.loads(view["private_metadata"])["source"] == "reaction"
    history = slack.wait_for("conversations.history")[-1].args
    assert (history["channel"], history["latest"]) == (FEEDBACK, TS)


def test_admin_with_skin_tone_and_custom_emoji(driver, slack, engine):
    configure(engine, recognition_emoji="clap")
    driver.event(reaction(ADMIN, "clap::skin-tone-3"))
    assert slack.wait_for("chat.postEphemeral")[-1].args["user"] == ADMIN


def test_other_emoji_people_and_channels_do_nothing(app, driver, slack, engine):
    configure(engine)
    driver.event(reaction(ALICE, "thumbsup"))
    driver.event(reaction(BOB))  # a member, not a head
    driver.event(reaction(ALICE, channel="C0RANDOM01"))
    driver.event({**reaction(ALICE), "item": {"type": "file", "file": "F0001"}})
    # A valid reaction last: it is the only one that prompts.
    driver.event(reaction(ALICE))
    slack.wait_for("chat.postEphemeral")
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)  # every listener has finished
    app_calls = [c for c in slack.calls if c.method in ("chat.postEphemeral", "chat.postMessage")]
    assert len(app_calls) == 1


def test_no_feedback_channel_configured_does_nothing(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.event(reaction(ALICE))
    driver.home_opened(ALICE)
    slack.wait_for("views.publish")
    assert not slack.calls_to("chat.postEphemeral")


def test_ephemeral_failure_falls_back_to_a_dm(driver, slack, engine):
    configure(engine)
    slack.api_error("chat.postEphemeral", "user_not_in_channel")
    driver.event(reaction(ALICE))
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == ALICE)
    assert "reaction_kudos_open" in json.dumps(dm[-1].args["blocks"])


def test_button_for_another_channel_is_refused(driver, slack, engine):
    configure(engine)
    forged = json.dumps({"c": "C0SECRET01", "ts": TS})
    driver.block_action("reaction_kudos_open", forged, user=ALICE)
    assert "no longer valid" in driver.last_reply_text()
    assert not slack.calls_to("conversations.history") and not slack.calls_to("views.open")
