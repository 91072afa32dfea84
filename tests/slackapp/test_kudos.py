"""/kudos end to end: stored with recipients and departments, posted, DMed; every bad input."""

from __future__ import annotations

import json
import time

from sqlmodel import Session, func, select

from storage.db import session_scope
from storage.kudos import create_recognition, set_recognition_post
from storage.models import AuditLog, Recognition, RecognitionRecipient
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department
from tests.support.slack_driver import state

RECOGNITION_CHANNEL = "C0KUDOS001"


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def settings(engine, **values):
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values=values)


def setup_team(engine):
    settings(engine, recognition_channel=RECOGNITION_CHANNEL)
    support = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    sales = department(engine, "Sales", heads=(CAROL,), channel="C0SALES001")
    return support, sales


def posts_to(slack, channel, n=1):
    return slack.wait_for("chat.postMessage", n, where=lambda c: c.args.get("channel") == channel)


def test_kudos_to_several_people_is_stored_posted_and_dmed(driver, slack, engine):
    support, sales = setup_team(engine)
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.last_reply_text()
    slack.reset()
    resp = driver.command(
        "/kudos",
        "<@U0BOB0001|bob> <@U0CAROL01|carol> the customer wrote “you saved our launch” #B-1",
        user=ALICE,
    )
    assert resp.status == 200
    giver_reply = driver.last_reply_text()
    assert "Kudos to <@U0BOB0001> and <@U0CAROL01> recorded" in giver_reply
    assert f"<#{RECOGNITION_CHANNEL}>" in giver_reply
    public = posts_to(slack, RECOGNITION_CHANNEL)[-1].args
    text = json.dumps(public["blocks"], ensure_ascii=False)
    assert "<@U0ALICE01>" in text and "<@U0BOB0001>" in text and "you saved our launch" in text
    assert "B-1" in text and "Call every detractor" in text
    for person in (BOB, CAROL):
        dm = posts_to(slack, person)[-1].args
        assert "recognized you" in json.dumps(dm["blocks"])
    with Session(engine) as s:
        rec = s.exec(select(Recognition)).one()
        assert (rec.giver_id, rec.text, rec.source, rec.behavior_id is not None) == (
            ALICE,
            "the customer wrote “you saved our launch”",
            "command",
            True,
        )
        rows = s.exec(select(RecognitionRecipient).order_by(RecognitionRecipient.id)).all()
        assert [(r.user_id, r.department_id) for r in rows] == [
            (BOB, support.id),
            (CAROL, sales.id),
        ]
        assert (
            s.exec(select(AuditLog).where(AuditLog.action == "recognition.create")).one().actor_id
            == ALICE
        )


def test_behavior_tag_by_name(driver, slack, engine):
    setup_team(engine)
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.last_reply_text()
    slack.reset()
    driver.command(
        "/kudos", "<@U0BOB0001> turned a detractor around #call every detractor", user=ALICE
    )
    assert "recorded" in driver.last_reply_text()
    with Session(engine) as s:
        rec = s.exec(select(Recognition)).one()
        assert rec.text == "turned a detractor around" and rec.behavior_id is not None


