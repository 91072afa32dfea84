"""`/okr`: help, new, list, show, close, dept …, setup (spec §3)."""

from __future__ import annotations

from slack_bolt import App

from slackapp.listeners import (
    alignment,
    commitments,
    departments,
    kpi,
    objective_edit,
    objectives,
    review_decisions,
    workspace_setup,
)
from slackapp.replies import UsageError, guarded, reply

USAGE = (
    "`/okr help` · `/okr new` · `/okr list [me|<department>|all]` · `/okr show O-12` · "
    "`/okr edit O-12` · `/okr close O-12 [score]` · `/okr dept create <name> [#channel] [@head…]` · "
    "`/okr dept list` · `/okr dept add @user… to <department>` · `/okr setup` · "
    "`/okr bind KR-34 nps [department|company]` · `/okr unbind KR-34` · "
    "`/okr align O-12 to O-3 [weight 2]` · `/okr unalign O-12 from O-3` · "
    "`/okr tree [O-3|2026-Q4]` · `/okr ask <department> <what…> by <YYYY-MM-DD> [for KR-34]` · "
    "`/okr commit C-7 owner @user` · `/okr done C-7 [note]` · `/okr asks [mine|<department>|all]` · "
    "`/okr decisions [2026-Q4]`"
)

HELP = """*Loyalty OKRs* — loyalty objectives every department owns.
• `/okr new` — create an objective with up to 5 key results (opens a form)
• `/okr list [me|<department>|all]` — objectives and their progress
• `/okr show O-12` — one objective with its key results and latest check-ins
• `/okr edit O-12` — change an objective and its key results (department heads)
• `/okr close O-12 [score]` — close an objective (department heads), score 0.0–1.0
• `/okr dept create <name> [#channel] [@head…]` — create a department (admins)
• `/okr dept list` — departments, heads and members
• `/okr dept add @user… to <department>` — add members (heads); `/okr dept head @user… to <department>` adds heads (admins)
• `/okr setup` — workspace settings: channels, schedules, recognition (admins)
• `/okr bind KR-34 nps [department|company|<department>]` — the key result takes that KPI's newest value after each sync (heads); `/okr unbind KR-34` undoes it
• `/okr align O-12 to O-3 [weight 2]` — O-12 contributes to O-3 (heads of O-12's department, admins); `/okr unalign O-12 from O-3` removes the link
• `/okr tree [O-3|2026-Q4]` — company objectives and everything that contributes to them, with rolled-up progress
• `/okr ask <department> <what…> by <YYYY-MM-DD> [for KR-34]` — ask another department for something; its heads accept or decline
• `/okr commit C-7 owner @user` · `/okr done C-7 [note]` · `/okr asks [mine|<department>|all]` — commitments between departments
• `/okr decisions [2026-Q4]` — decisions leadership recorded from a quarterly review (default: the latest)
• `/kpi [name]` — latest KPI values from the Google Sheet; with a name, its trend and a chart
• `/kpi target nps above 40 [department]` — a KPI guardrail: one alert when it turns unhealthy (admins; heads for their department)
• `/checkin KR-34 45 7/10 note` — record progress on a key result (`/checkin` alone opens a form)
• `/checkin away until 2026-12-24` · `/checkin back` — pause your reminders while you are away
• `/behavior link B-5 nps` · `/behavior show B-5` — a behavior against a KPI (correlation, not causation)
Open the app's *Home* tab for your key results at a glance."""


def handle_okr(ack, command, context, client, respond):
    ack()
    text = (command.get("text") or "").strip()
    sub, _, rest = text.partition(" ")
    sub = sub.lower()
    rest = rest.strip()

    def run():
        if sub in ("", "new"):
            objectives.open_new_objective_modal(context, client, command["trigger_id"])
        elif sub == "help":
            reply(respond, HELP)
        elif sub == "list":
            objectives.respond_list(context, respond, rest)
        elif sub == "show":
            objectives.respond_show(context, respond, rest)
        elif sub == "edit":
            objective_edit.open_edit_modal(context, client, command["trigger_id"], rest)
        elif sub == "close":
            objectives.close_from_text(context, client, respond, rest)
        elif sub == "dept":
            departments.handle_dept(context, client, respond, rest)
        elif sub == "setup":
            workspace_setup.open_setup_modal(context, client, command["trigger_id"])
        elif sub == "bind":
            kpi.bind_from_text(context, client, respond, rest)
        elif sub == "unbind":
            kpi.unbind_from_text(context, client, respond, rest)
        elif sub == "align":
            alignment.align_from_text(context, client, respond, rest)
        elif sub == "unalign":
            alignment.unalign_from_text(context, client, respond, rest)
        elif sub == "tree":
            alignment.respond_tree(context, respond, rest)
        elif sub == "decisions":
            review_decisions.respond_decisions(context, respond, rest)
        elif sub in commitments.SUBCOMMANDS:
            commitments.handle(sub, context, client, respond, rest)
        else:
            raise UsageError(f"`{sub}` is not an `/okr` command.", usage=USAGE)

    guarded(respond, f"/okr {text}".strip(), USAGE, run)


def register(app: App) -> None:
    app.command("/okr")(handle_okr)
