"""`/okr dept create|list|add|head`: departments, their heads and members."""

from __future__ import annotations

import re

from slack_bolt import App
from slack_sdk.models.blocks import Block

from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    as_dicts,
    cut,
    escape,
    header,
    section,
)
from slackapp.blocks.common import (
    context as ctx_block,
)
from slackapp.commands import CommandContext
from slackapp.mentions import split_mentions
from slackapp.replies import UsageError, reply
from storage.departments import add_members, create_department, list_departments

USAGE = (
    "`/okr dept create <name> [#channel] [@head…]` · `/okr dept list` · "
    "`/okr dept add @user… to <department>` · `/okr dept head @user… to <department>`"
)
_TO = re.compile(r"^(?P<mentions>.*?)\s+to\s+(?P<dept>.+)$", re.IGNORECASE | re.DOTALL)


def handle_dept(ctx: CommandContext, text: str) -> None:
    deps, team_id, respond = ctx.deps, ctx.team_id, ctx.respond
    action, _, rest = text.partition(" ")
    action = action.lower()
    if action == "list":
        with deps.reading() as session:
            rows = list_departments(session, team_id=team_id)
        respond(
            text="Departments",
            blocks=as_dicts(department_list_blocks(rows)),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    if action == "create":
        m = split_mentions(rest)
        if m.groups or m.specials:
            raise UsageError("Heads must be people (`@maria`), not groups or @here.", usage=USAGE)
        if len(m.channels) > 1:
            raise UsageError("Give at most one channel for the department's digest.", usage=USAGE)
        if not m.rest:
            raise UsageError("Give the department a name.", usage=USAGE)
        with deps.session() as session:
            dept = create_department(
                session,
                **ctx.caller.as_actor(session),
                name=m.rest,
                channel_id=(m.channels or [None])[0],
                head_ids=m.users,
            )
        heads = " ".join(f"<@{u}>" for u in m.users) or "none yet — add with `/okr dept head`"
        chan = f"<#{dept.channel_id}>" if dept.channel_id else "none (heads get the digest by DM)"
        reply(
            respond,
            f":office: Created *{escape(dept.name)}*. Heads: {heads}. Digest channel: {chan}.",
        )
        return
    if action in ("add", "head"):
        parsed = _TO.match(rest.strip())
        m = split_mentions(parsed.group("mentions")) if parsed else None
        if not parsed or not m.users:
            raise UsageError("Mention the people, then `to` and the department.", usage=USAGE)
        if m.groups or m.specials or m.rest:
            raise UsageError("Only individual people can be added (`@maria @li`).", usage=USAGE)
        with deps.session() as session:
            dept, added = add_members(
                session,
                **ctx.caller.as_actor(session),
                department_name=parsed.group("dept").strip(),
                user_ids=m.users,
                as_heads=action == "head",
            )
        role = "heads" if action == "head" else "members"
        who = " ".join(f"<@{u}>" for u in added) or "nobody new (already there)"
        reply(respond, f":busts_in_silhouette: Added {who} as {role} of *{escape(dept.name)}*.")
        return
    raise UsageError(f"`dept {action}` is not a command.", usage=USAGE)


def department_list_blocks(rows) -> list[Block]:
    blocks: list[Block] = [header("Departments")]
    if not rows:
        blocks.append(
            section(
                "No departments yet. An admin creates one with "
                "`/okr dept create <name> [#channel] [@head…]`."
            )
        )
        return blocks
    lines = []
    for dept, count, heads in rows:
        head_text = ", ".join(f"<@{h}>" for h in heads) or "_no head_"
        chan = f" · <#{dept.channel_id}>" if dept.channel_id else ""
        lines.append(
            f"*{escape(cut(dept.name, 80))}* · {count} member{'s' if count != 1 else ''} · heads: {head_text}{chan}"
        )
    # Pack lines into sections of at most 3000 characters, within the message's block limit.
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        hidden = len(blocks) - (MESSAGE_BLOCKS_MAX - 1)
        blocks = blocks[: MESSAGE_BLOCKS_MAX - 1] + [
            ctx_block(f"…and {hidden} more sections not shown.")
        ]
    return blocks


def register(app: App) -> None:
    # Sub-commands are routed from /okr; nothing else to register.
    return None
