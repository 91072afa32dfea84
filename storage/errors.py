"""Errors whose message is safe and useful to show the user as-is."""

from __future__ import annotations


class DomainError(Exception):
    """Bad input or a refused action; nothing was written."""

    def __init__(self, message: str, *, usage: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage = usage


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    def __init__(self, role: str, action: str):
        super().__init__(f"Only {role} can {action}.")
        self.role = role


class FieldErrors(DomainError):
    """Per-field problems in a modal submission (block_id -> message)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
