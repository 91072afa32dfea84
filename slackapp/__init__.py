"""Loyalty OKRs Slack app: Bolt app factory, listeners, Block Kit builders and CLI."""