def test_bad_kudos_input_is_refused_quoted_and_writes_nothing(driver, slack, engine):
    setup_team(engine)
    slack.add_user("U0BOTUSER1", name="Deploy Bot", bot=True)
    slack.add_user("U0GONE0001", name="Former", deleted=True)
    cases = [
        ("thanks for the help", "Mention at least one person"),
        ("<@U0ALICE01|alice> great job", "can't give kudos to yourself"),
        ("<@U0BOB0001> <@U0ALICE01> we did it", "can't give kudos to yourself"),
        ("<!subteam^S0SUPPORT1|@support> great week", "not to user groups"),
        ("<@U0BOB0001> <!subteam^S0SUPPORT1|@support> great week", "not to user groups"),
        ("<!here> great week", "not to user groups"),
        ("<#C0GENERAL|general> great week", "That's a channel, not a person"),
        ("<@U0BOTUSER1|deploybot> shipped it", "is a bot"),
        ("<@U0NOSUCH01|ghost> helped", "no longer in this workspace"),
        ("<@U0GONE0001|former> helped", "no longer in this workspace"),
        ("<@U0BOB0001>", "Say what the customer said"),
        ("<@U0BOB0001> great call #B-99", "no behavior `B-99`"),
        ("<@U0BOB0001> great call #no such behavior", "no behavior `#no such behavior`"),
    ]
    for text, expected in cases:
        slack.reset()
        driver.command("/kudos", text, user=ALICE)
        reply = driver.last_reply_text()
        assert expected in reply, (text, reply)
        assert "You wrote" in reply and "/kudos" in reply  # quoted, with usage
    assert count(engine, Recognition) == 0
    assert not slack.calls_to("chat.postMessage")


def test_workspace_can_require_a_behavior_tag(driver, slack, engine):
    setup_team(engine)
    settings(engine, kudos_require_behavior=True)
    driver.command("/behavior", "add Support Call every detractor --target 5", user=ALICE)
    driver.last_reply_text()
    slack.reset()
    driver.command("/kudos", "<@U0BOB0001> great call", user=ALICE)
    assert "asks every kudos to name the behavior" in driver.last_reply_text()
    assert count(engine, Recognition) == 0
    slack.reset()
    driver.command("/kudos", "<@U0BOB0001> great call #B1", user=ALICE)
    assert "recorded" in driver.last_reply_text()
    assert count(engine, Recognition) == 1


def test_long_praise_is_stored_in_full_and_shown_cut_with_read_all(driver, slack, engine):
    setup_team(engine)
    ending = " Signed, Dana at Acme."
    filler = "The customer said: " + "thank you for staying late to fix our export. " * 90
    praise = filler[: 4000 - len(ending)] + ending
    assert len(praise) == 4000
    driver.command("/kudos", f"<@U0BOB0001> {praise}", user=ALICE)
    driver.last_reply_text()
    with Session(engine) as s:
        rec = s.exec(select(Recognition)).one()
        assert rec.text == praise.strip()
    blocks = posts_to(slack, RECOGNITION_CHANNEL)[-1].args["blocks"]
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    body = json.dumps(blocks, ensure_ascii=False)
    assert "…" in body and "Dana at Acme" not in body
    (button,) = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "kudos_read_all" and button["value"] == str(rec.id)
    driver.block_action("kudos_read_all", button["value"], user=CAROL)
    modal = slack.wait_for("views.open")[-1].args["view"]
    texts = [b["text"]["text"] for b in modal["blocks"][1:]]
    assert all(len(t) <= 3000 for t in texts)
    assert "".join(texts) == praise.strip()


def test_mentions_in_praise_display_but_cannot_ping_everyone(driver, slack, engine):
    setup_team(engine)
    driver.command(
        "/kudos",
        "<@U0BOB0001> helped <@U0CAROL01|carol> close the ticket &lt;!channel&gt;",
        user=ALICE,
    )
    driver.last_reply_text()
    blocks = json.dumps(posts_to(slack, RECOGNITION_CHANNEL)[-1].args["blocks"])
    assert "<@U0CAROL01>" in blocks and "<!channel>" not in blocks
    with Session(engine) as s:
        users = s.exec(select(RecognitionRecipient.user_id)).all()
        assert sorted(users) == [BOB, CAROL]


