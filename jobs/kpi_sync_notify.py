"""Telling the admins about KPI sync problems: the DM text and sending it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackapp.blocks.common import cut, escape

if TYPE_CHECKING:
    from jobs.kpi_sync import SyncReport

log = logging.getLogger(__name__)

DM_PROBLEM_LINES = 15  # the admins' DM lists this many problems; the CLI prints them all
DM_BODY_MAX = 3900


def problem_dm_text(report: SyncReport) -> str:
    """A failed or problematic sync as one DM: a headline and the report as a code block."""
    body = cut(escape(report.text(max_problems=DM_PROBLEM_LINES)), DM_BODY_MAX)
    head = (
        ":warning: *The KPI sync failed*"
        if not report.ok
        else ":warning: *The KPI sync landed with problems*"
    )
    return f"{head}\n```{body}```"


def dm_admins(client: WebClient | None, admins: list[str], report: SyncReport) -> list[str]:
    if client is None or not admins:
        if report.problem_key():
            log.warning("KPI sync problem but no admin to tell: %s", report.summary())
        return []
    text = problem_dm_text(report)
    sent = []
    for user_id in admins:
        try:
            client.chat_postMessage(channel=user_id, text=text, unfurl_links=False)
            sent.append(user_id)
        except SlackApiError as exc:
            log.warning(
                "Could not DM admin %s about the KPI sync: %s", user_id, exc.response.get("error")
            )
    return sent
