"""The heads' DM for each new detractor follow-up, sent once.

Whoever stored the feedback (webhook after its response, the shortcut after ack, the sheet sync
and CSV import after their transaction) calls `announce_followups`; the scheduler's tick calls
it too for anything left unannounced (a process that died before sending). Each follow-up is
claimed by a conditional UPDATE in the same transaction that sends its DMs: a concurrent caller
skips it, and a send that reached nobody rolls the claim back for the next try.
"""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from slackapp.blocks.common import as_dicts
from slackapp.blocks.feedback import followup_dm
from storage.db import session_scope
from storage.feedback import feedback_by_id
from storage.followups import (
    claim_heads_notice,
    deciders,
    department_name,
    heads_messages,
    needing_heads_notice,
    record_heads_messages,
)
from storage.models import Followup

log = logging.getLogger(__name__)


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
    for followup_id in ids:
        with session_scope(engine) as session:
            if not claim_heads_notice(session, team_id=team_id, followup_id=followup_id):
                continue
            fu = session.get(Followup, followup_id)
            fb = (
                feedback_by_id(session, team_id=team_id, feedback_id=fu.feedback_id)
                if fu.feedback_id
                else None
            )
            people = deciders(session, row=fu, configured_admins=configured_admins)
            dept = department_name(session, fu)
            if not people:
                log.warning("F-%s: nobody to tell (no head, no admin known)", fu.number)
                session.rollback()
                continue
            blocks = as_dicts(followup_dm(fu, fb, dept))
            text = f"New detractor F-{fu.number} ({fu.score}/10) for {dept}"
            delivered = []
            for user in people:
                try:
                    resp = client.chat_postMessage(channel=user, text=text, blocks=blocks)
                    delivered.append([resp["channel"], resp["ts"]])
                except SlackApiError as exc:
                    log.warning("F-%s DM to %s failed: %s", fu.number, user,
                                exc.response.get("error"))  # fmt: skip
            if not delivered:
                session.rollback()  # nobody heard of it: the next tick tries again
                continue
            record_heads_messages(session, team_id=team_id, followup_id=fu.id, messages=delivered)
            log.debug("F-%s announced to %s", fu.number, json.dumps(delivered))
        sent += 1
    return sent


def refresh_heads_messages(client: WebClient, fu, fb, dept: str, what: str,
                           skip: tuple[str, str] | None = None) -> None:  # fmt: skip
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
            log.warning("F-%s: updating the DM in %s failed: %s", fu.number, channel,
                        exc.response.get("error"))  # fmt: skip
