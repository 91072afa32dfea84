"""`/okr` and its subcommands: one table says what each is called, what runs it, how to type it,
what it does and who may run it. `/okr help`, the usage reply after a mistake and the manifest's
usage hint are all rendered from it."""

from __future__ import annotations

from slack_bolt import App

from slackapp.command_answer import CommandAnswer
from slackapp.command_parsing import BEHAVIOR_USAGE, CHECKIN_USAGE, KUDOS_USAGE
from slackapp.commands import CommandContext, CommandTable, OtherCommand, Subcommand
from slackapp.context import Deps
from slackapp.listeners import (
    alignment,
    away,
    behavior_insights,
    commitments,
    departments,
    kpi,
    objective_edit,
    objectives,
    review_decisions,
    workspace_setup,
)
from slackapp.roles import Caller

HEADS = "heads, admins"

# The other slash commands, one line each in `/okr help`, from the usage texts their own
# listeners answer mistakes with.
OTHER_COMMANDS = (
    OtherCommand(
        CHECKIN_USAGE,
        "Record progress on a key result (`/checkin` alone opens a form); a blocker stays open "
        "until a check-in without one",
    ),
    OtherCommand(away.USAGE, "Pause your reminders while you are away, and come back"),
    OtherCommand(BEHAVIOR_USAGE, "The behaviors that drive loyalty"),
    OtherCommand(behavior_insights.LINK_USAGE),
    OtherCommand(behavior_insights.SHOW_USAGE),
    OtherCommand(KUDOS_USAGE, "Recognize the people behind a customer's praise"),
    OtherCommand(kpi.USAGE, "Loyalty KPIs from the Google Sheet"),
    OtherCommand(
        "`/feedback take|assign|close|show|list|route|routes|unroute|behavior|help`",
        "Customer feedback: follow up every detractor (`/feedback help` for the details)",
    ),
)


def show_help(ctx: CommandContext, rest: str) -> None:
    OKR.reply_help(ctx, rest)


SUBCOMMANDS = (
    Subcommand("help", show_help, ("/okr help",), "this list"),
    Subcommand(
        "new",
        objectives.new_command,
        ("/okr new",),
        "create an objective with up to 5 key results (opens a form; `/okr` alone does too)",
        role=HEADS,
    ),
    Subcommand(
        "list",
        objectives.list_command,
        (
            "/okr list [me|<department>|all]",
            "/okr list at-risk|off-track|stale|blocked [<department>]",
        ),
        "objectives and their progress; with a filter, the key results that need a look",
        hint="list [me|<department>|all]",
    ),
    Subcommand(
        "show",
        objectives.respond_show,
        ("/okr show O-12",),
        "one objective with its key results and latest check-ins",
        hint="show O-12",
    ),
    Subcommand(
        "edit",
        objective_edit.open_edit_modal,
        ("/okr edit O-12",),
        "change an objective and its key results",
        role=HEADS,
        hint="edit O-12",
    ),
    Subcommand(
        "close",
        objectives.close_from_text,
        ("/okr close O-12 [score]",),
        "close an objective, score 0.0–1.0",
        role=HEADS,
        hint="close O-12 [score]",
    ),
    Subcommand(
        "dept",
        departments.handle_dept,
        (
            "/okr dept create <name> [#channel] [@head…]",
            "/okr dept list",
            "/okr dept add @user… to <department>",
            "/okr dept head @user… to <department>",
        ),
        "departments: create one and appoint heads (admins), list them, add members (heads)",
        hint="dept …",
    ),
    Subcommand(
        "setup",
        workspace_setup.open_setup_modal,
        ("/okr setup",),
        "workspace settings: channels, schedules, recognition",
        role="admins",
    ),
    Subcommand(
        "bind",
        kpi.bind_from_text,
        ("/okr bind KR-34 nps [department|company|<department>]",),
        "the key result takes that KPI's newest value after each sync",
        role=HEADS,
    ),
    Subcommand(
        "unbind",
        kpi.unbind_from_text,
        ("/okr unbind KR-34",),
        "the key result takes check-in values again",
        role=HEADS,
    ),
    Subcommand(
        "align",
        alignment.align_from_text,
        ("/okr align O-12 to O-3 [weight 2]",),
        "O-12 contributes to O-3",
        role="heads of O-12's department, admins",
    ),
    Subcommand(
        "unalign",
        alignment.unalign_from_text,
        ("/okr unalign O-12 from O-3",),
        "remove that link",
        role="heads of O-12's department, admins",
    ),
    Subcommand(
        "tree",
        alignment.tree_command,
        ("/okr tree [O-3|2026-Q4]",),
        "company objectives and everything that contributes to them, with rolled-up progress",
    ),
    Subcommand(
        "ask",
        commitments.ask_from_text,
        ("/okr ask <department> <what…> by <YYYY-MM-DD> [for KR-34]",),
        "ask another department for something; its heads accept or decline "
        "(`/okr ask` alone opens a form)",
        role="members of a department",
    ),
    Subcommand(
        "commit",
        commitments.commit_from_text,
        ("/okr commit C-7 owner @user",),
        "hand a commitment to a member of the asked department",
        role="heads of the asked department, admins",
    ),
    Subcommand(
        "done",
        commitments.done_from_text,
        ("/okr done C-7 [note]",),
        "close a commitment",
        role="its owner, heads of the asked department, admins",
    ),
    Subcommand(
        "asks",
        commitments.respond_asks,
        ("/okr asks [mine|<department>|all]",),
        "open commitments between departments, oldest due date first",
    ),
    Subcommand(
        "decisions",
        review_decisions.respond_decisions,
        ("/okr decisions [2026-Q4]",),
        "decisions leadership recorded from a quarterly review (default: the latest)",
    ),
)

OKR = CommandTable(
    "/okr",
    SUBCOMMANDS,
    default="new",
    title="*Loyalty OKRs* — loyalty objectives every department owns.",
    footer="Open the app's *Home* tab for your key results at a glance.",
    others=OTHER_COMMANDS,
)


def handle_okr(
    answer: CommandAnswer, command, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    ctx = CommandContext(
        deps=deps,
        team_id=team_id,
        user_id=user_id,
        caller=caller,
        client=client,
        respond=answer,
        command=command,
    )
    with answer:
        OKR.dispatch(ctx, command.get("text") or "")


def register(app: App) -> None:
    app.command("/okr")(handle_okr)
