"""Delete uninstalled teams' data once the retention period (LOYALTY_DATA_RETENTION_DAYS) ends,
and customers' feedback older than LOYALTY_FEEDBACK_RETENTION_DAYS.

Runs daily from the scheduler; each team is purged in its own transaction so one failure does
not hold back the others, and a purged team simply is not found next time (idempotent).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from storage.db import session_scope
from storage.lifecycle import expired_team_ids, purge_team

log = logging.getLogger(__name__)


def purge_expired_teams(*, settings, engine: Engine, now: datetime) -> list[str]:
    """Purge every team uninstalled more than the retention period before `now`."""
    with session_scope(engine) as session:
        due = expired_team_ids(
            session, now=now, retention_days=settings.loyalty_data_retention_days
        )
    purged = []
    for team_id in due:
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
