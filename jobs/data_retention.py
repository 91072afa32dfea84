"""Delete uninstalled teams' data once the retention period (LOYALTY_DATA_RETENTION_DAYS) ends,
and customers' feedback older than LOYALTY_FEEDBACK_RETENTION_DAYS.

Runs daily from the scheduler; each team is purged in its own transaction so one failure does
not hold back the others, and a purged team simply is not found next time (idempotent).

Before deleting, the team's own token is tried (auth.test): a workspace may have reinstalled the
app without anyone using it since. A token that works keeps the team and makes it active again;
one Slack refuses lets the purge go on; no answer from Slack postpones the team to the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from slackapp.oauth import reactivate_if_token_works, team_client
from storage.db import session_scope
from storage.lifecycle import expired_team_ids, purge_team

log = logging.getLogger(__name__)


def _installed_again(engine: Engine, client: WebClient | None, team_id: str) -> bool | None:
    """True: the team's token works (reactivated); False: no token, or Slack refuses it;
    None: Slack could not be asked."""
    if client is None:
        return False
    try:
        return reactivate_if_token_works(engine, client, team_id=team_id)
    except Exception as exc:  # noqa: BLE001 - unreachable or busy Slack proves nothing
        log.warning("Could not ask Slack whether team %s still has the app: %s", team_id, exc)
        return None


def purge_expired_teams(
    *,
    settings,
    engine: Engine,
    now: datetime,
    client_for: Callable[[str], WebClient | None] | None = None,
) -> list[str]:
    """Purge every team uninstalled more than the retention period before `now`, unless its
    token works again; any uninstalled team whose token works is made active again.
    `client_for(team_id)`: that team's Web API client (None: it has no token)."""
    if client_for is None:

        def client_for(team_id: str) -> WebClient | None:
            return team_client(settings, engine, team_id)

    with session_scope(engine) as session:
        uninstalled = expired_team_ids(session, now=now, retention_days=0)
        due = set(
            expired_team_ids(session, now=now, retention_days=settings.loyalty_data_retention_days)
        )
    purged = []
    # Every uninstalled team is re-checked, not only those due: a reinstall is noticed within a
    # day even when nobody uses the app and no process restarts.
    for team_id in uninstalled:
        try:
            client = client_for(team_id)
        except Exception:  # noqa: BLE001 - no way to check: keep the data for now
            log.exception("No Slack client to check team %s; purge postponed", team_id)
            continue
        installed = _installed_again(engine, client, team_id)
        if installed:
            log.info("Team %s has the app again; it is active and its data is kept", team_id)
        if installed is not False or team_id not in due:
            continue
        try:
            with session_scope(engine) as session:
                counts = purge_team(session, team_id=team_id)
        except Exception:  # noqa: BLE001 - the next team still gets purged; retried tomorrow
            log.exception("Purging team %s failed; will retry on the next run", team_id)
            continue
        log.info("Purged team %s (%d rows): retention period over", team_id, sum(counts.values()))
        purged.append(team_id)
    # Event ids only matter while Slack may still retry.
    from slackapp.event_dedupe import prune_processed_events

    prune_processed_events(engine, now=now)
    purge_expired_feedback(settings=settings, engine=engine, now=now)
    return purged


def purge_expired_feedback(*, settings, engine: Engine, now: datetime) -> int:
    """Customers' feedback older than LOYALTY_FEEDBACK_RETENTION_DAYS, in every workspace (the
    follow-ups' counts stay)."""
    from datetime import timedelta

    from storage.feedback import purge_old_feedback

    days = getattr(settings, "loyalty_feedback_retention_days", 730)
    with session_scope(engine) as session:
        deleted = purge_old_feedback(session, before=now - timedelta(days=days))
    if deleted:
        log.info("Deleted %d customer feedback answers older than %d days", deleted, days)
    return deleted