def test_no_recognition_channel_tells_giver_and_still_dms(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.command("/kudos", "<@U0BOB0001> amazing save", user=ALICE)
    assert "No recognition channel is set" in driver.last_reply_text()
    posts_to(slack, BOB)
    assert count(engine, Recognition) == 1


def test_bot_not_in_recognition_channel_tells_giver_how_to_add_it(driver, slack, engine):
    setup_team(engine)
    slack.not_in_channels.add(RECOGNITION_CHANNEL)
    driver.command("/kudos", "<@U0BOB0001> amazing save", user=ALICE)
    reply = driver.last_reply_text()
    assert "couldn't post it" in reply and "/invite" in reply
    posts_to(slack, BOB)
    assert count(engine, Recognition) == 1


def test_kudos_modal_from_command_and_its_submission(driver, slack, engine):
    setup_team(engine)
    driver.command("/kudos", "", user=ALICE)
    view = slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "kudos_submit"
    assert {b.get("block_id") for b in view["blocks"]} >= {"recipients", "praise"}
    refused = driver.view_submission(
        "kudos_submit", state(recipients=("users", [ALICE]), praise="me!"), user=ALICE
    )
    assert "yourself" in json.loads(refused.body)["errors"]["recipients"]
    empty = driver.view_submission(
        "kudos_submit", state(recipients=("users", [BOB]), praise="   "), user=ALICE
    )
    assert "praise" in json.loads(empty.body)["errors"]
    assert count(engine, Recognition) == 0
    ok = driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [BOB, CAROL]), praise="Customer called to say thanks"),
        user=ALICE,
    )
    assert ok.status == 200 and not ok.body
    posts_to(slack, RECOGNITION_CHANNEL)
    posts_to(slack, ALICE)  # the giver hears where it went
    with Session(engine) as s:
        assert sorted(s.exec(select(RecognitionRecipient.user_id)).all()) == [BOB, CAROL]


def test_rate_limited_post_is_retried_and_lands_once(driver, slack, engine):
    setup_team(engine)
    slack.rate_limit("chat.postMessage", retry_after=1, match={"channel": RECOGNITION_CHANNEL})
    driver.command("/kudos", "<@U0BOB0001> amazing save", user=ALICE)
    assert "posted in" in driver.last_reply_text()
    assert len(posts_to(slack, RECOGNITION_CHANNEL)) == 1
    assert len(posts_to(slack, BOB)) == 1
    assert count(engine, Recognition) == 1


