"""`/okr align`, `/okr unalign` and `/okr tree`: objectives contributing to others, and the
quarter's tree with rolled-up progress."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from slack_bolt import App

from slackapp.blocks.alignment_tree import TreeAction, tree_lines, tree_page
from slackapp.blocks.common import as_dicts
from slackapp.blocks.objective_form import ObjectiveFormAction, ObjectiveFormBlock, parent_option
from slackapp.blocks.share import with_share_button
from slackapp.commands import CommandContext
from slackapp.context import Deps
from slackapp.replies import UsageError, reply
from storage import alignment
from storage.digest_queries import department_names
from storage.errors import DomainError, FieldErrors
from storage.numbers import format_number
from storage.objectives import get_objective
from storage.quarters import parse_quarter, quarter_of
from storage.rollup import quarter_tree

ALIGN_USAGE = "`/okr align O-12 to O-3 [weight 2]`"
UNALIGN_USAGE = "`/okr unalign O-12 from O-3`"
TREE_USAGE = "`/okr tree` · `/okr tree O-3` · `/okr tree 2026-Q4`"

_ALIGN = re.compile(r"^(\S+)\s+to\s+(\S+)(?:\s+weight\s+(\S+))?$", re.IGNORECASE)
_UNALIGN = re.compile(r"^(\S+)\s+from\s+(\S+)$", re.IGNORECASE)


def _objectives(session, team_id: str, child_ref: str, parent_ref: str, usage: str):
    try:
        return (
            get_objective(session, team_id=team_id, ref=child_ref),
            get_objective(session, team_id=team_id, ref=parent_ref),
        )
    except DomainError as exc:
        raise UsageError(exc.message, usage=usage) from None


def align_from_text(ctx: CommandContext, arg: str) -> None:
    deps, team_id = ctx.deps, ctx.team_id
    m = _ALIGN.match(arg.strip())
    if not m:
        raise UsageError(
            "Say which objective contributes to which, e.g. `/okr align O-12 to O-3`.",
            usage=ALIGN_USAGE,
        )
    weight = 1.0
    if m.group(3) is not None:
        try:
            weight = alignment.parse_weight(m.group(3))
        except DomainError as exc:
            raise UsageError(exc.message, usage=ALIGN_USAGE) from None
    with deps.session() as session:
        child, parent = _objectives(session, team_id, m.group(1), m.group(2), ALIGN_USAGE)
        try:
            _, created = alignment.align(
                session,
                **ctx.caller.as_actor(session),
                child=child,
                parent=parent,
                weight=weight,
            )
        except DomainError as exc:
            raise UsageError(
                exc.message, usage=getattr(exc, "usage", None) or ALIGN_USAGE
            ) from None
    verb = "now contributes to" if created else "contributes to"
    reply(
        ctx.respond,
        f":link: *O-{child.number}* {verb} *O-{parent.number}* with weight "
        f"{format_number(weight)}. See `/okr tree O-{parent.number}`.",
    )


def unalign_from_text(ctx: CommandContext, arg: str) -> None:
    deps, team_id = ctx.deps, ctx.team_id
    m = _UNALIGN.match(arg.strip())
    if not m:
        raise UsageError("Say which link to remove.", usage=UNALIGN_USAGE)
    with deps.session() as session:
        child, parent = _objectives(session, team_id, m.group(1), m.group(2), UNALIGN_USAGE)
        try:
            alignment.unalign(
                session,
                **ctx.caller.as_actor(session),
                child=child,
                parent=parent,
            )
        except DomainError as exc:
            raise UsageError(
                exc.message, usage=getattr(exc, "usage", None) or UNALIGN_USAGE
            ) from None
    reply(ctx.respond, f"*O-{child.number}* no longer contributes to *O-{parent.number}*.")


def tree_command(ctx: CommandContext, rest: str) -> None:
    respond_tree(ctx.deps, ctx.respond, rest, team_id=ctx.team_id)


def respond_tree(
    deps: Deps, respond, arg: str, *, team_id: str, page: int = 1, replace: bool = False
) -> None:
    """The quarter's tree (default: this quarter) or one objective's subtree, with Share."""
    title, blocks = tree_content(deps, arg, team_id=team_id, page=page)
    respond(
        text=title,
        blocks=with_share_button(blocks, "tree", f"{arg.strip()}|{page}"),
        response_type="ephemeral",
        replace_original=replace,
    )


def tree_content(deps: Deps, arg: str, *, team_id: str, page: int = 1) -> tuple[str, list[dict]]:
    """The tree reply's title and blocks (also what Share in channel posts)."""
    arg = arg.strip()
    if len(arg.split()) > 1:
        raise UsageError(f"`{arg}` is not an objective or a quarter.", usage=TREE_USAGE)
    with deps.session() as session:
        root = None
        if arg.upper().startswith("O"):
            try:
                obj = get_objective(session, team_id=team_id, ref=arg)
            except DomainError as exc:
                raise UsageError(exc.message, usage=TREE_USAGE) from None
            quarter, root = obj.quarter, obj.id
            title = f"O-{obj.number} and what contributes to it"
            scope = f"O-{obj.number}"
        else:
            try:
                quarter = parse_quarter(arg) if arg else quarter_of(datetime.now(UTC).date())
            except DomainError as exc:
                raise UsageError(exc.message, usage=TREE_USAGE) from None
            title, scope = f"Alignment · {quarter}", quarter
        tree = quarter_tree(session, team_id=team_id, quarter=quarter)
        names = department_names(session, team_id=team_id)
    lines = tree_lines(tree, root=root)
    blocks = tree_page(
        lines,
        tree,
        names,
        title=title,
        page=page,
        scope_value=scope,
        empty=f"No objectives in {quarter} yet. Create one with `/okr new`.",
    )
    return title, as_dicts(blocks)


