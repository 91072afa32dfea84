"""The quarterly review cycle, driven by the scheduler tick.

- `review_lead_days` before the quarter ends (team timezone): the prompt in the leadership
  channel and a DM with "Start review" to each head of a department with objectives, and to
  the admins for the company objectives (and for departments without a head).
- Every day after that, at the reminder time: a DM to each of them whose review is not in.
- When every review is in, or at quarter end + 14 days: the summary in the leadership channel,
  then each review's retro as a reply in the summary's thread.
Every message has a run key (prompt per quarter, reminder per person and day, summary part and
retro per quarter), so ticks, restarts and second schedulers never repeat one. The summary's
ts is stored as soon as it is posted, so retros that failed go into the same thread later.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from jobs import run_once
from jobs.posting import Outgoing, Poster, PostReport
from jobs.run_once import RunKey
from jobs.schedule_times import parse_hhmm
from slackapp.blocks.review import (
    head_prompt,
    leadership_prompt,
    retro_messages,
    summary_messages,
)
from storage.db import session_scope
from storage.models import ReviewStatus, Team, utcnow
from storage.quarters import parse_quarter, quarter_bounds, quarter_of
from storage.reviews import (
    SUMMARY_AFTER_DAYS,
    department_reviews,
    record_summary_post,
    review_summary,
    start_review,
    summary_post,
)
from storage.teams import admin_ids, team_or_default, team_zone

log = logging.getLogger(__name__)

PROMPT, REMINDER, SUMMARY = "review_prompt", "review_reminder", "review_summary"


def start_and_prompt(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    quarter: str,
    now: datetime | None = None,
    admins: list[str] | None = None,
    poster: Poster | None = None,
) -> PostReport:
    """Open the quarter's reviews and send the prompts (each at most once). The company
    objectives' review goes to the admins, and so does a department without a head, so that
    someone can run it."""
    quarter = parse_quarter(quarter)
    now = now or utcnow()
    with session_scope(engine) as session:
        team = team_or_default(session, team_id=team_id)
        reviews = start_review(session, team_id=team_id, quarter=quarter, now=now)
    messages: list[Outgoing] = []
    if team.leadership_channel:
        for i, m in enumerate(leadership_prompt(quarter, reviews)):
            messages.append(
                Outgoing(
                    channel=team.leadership_channel,
                    text=m.text,
                    blocks=m.blocks,
                    key=RunKey(team_id, PROMPT, f"leadership:{i}", quarter),
                    label="review prompt",
                )
            )
    if admins is None:
        with session_scope(engine) as session:
            admins = admin_ids(session, team_id=team_id)
    for d in reviews:
        m = head_prompt(quarter, d)
        for head in d.head_ids or admins:
            messages.append(
                Outgoing(
                    channel=head,
                    text=m.text,
                    blocks=m.blocks,
                    key=RunKey(team_id, PROMPT, f"{d.ref}:{head}", quarter),
                    label="review prompt to a head",
                )
            )
    return (poster or Poster(client, engine=engine)).post_all(messages)


def _remind_and_summarize(
    engine: Engine,
    client: WebClient,
    *,
    team: Team,
    quarter: str,
    now: datetime,
    tz,
    poster: Poster,
    admins: list[str],
) -> PostReport | None:
    team_id = team.team_id
    if run_once.status_of(engine, RunKey(team_id, SUMMARY, "", quarter)) == run_once.DONE:
        return None
    with session_scope(engine) as session:
        reviews = department_reviews(session, team_id=team_id, quarter=quarter)
    if not reviews:
        return None
    local = now.astimezone(tz)
    _, end = quarter_bounds(quarter)
    all_in = all(d.review.status == ReviewStatus.SUBMITTED for d in reviews)
    messages: list[Outgoing] = []
    if all_in or local.date() >= end + timedelta(days=SUMMARY_AFTER_DAYS):
        if not team.leadership_channel:
            log.info("review summary for %s %s: no leadership channel set", team_id, quarter)
            return None
        with session_scope(engine) as session:
            summary = review_summary(session, team_id=team_id, quarter=quarter, today=local.date())
            posted = summary_post(session, team_id=team_id, quarter=quarter)
        messages = _summary_and_retros(
            engine, team_id, quarter, team.leadership_channel, summary, posted
        )
        report = poster.post_all(messages)
        if not report.failed:
            run_once.mark(engine, RunKey(team_id, SUMMARY, "", quarter))
        return report
    if local.time() < parse_hhmm(team.reminder_time, "10:00"):
        return None
    day = local.date().isoformat()
    for d in reviews:
        if d.review.status == ReviewStatus.SUBMITTED:
            continue
        if d.review.started_at.astimezone(tz).date() >= local.date():
            continue  # prompted today: the first reminder is tomorrow
        m = head_prompt(quarter, d, reminder=True)
        for head in d.head_ids or admins:
            messages.append(
                Outgoing(
                    channel=head,
                    text=m.text,
                    blocks=m.blocks,
                    key=RunKey(team_id, REMINDER, f"{d.ref}:{head}", f"{quarter}:{day}"),
                    label="review reminder",
                )
            )
    return poster.post_all(messages) if messages else None


class SummaryNotPosted(RuntimeError):
    """A retro's thread does not exist yet (the summary failed): retried by the next run."""


