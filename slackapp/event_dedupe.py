"""Process each Slack event once, however often it is delivered.

Slack redelivers an event it thinks was not acknowledged in time (HTTP: with X-Slack-Retry-Num;
Socket Mode: retry_attempt in the envelope), and a proxy or a second worker may hand over the
same delivery twice. Every delivery of an event carries the same `event_id`; the first one to
insert it into `processedevent` goes on to the listeners, every later one is acknowledged and
dropped. The insert commits before the listeners run, so two workers racing on the same
event cannot both win.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy.engine import Engine

from slackapp.middleware import RequestMiddleware
from storage.event_log import first_delivery, forget_events_before

log = logging.getLogger(__name__)
# Slack stops retrying after about an hour; a week of ids is plenty to recognise repeats.
KEEP_PROCESSED_EVENTS = timedelta(days=7)


def prune_processed_events(engine: Engine, *, now: datetime) -> int:
    return forget_events_before(engine, cutoff=now - KEEP_PROCESSED_EVENTS)


def dedupe_events(req: BoltRequest, next):  # noqa: A002 - Bolt's parameter name
    body, context = req.body, req.context
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        return next()
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return next()
    team_id = context.team_id or body.get("team_id") or ""
    if first_delivery(context["deps"].engine, event_id=event_id, team_id=team_id):
        return next()
    retry = (req.headers.get("x-slack-retry-num") or [None])[0]
    log.info("Dropping repeated delivery of %s (retry %s)", event_id, retry or "-")
    # 200 tells Slack to stop retrying; nothing runs twice.
    return BoltResponse(status=200, body="")


def install(app: App) -> None:
    """Register the global middleware (after the one that puts deps in the context)."""
    app.use(RequestMiddleware(dedupe_events))
