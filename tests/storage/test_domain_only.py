"""`storage/` speaks the domain only: no Slack text, no Slack or upper-layer imports.

Slack mention syntax, mrkdwn, Block Kit block ids, slash-command usage text and progress-bar
glyphs belong in `slackapp/`; this test names the file and line of any that slip back in.
"""

from __future__ import annotations

import re
from pathlib import Path

STORAGE = Path(__file__).resolve().parents[2] / "storage"
SLACK_TEXT = (
    "<@",
    "<!",
    "<#",
    "mrkdwn",
    "block_id",
    "*Usage",
    "Usage:",
    "/okr ",
    "/checkin ",
    "/behavior ",
    "/kudos ",
    "/kpi ",
    "█",
    "░",
)
UPPER_IMPORT = re.compile(r"^\s*(?:from|import)\s+(slack_sdk|slack_bolt|slackapp|jobs|loyalty)\b")


def storage_lines():
    files = sorted(p for p in STORAGE.glob("*.py"))  # migrations live in a subdirectory
    assert files, f"no modules found under {STORAGE}"
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            yield f"storage/{path.name}:{number}", line


def test_storage_has_no_slack_text():
    found = [
        f"{where}: {needle!r} in {line.strip()}"
        for where, line in storage_lines()
        for needle in SLACK_TEXT
        if needle in line
    ]
    assert not found, "Slack text in storage/ (it belongs in slackapp/):\n" + "\n".join(found)


def test_storage_imports_no_upper_layer():
    found = [
        f"{where}: {line.strip()}" for where, line in storage_lines() if UPPER_IMPORT.match(line)
    ]
    assert not found, "storage/ imports an upper layer:\n" + "\n".join(found)


def test_the_check_sees_slack_text():
    """The needles match what they are meant to catch (a guard against a check that never fires)."""
    samples = ['f"<@{user}>"', "'*Usage:* `/okr new`'", "'█' * 3", "block_id='kr0_title'"]
    for sample in samples:
        assert any(needle in sample for needle in SLACK_TEXT), sample
