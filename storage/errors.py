"""Errors whose message is safe and useful to show the user as-is.

They speak the domain only: a field is named by its domain name (`title`, `target`,
`kr.2.baseline`), never by a Slack block id, and no message carries command usage text — the
Slack layer knows which command or form it is answering and adds that.
"""

from __future__ import annotations


class DomainError(Exception):
    """Bad input or a refused action; nothing was written.

    `field` names the input at fault when there is one (a domain field name such as `value`).
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    """`owner_id`: the user who owns the thing, when asking them is the way forward."""

    def __init__(self, role: str, action: str, *, owner_id: str | None = None):
        super().__init__(f"Only {role} can {action}.")
        self.role = role
        self.owner_id = owner_id


class FieldErrors(DomainError):
    """Per-field problems in a form (domain field name -> message).

    Names are plain (`title`, `due_date`) or dotted for items of a list: `kr.2.baseline` is the
    baseline of the third key result, `objective.41.score` the review score of objective id 41.
    """

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def item_field(kind: str, index: int, name: str) -> str:
    """`item_field("kr", 2, "baseline")` -> `kr.2.baseline`."""
    return f"{kind}.{index}.{name}"
