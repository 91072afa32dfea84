"""Praise-sheet drafts → a DM to the staff member's department head(s) with Confirm / Dismiss.

The KPI sync creates `PraiseDraft` rows (status "pending" once matched to a staff member); this
job tells the heads about each one exactly once.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from slackapp.blocks.common import as_dicts
from slackapp.blocks.kudos import draft_prompt_blocks
from storage.db import session_scope
from storage.models import PraiseDraft
from storage.praise import (
    draft_deciders,
    drafts_to_notify,
    mark_draft_notified,
    record_draft_messages,
    release_draft_claim,
)

log = logging.getLogger(__name__)


def notify_pending_praise(*, engine: Engine, client, team_id: str) -> int:
    """DM the deciders of every pending, not yet notified draft; returns how many drafts were
    sent.

    Per draft, three steps, none of which holds a transaction open while Slack is called (a
    429 may make a DM wait for seconds, and on SQLite every writer would wait behind it):
    1. claim it (notified_at set by a conditional UPDATE) and read what to send, committed;
    2. send the DMs, outside any transaction;
    3. record where they went, or give the claim back when none went out.
    The claim is committed before anything is sent, so a concurrent or later run never sends
    it again; a crash between steps 1 and 3 costs at most that draft's prompt, never a
    duplicate."""
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
        delivered: list[tuple[str, str]] = []
        for head in deciders:
            try:
                resp = client.chat_postMessage(channel=head, text=text, blocks=blocks)
                delivered.append((resp["channel"], resp["ts"]))
            except SlackApiError as exc:
                log.warning("praise draft DM to %s failed: %s", head, exc.response.get("error"))
        with session_scope(engine) as session:
            if not delivered:  # nobody heard of it: the next run tries again
                release_draft_claim(session, team_id=team_id, draft_id=draft_id)
                continue
            record_draft_messages(session, team_id=team_id, draft_id=draft_id, messages=delivered)
        sent += 1
    return sent
