"""Commitments between departments (spec §8)."""

from __future__ import annotations

from slack_bolt import App

SUBCOMMANDS: tuple[str, ...] = ()


def handle(sub, context, client, respond, rest) -> None:
    raise NotImplementedError(sub)


def register(app: App) -> None:
    pass
