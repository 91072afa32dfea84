"""Praise-sheet drafts → a DM to the staff member's department head(s) with Confirm / Dismiss.

The KPI sync creates `PraiseDraft` rows (status "pending" once matched to a staff member); this
job tells the heads about each one exactly once.
"""

from __future__ import annotations

import json
import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from slackapp.blocks.common import as_dicts
from slackapp.blocks.kudos import draft_prompt_blocks
from storage.db import session_scope
from storage.models import PraiseDraft
from storage.praise import draft_deciders, drafts_to_notify, mark_draft_notified

log = logging.getLogger(__name__)


def notify_pending_praise(*, engine: Engine, client, team_id: str) -> int:
    """DM the deciders of every pending, not yet notified draft; returns how many drafts were
    sent. Each draft is claimed (notified_at set by a conditional UPDATE) in the same
    transaction that sends its DMs: a concurrent run skips it, and a run that fails before
    any DM went out leaves it for the next run."""
    with session_scope(engine) as session:
        draft_ids = [d.id for d in drafts_to_notify(session, team_id=team_id)]
    sent = 0
    for draft_id in draft_ids:
        with session_scope(engine) as session:
            if not mark_draft_notified(session, team_id=team_id, draft_id=draft_id):
                continue  # another run got there first
            draft = session.get(PraiseDraft, draft_id)
            deciders = draft_deciders(session, draft=draft)
            if not deciders:
                log.warning("praise draft %s: nobody can confirm it (no head or admin)", draft_id)
                session.rollback()  # leave it unclaimed until a head exists
                continue
            blocks = as_dicts(draft_prompt_blocks(draft))
            text = f"Customer praise for <@{draft.staff_user_id}> — confirm it as kudos?"
            delivered: list[list[str]] = []
            for head in deciders:
                try:
                    resp = client.chat_postMessage(channel=head, text=text, blocks=blocks)
                    delivered.append([resp["channel"], resp["ts"]])
                except SlackApiError as exc:
                    log.warning("praise draft DM to %s failed: %s", head, exc.response.get("error"))
            if not delivered:
                session.rollback()  # nobody heard of it: try again next run
                continue
            draft.notified_messages = json.dumps(delivered)
            session.add(draft)
        sent += 1
    return sent
