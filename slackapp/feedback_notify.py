"""The heads' DM for each new detractor follow-up, sent once.

Whoever stored the feedback (webhook after its response, the shortcut after ack, the sheet sync
and CSV import after their transaction) calls `announce_followups`; the scheduler's tick calls
it too for anything left unannounced (a process that died before sending).

A few follow-ups at a time, in three steps, none of which holds a transaction open while Slack
is called (a 429 may make a DM wait for seconds, and on SQLite every writer would wait behind
it):
1. claim them (a conditional UPDATE) and read what to send, committed — a concurrent caller
   then skips them, so no DM goes out twice;
2. send the DMs, outside any transaction;
3. record where they went, and give back the claims of those whose DMs reached nobody.
A crash between steps 1 and 3 costs at most that group's DMs, never a duplicate; the follow-ups
themselves stay listed and their overdue DM still goes out.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from slackapp.blocks.common import as_dicts
from slackapp.blocks.feedback import followup_dm
from storage.db import session_scope
from storage.followups import (
    Announcement,
    claim_announcements,
    heads_messages,
    needing_heads_notice,
    record_announcements,
    release_announcements,
)

log = logging.getLogger(__name__)

GROUP = 20  # follow-ups claimed at a time: what a crash mid-send could leave unannounced


def announce_followups(
    engine: Engine,
    client: WebClient,
    *,
    team_id: str,
    followup_ids: list[int] | None = None,
    configured_admins=(),
) -> int:
    """DM the deciders of each new follow-up (all unannounced ones when `followup_ids` is
    None); returns how many follow-ups were announced."""
    if followup_ids is not None:
        ids = list(followup_ids)  # just stored: each is claimed below, whoever got there first
    else:
        with session_scope(engine) as session:
            ids = [f.id for f in needing_heads_notice(session, team_id=team_id)]
    sent = 0
    for start in range(0, len(ids), GROUP):
        with session_scope(engine) as session:
            claimed = claim_announcements(
                session,
                team_id=team_id,
                followup_ids=ids[start : start + GROUP],
                configured_admins=configured_admins,
            )
        if not claimed:
            continue
        delivered = {a.followup.id: _send(client, a) for a in claimed}
        reached = {fid: msgs for fid, msgs in delivered.items() if msgs}
        with session_scope(engine) as session:
            record_announcements(session, team_id=team_id, delivered=reached)
            unheard = [fid for fid, msgs in delivered.items() if not msgs]
            if unheard:  # nobody heard of them: the next tick tries again
                release_announcements(session, team_id=team_id, followup_ids=unheard)
        sent += len(reached)
    return sent


def _send(client: WebClient, a: Announcement) -> list[list[str]]:
    """The DM to each decider; [[channel, ts], …] of those delivered."""
    fu = a.followup
    blocks = as_dicts(followup_dm(fu, a.feedback, a.department))
    text = f"New detractor F-{fu.number} ({fu.score}/10) for {a.department}"
    delivered = []
    for user in a.deciders:
        try:
            resp = client.chat_postMessage(channel=user, text=text, blocks=blocks)
            delivered.append([resp["channel"], resp["ts"]])
        except SlackApiError as exc:
            log.warning("F-%s DM to %s failed: %s", fu.number, user, exc.response.get("error"))
    return delivered


def refresh_heads_messages(
    client: WebClient, fu, fb, dept: str, what: str, skip: tuple[str, str] | None = None
) -> None:
    """Every head's copy of the DM shows what happened (who took, assigned or closed it), so
    nobody presses a button that no longer applies. Best effort: a failed update is logged."""
    from slackapp.blocks.feedback import followup_after

    blocks = as_dicts(followup_after(fu, fb, dept, what))
    for channel, ts in heads_messages(fu):
        if skip is not None and (channel, ts) == skip:
            continue
        try:
            client.chat_update(channel=channel, ts=ts, text=f"F-{fu.number}: {what}", blocks=blocks)
        except SlackApiError as exc:
            log.warning(
                "F-%s: updating the DM in %s failed: %s",
                fu.number,
                channel,
                exc.response.get("error"),
            )
