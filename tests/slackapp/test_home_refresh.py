"""App Home is republished after a write only for someone who opened or used it within the
hour; anyone else gets a fresh Home when they open it."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlmodel import Session

from storage.models import SlackUser, utcnow
from tests.conftest import ALICE, BOB
from tests.support.factories import department, objective
from tests.support.slack_driver import state


def publishes(slack, user: str) -> list:
    return [c for c in slack.calls_to("views.publish") if c.args["user_id"] == user]


def later_refresh_done(driver, slack, kr_number: int) -> None:
    """Bob, who is on App Home, checks in: once his Home is republished, every refresh asked
    for before his (they run in the order asked) has run or been skipped."""
    driver.command("/checkin", f"KR-{kr_number} 10 5/10", user=BOB)
    slack.wait_for("views.publish", where=lambda c: c.args["user_id"] == BOB)


def on_home(driver, slack, user: str) -> None:
    driver.home_opened(user)
    slack.wait_for("views.publish", where=lambda c: c.args["user_id"] == user)
    slack.reset()


def test_write_by_someone_not_on_home_publishes_nothing(app, driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    _, (bobs,) = objective(engine, dept, owner=BOB)
    on_home(driver, slack, BOB)
    driver.command("/checkin", f"KR-{kr.number} 40 7/10", user=ALICE)
    assert "Checked in" in driver.last_reply_text()
    later_refresh_done(driver, slack, bobs.number)
    assert publishes(slack, ALICE) == []
    # Opening Home publishes it with the check-in; from then on her writes republish it.
    on_home(driver, slack, ALICE)
    driver.command("/checkin", f"KR-{kr.number} 45 8/10", user=ALICE)
    assert "Checked in" in driver.last_reply_text()
    refresher = app.deps.home_refresher
    deadline = time.monotonic() + 10
    while not refresher._due and not publishes(slack, ALICE) and time.monotonic() < deadline:
        time.sleep(0.01)  # the listener asks for the refresh just after its reply
    assert refresher.drain(timeout=15)  # waits for the due refresh to run
    (call,) = publishes(slack, ALICE)
    assert "45" in json.dumps(call.args["view"])


def test_home_opened_over_an_hour_ago_is_not_republished(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    _, (kr,) = objective(engine, dept, owner=ALICE)
    _, (bobs,) = objective(engine, dept, owner=BOB)
    on_home(driver, slack, BOB)
    on_home(driver, slack, ALICE)
    with Session(engine) as s:
        row = s.get(SlackUser, ("T0TEAMA01", ALICE))
        row.home_seen_at = utcnow() - timedelta(minutes=61)
        s.add(row)
        s.commit()
    driver.command("/checkin", f"KR-{kr.number} 40 7/10", user=ALICE)
    assert "Checked in" in driver.last_reply_text()
    later_refresh_done(driver, slack, bobs.number)
    assert publishes(slack, ALICE) == []


def test_button_clicked_on_home_counts_as_looking_at_it(driver, slack, engine):
    dept = department(engine, heads=(ALICE,), members=(BOB,))
    _, (kr,) = objective(engine, dept, owner=BOB)
    # Bob's Home was published long ago (no app_home_opened this hour); he clicks Check in on it.
    driver.block_action("checkin_open", str(kr.number), user=BOB, view={"type": "home"})
    slack.wait_for("views.open")
    values = state(kr=("option", str(kr.number)), value="42", confidence=("option", "7"))
    assert driver.view_submission("checkin_submit", values, user=BOB).status == 200
    (call,) = slack.wait_for("views.publish", where=lambda c: c.args["user_id"] == BOB)
    assert call.args["view"]["type"] == "home" and "42" in json.dumps(call.args["view"])
    # A button in a message (not on Home) says nothing about Home.
    with Session(engine) as s:
        seen_before = s.get(SlackUser, ("T0TEAMA01", BOB)).home_seen_at
    driver.block_action("checkin_open", str(kr.number), user=BOB)
    slack.wait_for("views.open", count=2)
    with Session(engine) as s:
        assert s.get(SlackUser, ("T0TEAMA01", BOB)).home_seen_at == seen_before


def aligned_world(engine):
    """Company objective ← Support's objective (Bob's key result) and ← Product's."""
    from storage import alignment
    from storage.db import session_scope
    from storage.models import Objective

    support = department(engine, "Support", heads=(ALICE,), members=(BOB,))
    product = department(engine, "Product", heads=(ALICE,), channel="C0PRODUCT1")
    company, _ = objective(engine, None, title="Loyal customers")
    s_obj, (s_kr,) = objective(engine, support, owner=BOB, title="Callbacks")
    p_obj, _ = objective(engine, product, title="Fixes")
    with session_scope(engine) as s:
        for child in (s_obj, p_obj):
            alignment.align(
                s, team_id="T0TEAMA01", actor_id="U0ADMIN01", is_admin=True,
                child=s.get(Objective, child.id), parent=s.get(Objective, company.id), weight=1,
            )  # fmt: skip
    return company, s_kr


