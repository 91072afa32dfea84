"""Leaderboards with fairness, the privacy opt-out, kudos_between for digests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from storage.db import session_scope
from storage.kudos import create_recognition, kudos_between
from storage.leaderboards import leaderboard, set_hide_from_leaderboards
from storage.models import RecognitionRecipient, SlackUser
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department

DAN, ERIN, FRANK = "U0DAN00001", "U0ERIN0001", "U0FRANK001"
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)


def give(engine, giver, recipients, when, text="Customer loved it", team_id=TEAM):
    with session_scope(engine) as s:
        item = create_recognition(
            s, team_id=team_id, giver_id=giver, recipient_ids=recipients, text=text, at=when
        )
        return item.recognition.id


def seed(engine):
    support = department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL, DAN))
    sales = department(engine, "Sales", heads=(ERIN,), members=(FRANK,), channel="C0SALES001")
    inside = datetime(2026, 11, 10, 12, tzinfo=UTC)
    give(engine, ALICE, [BOB, CAROL], inside)
    give(engine, ALICE, [BOB], inside + timedelta(days=1))
    give(engine, ERIN, [BOB, FRANK], inside + timedelta(days=2))
    give(engine, BOB, [ERIN], inside + timedelta(days=3))
    give(engine, ALICE, [DAN], START - timedelta(seconds=1))  # last quarter
    give(engine, ALICE, [DAN], END)  # next quarter
    return support, sales


def test_leaderboard_top_fairness_and_share(engine):
    support, sales = seed(engine)
    give(
        engine,
        "U0OTHERTM1",
        ["U0OTHERTM2"],
        datetime(2026, 11, 11, tzinfo=UTC),
        team_id="T0OTHER01",
    )
    with Session(engine) as s:
        board = leaderboard(s, team_id=TEAM, start=START, end=END)
    assert board.top[0] == (BOB, 3)
    assert sorted(board.top[1:]) == [(CAROL, 1), (ERIN, 1), (FRANK, 1)]
    rows = {d.name: (kudos, heads, round(per, 2)) for d, kudos, heads, per in board.per_department}
    # Support: Bob 3 + Carol 1 among 4 people; Sales: Frank 1 + Erin 1 among 2 people.
    assert rows == {"Support": (4, 4, 1.0), "Sales": (2, 2, 1.0)}
    assert board.recognized_per_department == {support.id: 2, sales.id: 2}
    assert (board.members_recognized, board.members_total) == (4, 6)
    assert round(board.share_recognized, 3) == round(4 / 6, 3)
    with Session(engine) as s:
        assert leaderboard(s, team_id=TEAM, start=START, end=END, limit=1).top == [(BOB, 3)]


def test_opted_out_people_leave_the_top_list_but_keep_their_kudos(engine):
    seed(engine)
    with session_scope(engine) as s:
        set_hide_from_leaderboards(s, team_id=TEAM, user_id=BOB, hide=True)
    with Session(engine) as s:
        board = leaderboard(s, team_id=TEAM, start=START, end=END)
        assert BOB not in [u for u, _ in board.top]
        rows = {d.name: kudos for d, kudos, _, _ in board.per_department}
        assert rows["Support"] == 4  # aggregates name nobody, so they still count
        assert s.exec(select(RecognitionRecipient).where(RecognitionRecipient.user_id == BOB)).all()


def test_kudos_between_filters_time_team_and_department(engine):
    support, sales = seed(engine)
    with Session(engine) as s:
        everything = kudos_between(s, team_id=TEAM, start=START, end=END)
        assert [sorted(k.recipient_ids) for k in everything] == [
            [BOB, CAROL],
            [BOB],
            [BOB, FRANK],
            [ERIN],
        ]
        assert everything[2].department_ids == sorted([support.id, sales.id])
        only_sales = kudos_between(s, team_id=TEAM, start=START, end=END, department_ids=[sales.id])
        assert [sorted(k.recipient_ids) for k in only_sales] == [[BOB, FRANK], [ERIN]]
        assert kudos_between(s, team_id=TEAM, start=START, end=END, department_ids=[]) == []
        assert kudos_between(s, team_id="T0OTHER01", start=START, end=END) == []


def for_bob(call) -> bool:
    return call.args.get("user_id") == BOB


def test_app_home_leaderboard_and_privacy_toggle(driver, slack, engine):
    with session_scope(engine) as s:
        update_settings(
            s, team_id=TEAM, actor_id=ADMIN, values={"recognition_channel": "C0KUDOS001"}
        )
    department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL))
    driver.command("/kudos", "<@U0BOB0001> the customer renewed for 3 years", user=ALICE)
    driver.last_reply_text()
    driver.home_opened(BOB)
    # Only Bob's Home: the giver's own Home is refreshed in the background after her write.
    home = slack.wait_for("views.publish", where=for_bob)[-1].args["view"]
    body = json.dumps(home, ensure_ascii=False)
    assert "Recognition leaderboard" in body and "<@U0BOB0001> — 1 kudos" in body
    assert "per person" in body and "1 of 3 department members" in body
    assert "kudos_open" in body and "Hide me from leaderboards" in body
    assert len(home["blocks"]) <= 100
    slack.reset()
    driver.block_action("leaderboard_privacy_toggle", "hide", user=BOB)
    home = slack.wait_for("views.publish", where=for_bob)[-1].args["view"]
    body = json.dumps(home, ensure_ascii=False)
    assert "<@U0BOB0001> — 1 kudos" not in body and "Show me on leaderboards" in body
    with Session(engine) as s:
        assert s.get(SlackUser, (TEAM, BOB)).hide_from_leaderboards is True
    # Hidden from leaderboards, but kudos still reach Bob.
    slack.reset()
    driver.command("/kudos", "<@U0BOB0001> another happy customer", user=CAROL)
    driver.last_reply_text()
    slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == BOB)
    slack.reset()
    driver.block_action("leaderboard_privacy_toggle", "show", user=BOB)
    home = json.dumps(
        slack.wait_for("views.publish", where=for_bob)[-1].args["view"], ensure_ascii=False
    )
    assert "<@U0BOB0001> — 2 kudos" in home


def test_give_kudos_button_on_home_opens_the_modal(driver, slack, engine):
    department(engine, "Support", heads=(ALICE,), members=(BOB,))
    driver.block_action("kudos_open", user=BOB)
    assert slack.wait_for("views.open")[-1].args["view"]["callback_id"] == "kudos_submit"


def test_weekly_tallies_match_counting_every_recognition(engine):
    """Ranges that start and end mid-week mix tallies and raw rows; the result must equal a
    plain count of the recognitions in the range, and a rebuild must equal the running tally."""
    import random

    from storage.leaderboards import rebuild_weekly_tallies, received_counts
    from storage.models import RecognitionWeek

    support = department(engine, "Support", heads=(ALICE,), members=(BOB, CAROL, DAN))
    rng = random.Random(3)
    base = datetime(2026, 10, 1, tzinfo=UTC)
    people = [BOB, CAROL, DAN, ERIN]
    for _ in range(120):
        when = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 45))
        give(engine, ALICE, rng.sample(people, rng.randint(1, 3)), when)

    def tally_rows():
        with Session(engine) as s:
            return sorted(
                (r.week, r.user_id, r.department_id, r.received)
                for r in s.exec(select(RecognitionWeek)).all()
            )

    running = tally_rows()
    with session_scope(engine) as s:
        rebuild_weekly_tallies(s, team_id=TEAM)
    assert tally_rows() == running
    ranges = [(base, base + timedelta(days=45))] + [
        (
            base + timedelta(hours=rng.randrange(0, 24 * 45)),
            base + timedelta(hours=rng.randrange(0, 24 * 45)),
        )
        for _ in range(12)
    ]
    for start, end in ranges:
        expected: dict = {}
        with Session(engine) as s:
            for item in kudos_between(s, team_id=TEAM, start=start, end=end):
                for uid in item.recipient_ids:
                    dept = support.id if uid != ERIN else 0
                    expected[(uid, dept)] = expected.get((uid, dept), 0) + 1
            assert dict(received_counts(s, team_id=TEAM, start=start, end=end)) == expected
