"""Fixtures shared by the OAuth-mode tests of the Slack app."""

from __future__ import annotations

import pytest

from tests.support.oauth_helpers import served_oauth_app


@pytest.fixture
def oauth_served(db_url, engine, slack):
    with served_oauth_app(db_url, engine, slack) as served:
        yield served


@pytest.fixture
def oauth_app(oauth_served):
    """The Bolt app in OAuth mode (no bot token: tokens come from installs)."""
    return oauth_served[0]


@pytest.fixture
def oauth_url(oauth_served):
    """Base URL of the real HTTP server in front of `oauth_app`."""
    return oauth_served[1]
