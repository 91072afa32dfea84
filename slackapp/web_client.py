"""The Slack Web API client every part of the app uses (listeners, jobs, CLI)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from slackapp.settings import Settings


def make_web_client(settings: Settings, token: str | None = None) -> WebClient:
    """Web API client honouring SLACK_API_URL, Retry-After on 429, and transient 5xx."""
    client = WebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url)
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client