def test_refreshes_share_a_company_tree_read_after_their_writes(app, engine):
    from slackapp.home_refresher import HomeRefresher
    from storage.checkins import record_checkin
    from storage.db import session_scope

    company, kr = aligned_world(engine)
    refresher, deps = HomeRefresher(), app.deps
    asked = time.monotonic()
    first = refresher._company_tree(deps, "T0TEAMA01", asked)
    # Another refresh asked for before that read began shares it.
    assert refresher._company_tree(deps, "T0TEAMA01", asked) is first
    with session_scope(engine) as s:
        record_checkin(s, team_id="T0TEAMA01", user_id=BOB, is_admin=False,
                       ref=f"KR-{kr.number}", value=50, confidence=8)  # fmt: skip
    # One asked for after this write reads the tree again, and sees the write.
    after = refresher._company_tree(deps, "T0TEAMA01", time.monotonic())
    assert after is not first
    assert first.progress(company.id) == 0.0
    assert after.progress(company.id) == pytest.approx(1.0 / 3)  # (0 + 1·1.0 + 1·0) / 3


@pytest.mark.parametrize("id_list_max", [500, 1])
def test_home_with_a_shared_company_tree_is_the_same_home(app, engine, monkeypatch, id_list_max):
    """Past the id-list size the company tree is the whole quarter's, and the department
    objectives use it too: the same Home either way."""
    from storage import rollup

    monkeypatch.setattr(rollup, "ID_LIST_MAX", id_list_max)
    from slackapp.home_refresher import build_home
    from storage.home import company_tree
    from storage.quarters import quarter_of

    aligned_world(engine)
    with Session(engine) as s:
        shared = company_tree(s, team_id="T0TEAMA01", quarter=quarter_of(utcnow().date()))
    assert shared.complete == (id_list_max == 1)
    for user in (BOB, ALICE):
        alone = build_home(app.deps, team_id="T0TEAMA01", user_id=user).to_dict()
        with_shared = build_home(
            app.deps, team_id="T0TEAMA01", user_id=user, shared_company_tree=shared
        ).to_dict()
        assert with_shared == alone
        assert "Company objectives" in json.dumps(alone) and "Callbacks" in json.dumps(alone)


def test_a_burst_of_refreshes_shares_one_company_tree_read_per_interval(
    app, engine, slack, monkeypatch
):
    """Refreshes asked for after the last company-tree read wait for the next one (at most
    one read per interval per workspace); every Home still shows the write before it."""
    from slackapp import home_refresher
    from storage.checkins import record_checkin
    from storage.db import session_scope
    from storage.home import note_home_seen

    company, kr = aligned_world(engine)
    reads = []
    real_company_tree = home_refresher.company_tree

    def counted(session, **kwargs):
        reads.append(time.monotonic())
        return real_company_tree(session, **kwargs)

    monkeypatch.setattr(home_refresher, "company_tree", counted)
    viewers = [f"U0VIEW{i:04d}" for i in range(4)]
    with session_scope(engine) as s:
        for user in viewers:
            note_home_seen(s, team_id="T0TEAMA01", user_id=user)
    refresher = home_refresher.HomeRefresher(delay=0.0, company_interval=1.5)
    client = app.bolt.client
    refresher.request(app.deps, client, team_id="T0TEAMA01", user_id=viewers[0])
    assert refresher.drain(timeout=10)
    assert len(reads) == 1
    for value, user in zip((35, 40, 45), viewers[1:], strict=True):
        with session_scope(engine) as s:
            record_checkin(s, team_id="T0TEAMA01", user_id=BOB, is_admin=False,
                           ref=f"KR-{kr.number}", value=value, confidence=8)  # fmt: skip
        refresher.request(app.deps, client, team_id="T0TEAMA01", user_id=user)
    assert refresher.drain(timeout=10)
    # Three refreshes after three writes: one more read, not three, an interval after the first.
    assert len(reads) == 2
    assert reads[1] - reads[0] >= 1.4
    for user in viewers[1:]:
        (call,) = publishes(slack, user)
        # Each Home shows the last write: Support's key result at 45 of 30→50 is 75%, so the
        # company objective is at (0 + 0.75 + 0) / 3 = 25%.
        assert "25%" in json.dumps(call.args["view"]), user


def test_without_company_objectives_refreshes_do_not_wait(app, engine, slack):
    """Nothing to share when the workspace has no company objectives: no waiting for the
    next company-tree read."""
    from slackapp import home_refresher
    from storage.db import session_scope
    from storage.home import note_home_seen

    dept = department(engine, heads=(ALICE,), members=(BOB,))
    objective(engine, dept, owner=BOB)
    with session_scope(engine) as s:
        for user in (ALICE, BOB):
            note_home_seen(s, team_id="T0TEAMA01", user_id=user)
    refresher = home_refresher.HomeRefresher(delay=0.0, company_interval=60.0)
    for user in (ALICE, BOB):
        refresher.request(app.deps, app.bolt.client, team_id="T0TEAMA01", user_id=user)
        assert refresher.drain(timeout=10), user
        assert len(publishes(slack, user)) == 1
