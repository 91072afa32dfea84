"""Praise-sheet drafts: heads DMed once, Confirm posts one recognition, each draft decided once."""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import pytest
from sqlmodel import Session, func, select

from jobs.praise_notify import notify_pending_praise
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.errors import DomainError
from storage.models import PraiseDraft, Recognition, RecognitionRecipient
from storage.praise import decide_draft
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department

KUDOS = "C0KUDOS001"
DAVE = "U0DAVE0001"


def add_draft(engine, *, staff=BOB, status="pending", dept_id=None, row_key="row-1") -> int:
    with session_scope(engine) as s:
        d = PraiseDraft(
            team_id=TEAM,
            row_key=row_key,
            praise_date=date(2026, 11, 20),
            customer="Acme Corp",
            comment="Bob walked us through the migration on a Sunday. Outstanding.",
            staff=f"{(staff or 'unknown').lower()}@example.com",
            staff_user_id=staff,
            department_id=dept_id,
            status=status,
        )
        s.add(d)
        s.flush()
        return d.id


@pytest.fixture
def team(engine, slack):
    slack.add_user(DAVE, name="Dave")
    with session_scope(engine) as s:
        update_settings(s, team_id=TEAM, actor_id=ADMIN, values={"recognition_channel": KUDOS})
    return department(engine, "Support", heads=(ALICE, DAVE), members=(BOB,))


def test_heads_are_dmed_once_per_pending_matched_draft(team, engine, slack, settings):
    draft_id = add_draft(engine, dept_id=team.id)
    add_draft(engine, staff=None, status="unmatched", row_key="row-2")
    add_draft(engine, status="confirmed", dept_id=team.id, row_key="row-3")
    client = make_web_client(settings)
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 1
    dms = slack.calls_to("chat.postMessage")
    assert sorted(c.args["channel"] for c in dms) == [ALICE, DAVE]  # never Bob himself
    blocks = json.dumps(dms[0].args["blocks"])
    assert "Acme Corp" in blocks and "migration on a Sunday" in blocks
    assert "praise_draft_confirm" in blocks and "praise_draft_dismiss" in blocks
    assert f'"value": "{draft_id}"' in blocks
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 0
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_failed_dms_leave_the_draft_for_the_next_run(team, engine, slack, settings):
    add_draft(engine, dept_id=team.id)
    slack.api_error("chat.postMessage", "account_inactive", times=2)
    client = make_web_client(settings)
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 0
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 1


def test_confirm_posts_the_recognition_and_second_click_is_refused(
    team, driver, slack, engine, settings
):
    draft_id = add_draft(engine, dept_id=team.id)
    notify_pending_praise(engine=engine, client=make_web_client(settings), team_id=TEAM)
    with Session(engine) as s:
        copies = dict(json.loads(s.get(PraiseDraft, draft_id).notified_messages))
    assert set(copies) == {"D" + ALICE[1:], "D" + DAVE[1:]}
    alice_ts = copies["D" + ALICE[1:]]
    slack.reset()
    driver.block_action(
        "praise_draft_confirm",
        str(draft_id),
        user=ALICE,
        container={"type": "message", "message_ts": alice_ts, "channel_id": "D0ALICE01"},
    )
    public = slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == KUDOS)
    assert "migration on a Sunday" in json.dumps(public[-1].args["blocks"])
    slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == BOB)
    replies = driver.replies(2)  # the prompt replaced, then where the kudos went
    updated = next(r for r in replies if r.get("replace_original") is True)
    assert "You confirmed" in updated["text"]
    assert any("posted in <#C0KUDOS001>" in r["text"] for r in replies)
    # Dave's copy of the prompt loses its buttons and says who decided.
    (update,) = slack.wait_for("chat.update")
    assert update.args["channel"] == "D" + DAVE[1:]
    assert "<@U0ALICE01> confirmed it as kudos" in json.dumps(update.args["blocks"])
    assert "praise_draft_confirm" not in json.dumps(update.args["blocks"])
    with Session(engine) as s:
        draft = s.get(PraiseDraft, draft_id)
        assert (draft.status, draft.decided_by) == ("confirmed", ALICE)
        rec = s.get(Recognition, draft.recognition_id)
        assert (rec.giver_id, rec.source) == (ALICE, "sheet")
        assert s.exec(select(RecognitionRecipient.user_id)).all() == [BOB]
    slack.reset()
    driver.block_action("praise_draft_dismiss", str(draft_id), user=DAVE)
    assert "already confirmed by <@U0ALICE01>" in driver.last_reply_text()
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Recognition)).one() == 1
        assert s.get(PraiseDraft, draft_id).status == "confirmed"


