"""Block Kit builders (slack_sdk.models), kept apart from listeners."""
