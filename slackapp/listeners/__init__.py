"""Bolt listeners, one module per feature, each with register(app)."""

from __future__ import annotations

from slack_bolt import App

from slackapp.listeners import (
    alignment,
    app_home,
    away,
    behavior,
    checkin,
    commitments,
    departments,
    digest_actions,
    feedback,
    kpi,
    kudos,
    objective_edit,
    objectives,
    okr_command,
    praise_drafts,
    praise_shortcut,
    quarterly_review,
    reaction_kudos,
    reminders,
    review_decisions,
    share,
    uninstall,
    workspace_setup,
)

# Bolt tries listeners in the order they were registered, building each one's arguments to
# ask whether it matches: the features behind the most frequent requests (the slash commands
# people type every day) come first, so their requests are matched after the fewest tries.
FEATURES = (
    okr_command,
    checkin,
    kudos,
    behavior,
    objectives,
    objective_edit,
    departments,
    workspace_setup,
    app_home,
    uninstall,
    praise_shortcut,
    reaction_kudos,
    praise_drafts,
    kpi,
    reminders,
    quarterly_review,
    review_decisions,
    away,
    alignment,
    commitments,
    digest_actions,
    share,
    feedback,
)

# The App Home's sections beyond the objectives, in this order:
# fn(session, team_id=, user_id=) -> (buttons, blocks).
# (App Home itself shows "away until …" first, and the behaviors with their Log buttons.)
HOME_SECTIONS = (kudos.home_contribution, feedback.home_contribution)


def register_listeners(app: App) -> None:
    for feature in FEATURES:
        feature.register(app)