def test_dismiss_posts_nothing_and_non_heads_cannot_decide(team, driver, slack, engine):
    draft_id = add_draft(engine, dept_id=team.id)
    driver.block_action("praise_draft_confirm", str(draft_id), user=CAROL)
    assert "department head" in driver.last_reply_text()
    slack.reset()
    driver.block_action("praise_draft_dismiss", str(draft_id), user=DAVE)
    assert "dismissed" in driver.last_reply_text()
    with Session(engine) as s:
        assert s.get(PraiseDraft, draft_id).status == "dismissed"
        assert s.exec(select(func.count()).select_from(Recognition)).one() == 0
    assert not [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == KUDOS]


def test_two_heads_confirming_at_once_make_one_recognition(team, engine):
    draft_id = add_draft(engine, dept_id=team.id)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def click(head: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as s:
                decide_draft(
                    s, team_id=TEAM, draft_id=draft_id, actor_id=head, is_admin=False, confirm=True
                )
            outcomes[head] = "won"
        except DomainError as exc:
            outcomes[head] = exc.message

    threads = [threading.Thread(target=click, args=(h,)) for h in (ALICE, DAVE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(v == "won" for v in outcomes.values()) == [False, True]
    loser = next(v for v in outcomes.values() if v != "won")
    assert "already confirmed" in loser
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Recognition)).one() == 1
        assert s.exec(select(func.count()).select_from(RecognitionRecipient)).one() == 1


def wait_for_rate_limit(slack, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(c.status == 429 for c in list(slack.calls)):
        assert time.monotonic() < deadline, "the fake never answered 429"
        time.sleep(0.02)


def dms_to(slack, user: str) -> int:
    """DMs that reached `user` (a refused or rate-limited call is not one)."""
    return len(
        [c for c in slack.calls_to("chat.postMessage") if c.ok and c.args["channel"] == user]
    )


def test_dms_wait_out_a_429_outside_any_transaction_and_go_once(team, engine, slack, settings):
    draft_id = add_draft(engine, dept_id=team.id)
    slack.rate_limit("chat.postMessage", retry_after=3, match={"channel": DAVE})
    client = make_web_client(settings)
    sent: list[int] = []
    first = threading.Thread(
        target=lambda: sent.append(
            notify_pending_praise(engine=engine, client=client, team_id=TEAM)
        )
    )
    first.start()
    wait_for_rate_limit(slack)
    # While the job waits out Retry-After, Alice (already DMed) confirms: her write and a
    # second run of the job go through at once, and the second run sends nothing.
    started = time.monotonic()
    with session_scope(engine) as s:
        decide_draft(
            s, team_id=TEAM, draft_id=draft_id, actor_id=ALICE, is_admin=False, confirm=True
        )
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 0
    took = time.monotonic() - started
    assert first.is_alive() and took < 1.5, took
    first.join(timeout=20)
    assert sent == [1]
    assert (dms_to(slack, ALICE), dms_to(slack, DAVE)) == (1, 1)
    with Session(engine) as s:
        draft = s.get(PraiseDraft, draft_id)
        assert draft.status == "confirmed" and draft.notified_at is not None
        assert sorted(m[0] for m in json.loads(draft.notified_messages)) == [
            "D0ALICE01",
            "D0DAVE0001",
        ]
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 0
    assert (dms_to(slack, ALICE), dms_to(slack, DAVE)) == (1, 1)


def test_a_head_who_was_dmed_is_never_dmed_again(team, engine, slack, settings):
    draft_id = add_draft(engine, dept_id=team.id)
    # Dave's DM keeps failing after Alice's went out: the next runs do not DM Alice again.
    slack.api_error("chat.postMessage", "account_inactive", times=3, match={"channel": DAVE})
    client = make_web_client(settings)
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 1
    assert notify_pending_praise(engine=engine, client=client, team_id=TEAM) == 0
    assert (dms_to(slack, ALICE), dms_to(slack, DAVE)) == (1, 0)
    with Session(engine) as s:
        messages = json.loads(s.get(PraiseDraft, draft_id).notified_messages)
    assert [m[0] for m in messages] == ["D0ALICE01"]