def _summary_and_retros(
    engine: Engine,
    team_id: str,
    quarter: str,
    channel: str,
    summary,
    posted: tuple[str, str] | None,
) -> list[Outgoing]:
    """The summary's parts, then each retro as a reply in the thread of the summary's first
    part. Same channel, so the poster sends them in this order."""
    # Filled in when the summary's first part is posted, read by the retros after it.
    thread = {"channel": posted[0], "ts": posted[1]} if posted else {}
    messages: list[Outgoing] = []
    for i, m in enumerate(summary_messages(summary)):
        messages.append(
            Outgoing(
                channel=channel,
                text=m.text,
                blocks=m.blocks,
                key=RunKey(team_id, SUMMARY, f"leadership:{i}", quarter),
                send=(
                    _summary_sender(
                        engine, m, team_id=team_id, quarter=quarter, channel=channel, thread=thread
                    )
                    if i == 0
                    else None
                ),
                label="review summary",
            )
        )
    for ref, m in retro_messages(summary):
        messages.append(
            Outgoing(
                channel=channel,
                text=m.text,
                blocks=m.blocks,
                key=RunKey(team_id, SUMMARY, f"retro:{ref}", quarter),
                send=_retro_sender(m, channel=channel, thread=thread),
                label="review retro",
            )
        )
    return messages


def _summary_sender(engine: Engine, m, *, team_id: str, quarter: str, channel: str, thread: dict):
    """Posts the summary's first part and keeps its ts (in `thread` and in the database), so
    retros sent now or by a later run land in its thread."""

    def send(client):
        response = client.chat_postMessage(
            channel=channel, text=m.text, blocks=m.blocks, unfurl_links=False
        )
        thread.update(channel=response["channel"], ts=response["ts"])
        with session_scope(engine) as session:
            record_summary_post(
                session, team_id=team_id, quarter=quarter, channel=channel, ts=response["ts"]
            )
        return response

    return send


def _retro_sender(m, *, channel: str, thread: dict):
    def send(client):
        if not thread.get("ts"):
            raise SummaryNotPosted("the review summary is not posted yet")
        return client.chat_postMessage(
            channel=thread.get("channel") or channel,
            thread_ts=thread["ts"],
            text=m.text,
            blocks=m.blocks,
            unfurl_links=False,
        )

    return send


def run_review_cycle(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    now: datetime | None = None,
    default_timezone: str = "UTC",
    admins: list[str] | None = None,
    poster: Poster | None = None,
) -> None:
    """What the tick calls: prompt when due, remind daily, summarize when done."""
    now = now or utcnow()
    poster = poster or Poster(client, engine=engine)
    with session_scope(engine) as session:
        team = team_or_default(session, team_id=team_id)
    tz = team_zone(team, default_timezone)
    if admins is None:
        with session_scope(engine) as session:
            admins = admin_ids(session, team_id=team_id)
    today = now.astimezone(tz).date()
    quarter = quarter_of(today)
    _, end = quarter_bounds(quarter)
    if today >= end - timedelta(days=team.review_lead_days):
        if run_once.status_of(engine, RunKey(team_id, PROMPT, "", quarter)) != run_once.DONE:
            report = start_and_prompt(
                engine,
                client,
                team_id=team_id,
                quarter=quarter,
                now=now,
                admins=admins,
                poster=poster,
            )
            if not report.failed:
                run_once.mark(engine, RunKey(team_id, PROMPT, "", quarter))
    previous = quarter_of(quarter_bounds(quarter)[0] - timedelta(days=1))
    for q in (previous, quarter):
        _remind_and_summarize(
            engine, client, team=team, quarter=q, now=now, tz=tz, poster=poster, admins=admins
        )
