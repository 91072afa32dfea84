"""Removing stored Slack tokens when a workspace uninstalls the app or people revoke theirs.

The rows belong to slack-sdk's installation store (storage/oauth_tables.py); it reads and saves
them itself, these are the deletions it has no method for."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage.oauth_tables import slack_bots, slack_installations


def delete_team_tokens(engine: Engine, *, team_id: str) -> None:
    """Every installation and bot row of the workspace, in one transaction."""
    # By team_id alone: whatever enterprise_id an install had, the team's tokens go.
    with engine.begin() as conn:
        for table in (slack_installations, slack_bots):
            conn.execute(table.delete().where(table.c.team_id == team_id))


def delete_user_tokens(engine: Engine, *, team_id: str, user_ids: list[str]) -> None:
    """Blank the user tokens of these people; the installation rows (and bot token) stay."""
    t = slack_installations
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.team_id == team_id, t.c.user_id.in_(user_ids))
            .values(user_token=None, user_refresh_token=None)
        )
