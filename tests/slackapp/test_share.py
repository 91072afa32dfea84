"""Share in channel under `/okr show`, `/okr tree` and `/kpi <name>` replies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from storage.db import session_scope
from storage.models import KpiValue
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective

OTHER_TEAM = "T0TEAMB01"


def share_value(reply: dict) -> str:
    (button,) = [
        el
        for b in reply["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"] == "share_in_channel"
    ]
    return button["value"]


def press_share(driver, slack, value, *, user, channel="C0GENERAL"):
    slack.reset()
    driver.block_action("share_in_channel", value, user=user, channel=channel,
                        container={"type": "message", "channel_id": channel,
                                   "is_ephemeral": True})  # fmt: skip
    return driver.last_reply_text()


def posted(slack, channel):
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == channel]


def test_show_tree_and_kpi_replies_share_in_the_channel(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(CAROL,))
    obj, _ = objective(engine, dept, title="Delight <customers>")
    with session_scope(engine) as s:
        s.add(KpiValue(team_id="T0TEAMA01", kpi_name="nps", day=datetime.now(UTC).date(),
                       value=42.0))  # fmt: skip
    for command, text, expect in [
        ("/okr", f"show O-{obj.number}", "O-1 Delight <customers>"),
        ("/okr", "tree", "Delight"),
        ("/kpi", "nps", "KPI nps"),
    ]:
        slack.reset()
        driver.command(command, text, user=CAROL, channel="C0GENERAL")
        value = share_value(driver.replies(1)[0])
        confirmed = press_share(driver, slack, value, user=CAROL)
        assert "Shared in <#C0GENERAL>" in confirmed
        (post,) = posted(slack, "C0GENERAL")
        body = json.dumps(post["blocks"], ensure_ascii=False)
        assert expect in body and "Shared by <@U0CAROL01>" in body
        assert all(b["type"] != "actions" for b in post["blocks"])  # no buttons in the channel
        assert len(post["blocks"]) <= 50


def test_share_where_the_app_is_not_says_how_to_invite_it(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, _ = objective(engine, dept)
    slack.not_in_channels.add("C0SECRET01")
    reply = press_share(driver, slack, f"show|O-{obj.number}", user=ALICE, channel="C0SECRET01")
    assert "/invite @Loyalty OKRs" in reply
    # Slack refused the one attempt (not_in_channel); nothing was posted.
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [False]


def test_share_refused_without_role_forged_or_gone(driver, slack, engine):
    dept = department(engine, heads=(ALICE,))
    obj, _ = objective(engine, dept)
    other = department(engine, "Other", team_id=OTHER_TEAM, heads=(ALICE,))
    for _ in range(3):
        objective(engine, other, team_id=OTHER_TEAM)
    # Bob is in no department: members share, he is told which role it needs.
    reply = press_share(driver, slack, f"show|O-{obj.number}", user=BOB)
    assert "Only a member of a department" in reply and f"show|O-{obj.number}" in reply
    # O-3 exists only in the other workspace; a KPI that is not one here; a kind that is not.
    for value, expect in [
        ("show|O-3", "no objective `O-3` in this workspace"),
        ("kpi|bogus", "`bogus` is not a KPI here"),
        ("frob|x", "does not say what to share"),
    ]:
        reply = press_share(driver, slack, value, user=ADMIN)
        assert expect in reply and value in reply, reply
    assert slack.calls_to("chat.postMessage") == []
