"""Domain field errors shown on a modal: domain field names mapped to the modal's block ids."""

from __future__ import annotations

# Review form blocks per objective: `score_41`, `worked_41`, `didnt_41`.
_REVIEW_BLOCKS = {"score": "score", "what_worked": "worked", "what_did_not": "didnt"}
MESSAGE_MAX = 2000  # Slack's limit on a view error message


def block_id(field: str) -> str:
    """`kr.2.baseline` -> `kr2_baseline`, `objective.41.score` -> `score_41`; plain names (the
    block ids of single inputs are the domain names) are kept."""
    parts = field.split(".")
    if len(parts) == 3 and parts[0] == "kr":
        return f"kr{parts[1]}_{parts[2]}"
    if len(parts) == 3 and parts[0] == "objective" and parts[2] in _REVIEW_BLOCKS:
        return f"{_REVIEW_BLOCKS[parts[2]]}_{parts[1]}"
    return field


def block_errors(
    errors: dict[str, str], *, present: set[str] | None = None, fallback: str | None = None
) -> dict[str, str]:
    """View errors keyed by block id. With `present` (the modal's block ids), an error whose
    block is not on the modal is shown on `fallback` instead, joined with any already there."""
    out: dict[str, str] = {}
    for field, message in errors.items():
        target = block_id(field)
        if present is not None and fallback is not None and target not in present:
            target = fallback
        out[target] = (out.get(target, "") + " " + message).strip()[:MESSAGE_MAX]
    return out
