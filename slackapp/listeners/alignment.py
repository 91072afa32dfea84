"""`/okr align`, `/okr unalign` and `/okr tree` (spec §8)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from slack_bolt import App
from sqlmodel import select

from slackapp.blocks.alignment_tree import TREE_NEXT, TREE_PREV, tree_lines, tree_page
from slackapp.blocks.common import as_dicts
from slackapp.context import is_admin
from slackapp.replies import reply
from storage import alignment
from storage.errors import DomainError
from storage.models import Department
from storage.numbers import format_number
from storage.objectives import get_objective
from storage.quarters import parse_quarter, quarter_of
from storage.rollup import quarter_tree

ALIGN_USAGE = "`/okr align O-12 to O-3 [weight 2]`"
UNALIGN_USAGE = "`/okr unalign O-12 from O-3`"
TREE_USAGE = "`/okr tree` · `/okr tree O-3` · `/okr tree 2026-Q4`"

_ALIGN = re.compile(r"^(\S+)\s+to\s+(\S+)(?:\s+weight\s+(\S+))?$", re.IGNORECASE)
_UNALIGN = re.compile(r"^(\S+)\s+from\s+(\S+)$", re.IGNORECASE)


def _ids(context):
    return context["deps"], context["team_id"], context["user_id"]


def _objectives(session, team_id: str, child_ref: str, parent_ref: str, usage: str):
    try:
        return (
            get_objective(session, team_id=team_id, ref=child_ref),
            get_objective(session, team_id=team_id, ref=parent_ref),
        )
    except DomainError as exc:
        raise DomainError(exc.message, usage=usage) from None


def align_from_text(context, client, respond, arg: str) -> None:
    deps, team_id, user_id = _ids(context)
    m = _ALIGN.match(arg.strip())
    if not m:
        raise DomainError(
            "Say which objective contributes to which, e.g. `/okr align O-12 to O-3`.",
            usage=ALIGN_USAGE,
        )
    weight = 1.0
    if m.group(3) is not None:
        try:
            weight = alignment.parse_weight(m.group(3))
        except DomainError as exc:
            raise DomainError(exc.message, usage=ALIGN_USAGE) from None
    with deps.session() as session:
        admin = is_admin(deps, session, client, team_id=team_id, user_id=user_id)
        child, parent = _objectives(session, team_id, m.group(1), m.group(2), ALIGN_USAGE)
        try:
            _, created = alignment.align(
                session,
                team_id=team_id,
                actor_id=user_id,
                is_admin=admin,
                child=child,
                parent=parent,
                weight=weight,
            )
        except DomainError as exc:
            raise DomainError(exc.message, usage=exc.usage or ALIGN_USAGE) from None
    verb = "now contributes to" if created else "contributes to"
    reply(
        respond,
        f":link: *O-{child.number}* {verb} *O-{parent.number}* with weight "
        f"{format_number(weight)}. See `/okr tree O-{parent.number}`.",
    )


def unalign_from_text(context, client, respond, arg: str) -> None:
    deps, team_id, user_id = _ids(context)
    m = _UNALIGN.match(arg.strip())
    if not m:
        raise DomainError("Say which link to remove.", usage=UNALIGN_USAGE)
    with deps.session() as session:
        admin = is_admin(deps, session, client, team_id=team_id, user_id=user_id)
        child, parent = _objectives(session, team_id, m.group(1), m.group(2), UNALIGN_USAGE)
        try:
            alignment.unalign(
                session,
                team_id=team_id,
                actor_id=user_id,
                is_admin=admin,
                child=child,
                parent=parent,
            )
        except DomainError as exc:
            raise DomainError(exc.message, usage=exc.usage or UNALIGN_USAGE) from None
    reply(respond, f"*O-{child.number}* no longer contributes to *O-{parent.number}*.")


def respond_tree(context, respond, arg: str, page: int = 1, replace: bool = False) -> None:
    """The quarter's tree (default: this quarter) or one objective's subtree."""
    deps, team_id, _ = _ids(context)
    arg = arg.strip()
    if len(arg.split()) > 1:
        raise DomainError(f"`{arg}` is not an objective or a quarter.", usage=TREE_USAGE)
    with deps.session() as session:
        root = None
        if arg.upper().startswith("O"):
            try:
                obj = get_objective(session, team_id=team_id, ref=arg)
            except DomainError as exc:
                raise DomainError(exc.message, usage=TREE_USAGE) from None
            quarter, root = obj.quarter, obj.id
            title = f"O-{obj.number} and what contributes to it"
            scope = f"O-{obj.number}"
        else:
            try:
                quarter = parse_quarter(arg) if arg else quarter_of(datetime.now(UTC).date())
            except DomainError as exc:
                raise DomainError(exc.message, usage=TREE_USAGE) from None
            title, scope = f"Alignment · {quarter}", quarter
        tree = quarter_tree(session, team_id=team_id, quarter=quarter)
        names = dict(
            session.exec(
                select(Department.id, Department.name).where(Department.team_id == team_id)
            ).all()
        )
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
    respond(
        text=title, blocks=as_dicts(blocks), response_type="ephemeral", replace_original=replace
    )


def handle_tree_page(ack, body, context, respond):
    ack()
    scope, _, page = (body["actions"][0].get("value") or "").rpartition("|")
    try:
        respond_tree(context, respond, scope, page=int(page), replace=True)
    except (DomainError, ValueError):
        reply(respond, "That tree is out of date; run `/okr tree` again.")


def register(app: App) -> None:
    app.action(TREE_PREV)(handle_tree_page)
    app.action(TREE_NEXT)(handle_tree_page)