def slack_unescape(text: str) -> str:
    """How Slack shows escaped mrkdwn: the three entities back to their characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_read_all_shows_every_character_of_praise_full_of_ampersands_and_brackets(
    driver, slack, engine
):
    setup_team(engine)
    praise = ("Tom & Jerry <3 the team >> fast & kind <b>! " * 70)[:3000]
    driver.view_submission(
        "kudos_submit", state(recipients=("users", [BOB]), praise=praise), user=ALICE
    )
    posts_to(slack, RECOGNITION_CHANNEL)
    with Session(engine) as s:
        rec = s.exec(select(Recognition)).one()
    assert rec.text == praise.strip()
    driver.block_action("kudos_read_all", str(rec.id), user=CAROL)
    modal = slack.wait_for("views.open")[-1].args["view"]
    texts = [b["text"]["text"] for b in modal["blocks"][1:]]
    assert len(texts) > 1 and all(len(t) <= 3000 for t in texts)
    # Each piece is whole escaped text: no entity cut in two, nothing left raw.
    for t in texts:
        assert "<" not in t and ">" not in t
        assert all(t[i:].startswith(("&amp;", "&lt;", "&gt;")) for i, c in enumerate(t) if c == "&")
    assert "".join(slack_unescape(t) for t in texts) == praise.strip()


def test_kudos_form_acks_at_once_while_slack_is_slow_and_a_resubmission_posts_once(
    app, driver, slack, engine
):
    setup_team(engine)
    people = [f"U0SLOW{i:04d}" for i in range(5)]
    for uid in people:
        slack.add_user(uid, name=uid.lower())
    slack.slow("users.info", 0.8)  # five recipients: four seconds of users.info
    values = state(recipients=("users", people), praise="They stayed on the call until it worked")
    acks = []
    for _ in range(2):  # the giver saw Slack's error and pressed Send again: same form
        started = time.monotonic()
        resp = driver.view_submission("kudos_submit", values, user=ALICE, view_id="V0SLOWFORM")
        acks.append(time.monotonic() - started)
        assert resp.status == 200 and not resp.body
    assert max(acks) < 1.5, acks  # Slack's limit is 3 s
    posts_to(slack, RECOGNITION_CHANNEL)
    app.bolt.listener_runner.listener_executor.shutdown(wait=True)  # both have finished
    assert len(posts_to(slack, RECOGNITION_CHANNEL)) == 1
    assert count(engine, Recognition) == 1 and count(engine, RecognitionRecipient) == 5
    for uid in people:
        assert len(posts_to(slack, uid)) == 1
    assert len(posts_to(slack, ALICE)) == 1  # the giver hears once where it went


def test_kudos_form_problem_found_after_the_ack_is_sent_to_the_giver(driver, slack, engine):
    setup_team(engine)
    slack.add_user("U0BOTUSER1", name="Deploy Bot", bot=True)
    praise = "Deploy <bot> & Bob kept the launch on track"
    resp = driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [BOB, "U0BOTUSER1"]), praise=praise),
        user=ALICE,
        view_id="V0BOTFORM1",
    )
    assert resp.status == 200 and not resp.body
    (dm,) = posts_to(slack, ALICE)
    text = json.dumps(dm.args["blocks"])
    assert "not recorded" in text and "is a bot" in text
    assert "Deploy &lt;bot&gt; &amp; Bob kept the launch on track" in text  # their words, quoted
    assert count(engine, Recognition) == 0
    assert not slack.calls_to("chat.postMessage")[:-1]  # nothing but that DM
    # Fixed and sent again from a new form: recorded.
    driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [BOB]), praise=praise),
        user=ALICE,
        view_id="V0BOTFORM2",
    )
    posts_to(slack, RECOGNITION_CHANNEL)
    assert count(engine, Recognition) == 1


def test_a_bot_or_a_departed_person_cached_within_the_hour_is_refused_again_without_slack(
    driver, slack, engine
):
    # The second time, their users.info facts are cached: the transaction that checks them
    # judges them from the rows it has just read, and still refuses them.
    setup_team(engine)
    slack.add_user("U0BOTUSER1", name="Deploy Bot", bot=True)
    slack.add_user("U0GONE0001", name="Former", deleted=True)
    for text, expected in (
        ("<@U0BOTUSER1|deploybot> <@U0BOB0001> shipped it", "is a bot"),
        ("<@U0BOB0001> <@U0GONE0001|former> helped", "no longer in this workspace"),
    ):
        for _ in range(2):
            slack.reset()
            driver.command("/kudos", text, user=ALICE)
            assert expected in driver.last_reply_text(), text
        assert not slack.calls_to("users.info"), text  # the second time: all cached
    assert count(engine, Recognition) == 0
    assert not slack.calls_to("chat.postMessage")


def test_where_a_recognition_was_posted_is_recorded_for_its_own_team_only(engine):
    setup_team(engine)
    with session_scope(engine) as s:
        rec_id = create_recognition(
            s, team_id=TEAM, giver_id=ALICE, recipient_ids=[BOB], text="thanks"
        ).recognition.id
    with session_scope(engine) as s:
        assert not set_recognition_post(
            s, team_id="T0OTHER001", recognition_id=rec_id, channel_id="C0X", ts="1.2"
        )
        assert not set_recognition_post(
            s, team_id=TEAM, recognition_id=rec_id + 1, channel_id="C0X", ts="1.2"
        )
    with Session(engine) as s:
        rec = s.get(Recognition, rec_id)
        assert (rec.post_channel_id, rec.post_ts) == (None, None)
    with session_scope(engine) as s:
        assert set_recognition_post(
            s, team_id=TEAM, recognition_id=rec_id, channel_id=RECOGNITION_CHANNEL, ts="1.2"
        )
    with Session(engine) as s:
        rec = s.get(Recognition, rec_id)
        assert (rec.post_channel_id, rec.post_ts) == (RECOGNITION_CHANNEL, "1.2")
