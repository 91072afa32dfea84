"""The `/okr new` form builds within Slack's limits whatever KPI names the database holds."""

from __future__ import annotations

from datetime import date

from slackapp.blocks.objective_form import new_objective_modal
from storage.models import Department


def _kpi_options(view: dict) -> list[dict]:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == "kr0_kpi"]
    return block["element"]["options"]


def test_kpi_names_too_long_for_an_option_are_left_out_and_the_rest_offered():
    names = ["nps", "x" * 64, "y" * 140, "z" * 400]
    view = new_objective_modal(
        departments=[Department(id=1, team_id="T1", name="Support", name_key="support")],
        user_id="U0ALICE01",
        kpi_names=names,
        today=date(2026, 11, 23),
    ).to_dict()  # slack_sdk refuses to serialize an option over Slack's limits
    options = _kpi_options(view)
    assert all(len(o["value"]) <= 150 and len(o["text"]["text"]) <= 75 for o in options)
    offered = {o["value"].partition("|")[0] for o in options if o["value"]}
    assert offered == {"nps", "x" * 64}
