"""The `loyalty` command: the entry point that wires storage, the Slack app and the jobs."""