def handle_tree_page(ack, body, deps: Deps, team_id: str, respond):
    ack()
    scope, _, page = (body["actions"][0].get("value") or "").rpartition("|")
    try:
        respond_tree(deps, respond, scope, team_id=team_id, page=int(page), replace=True)
    except (DomainError, ValueError):
        reply(respond, "That tree is out of date; run `/okr tree` again.")


# ---- "Contributes to" in the /okr new and /okr edit modals ---------------------------------------


def parent_choices(session, team_id: str, quarter: str) -> tuple[list, dict[int, str]]:
    """The quarter's active objectives (company ones first) and the department names."""
    return (
        alignment.quarter_choices(session, team_id=team_id, quarter=quarter),
        department_names(session, team_id=team_id),
    )


def selected_parent_ids(values: dict) -> list[int] | None:
    """Objective ids chosen in "Contributes to"; None when the form has no such field.
    The ids are only a claim: storage.alignment checks each is this team's and quarter's."""
    block = values.get(ObjectiveFormBlock.CONTRIBUTES_TO)
    if block is None:
        return None
    element = block.get("value") or block.get(ObjectiveFormAction.CONTRIBUTES_SEARCH) or {}
    out = []
    for opt in element.get("selected_options") or []:
        try:
            out.append(int(opt.get("value")))
        except (TypeError, ValueError):
            raise UsageError("One of the chosen objectives is not in this workspace.") from None
    return out


def save_parents(session, *, team_id: str, actor_id: str, child, values: dict) -> None:
    """Apply the modal's "Contributes to" (FieldErrors keyed contributes_to; nothing written)."""
    try:
        ids = selected_parent_ids(values)
    except DomainError as exc:
        raise FieldErrors({ObjectiveFormBlock.CONTRIBUTES_TO: exc.message}) from None
    if ids is not None:
        alignment.set_parents(
            session, team_id=team_id, actor_id=actor_id, child=child, parent_ids=ids
        )


def handle_contributes_search(ack, body, deps: Deps, team_id: str):
    """Options for "Contributes to" beyond 100 objectives: the quarter's, matching the query."""
    query = (body.get("value") or "").casefold()
    meta = ((body.get("view") or {}).get("private_metadata") or "").partition("|")[0]
    with deps.session() as session:
        quarter = quarter_of(datetime.now(UTC).date())
        if meta:
            try:
                quarter = get_objective(session, team_id=team_id, ref=meta).quarter
            except DomainError:
                pass
        choices, names = parent_choices(session, team_id, quarter)
    matches = [o for o in choices if query in f"o-{o.number} {o.title}".casefold()][:100]
    ack(options=[parent_option(o, names).to_dict() for o in matches])


def register(app: App) -> None:
    app.action(TreeAction.PREV)(handle_tree_page)
    app.action(TreeAction.NEXT)(handle_tree_page)
    app.options(ObjectiveFormAction.CONTRIBUTES_SEARCH)(handle_contributes_search)
