"""One modal scaffold: forms submit and cancel, notices close, Slack's limits hold."""

from __future__ import annotations

import pytest

from slackapp.blocks.common import PRIVATE_METADATA_MAX, modal, section
from tests.conftest import ADMIN, BOB


def test_form_and_notice_buttons(driver, slack):
    driver.command("/okr", "setup", user=BOB)  # not an admin: a notice
    notice = slack.wait_for("views.open")[0]["view"]
    assert notice["type"] == "modal" and notice["title"]["text"] == "Loyalty OKRs setup"
    assert notice["close"]["text"] == "Close" and "submit" not in notice
    slack.reset()
    driver.command("/okr", "setup", user=ADMIN)  # the form
    form = slack.wait_for("views.open")[0]["view"]
    assert form["callback_id"] == "okr_setup"
    assert (form["submit"]["text"], form["close"]["text"]) == ("Save", "Cancel")


def test_title_is_cut_to_slack_s_24_characters():
    view = modal("Review of the department Customer Success", [section("x")]).to_dict()
    assert len(view["title"]["text"]) == 24 and view["title"]["text"].endswith("…")


def test_private_metadata_over_3000_characters_is_refused_not_cut():
    fits = modal("Kudos", [section("x")], submit="Go", private_metadata="m" * PRIVATE_METADATA_MAX)
    assert len(fits.to_dict()["private_metadata"]) == PRIVATE_METADATA_MAX
    with pytest.raises(ValueError, match="3000"):
        modal("Kudos", [section("x")], submit="Go", private_metadata="m" * 3001)
