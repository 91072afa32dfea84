"""Praise-sheet staff matching on hostile cells: judging each 50,000-character `staff` cell
(an address-like run of `a.a.a…` among them) and each of 1,500 praise rows mixing such cells
with ordinary ones must stay under 50 ms (a backtracking email pattern once needed about
30 s for the dotted cell)."""

from __future__ import annotations

import time
from datetime import date

BUDGET_S = 0.05


def main() -> bool:
    from jobs.sheet_values import PraiseRow
    from jobs.staff_matching import StaffMatcher, looks_like_email, match_praise
    from slackapp.settings import Settings
    from slackapp.web_client import make_web_client
    from tests.fakes.slack_api import FakeSlack

    cells = {
        "50k dotted address": "x@" + "a." * 25_000 + " ",
        "50k no dot": "x@" + "a" * 50_000,
        "50k spaces": "x@a " * 12_500,
    }
    ok = True
    for name, cell in cells.items():
        started = time.perf_counter()
        looks_like_email(cell)
        took = time.perf_counter() - started
        ok &= took < BUDGET_S
        print(f"email check, {name}: {took * 1000:.2f} ms (budget {BUDGET_S * 1000:.0f} ms)")

    slack = FakeSlack().start()
    try:
        settings = Settings(
            _env_file=None, slack_bot_token="xoxb-bench", slack_api_url=slack.api_url
        )
        slack.add_user("U0DANA0001", name="dana")
        rows = [
            PraiseRow(f"k{i}", date(2026, 11, 20), "Acme", "Thanks", staff, f"Praise!D{i + 2}")
            for i, staff in enumerate(
                ["UNASSIGNED", "@dana", "<@U0DANA0001>", *cells.values()] * 250
            )
        ]
        matcher = StaffMatcher(make_web_client(settings))
        started = time.perf_counter()
        praise, _, unmatched = match_praise(rows, matcher)
        took = time.perf_counter() - started
    finally:
        slack.stop()
    per_row = took / len(rows)
    ok &= per_row < BUDGET_S
    print(
        f"match_praise, {len(rows)} rows ({len(unmatched)} unmatched, one users.list): "
        f"{took * 1000:.0f} ms in all, {per_row * 1000:.3f} ms a row"
    )
    return ok
