"""Lines for the decisions leadership recorded from a quarterly review: shown by
`/okr decisions` and at the top of the next quarter's first leadership digest."""

from __future__ import annotations

from collections.abc import Callable

from slackapp.blocks.common import cut, escape
from storage.models import Decision

COMPANY_LABEL = "Company-wide"


def _mention(user_id: str) -> str:
    return f"<@{user_id}>"


def decision_lines(
    decisions: list[Decision],
    names: dict[int, str],
    objective_numbers: dict[int, int],
    who: Callable[[str], str] = _mention,
) -> list[str]:
    lines = []
    for dec in decisions:
        owner = names.get(dec.department_id, "?") if dec.department_id else COMPANY_LABEL
        started = ""
        if dec.objective_id in objective_numbers:
            started = f" · started O-{objective_numbers[dec.objective_id]}"
        lines.append(
            f"• *{escape(owner)}* — {escape(cut(dec.text, 1500))}\n"
            f"   _by {who(dec.decided_by)} on {dec.created_at:%b %d, %Y}{started}_"
        )
    return lines
