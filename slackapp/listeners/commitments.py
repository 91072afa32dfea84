"""Commitments between departments: `/okr ask`, `/okr commit`, `/okr done`, `/okr asks`, the heads' Accept / Decline buttons and the decline modal. The asker gets a DM at
every change."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from slackapp.blocks.commitments import (
    CommitmentAction,
    CommitmentCallback,
    CommitmentField,
    ask_dm,
    ask_modal,
    asker_notice,
    asks_list,
    decided_dm,
    decline_modal,
)
from slackapp.blocks.common import as_dicts, escape, section
from slackapp.commands import CommandContext
from slackapp.mentions import split_mentions
from slackapp.replies import UsageError, explain, reply
from slackapp.roles import Caller
from storage import commitments as store
from storage.departments import (
    department_by_id,
    departments_in,
    find_department,
    head_ids,
)
from storage.digest_queries import department_names
from storage.errors import DomainError, FieldErrors, PermissionDenied
from storage.models import Commitment, CommitmentStatus, Department, KeyResult, Team
from storage.teams import team_now

log = logging.getLogger(__name__)

ASK_USAGE = "`/okr ask <department> <what…> by <YYYY-MM-DD> [for KR-34]`"
COMMIT_USAGE = "`/okr commit C-7 owner @user`"
DONE_USAGE = "`/okr done C-7 [note]`"
ASKS_USAGE = "`/okr asks [mine|<department>|all]`"

_ASK = re.compile(r"^(?P<head>.+)\s+by\s+(?P<due>\S+)(?:\s+for\s+(?P<kr>\S+))?\s*$", re.I | re.S)
_COMMIT = re.compile(r"^(?P<ref>\S+)\s+owner\s+(?P<who>.+)$", re.I)


def _today(deps, session, team_id: str):
    """The workspace's date: a due date is a calendar day there (not in UTC)."""
    team = session.get(Team, team_id)
    return team_now(team, deps.settings.loyalty_timezone).date()


def _dm(client, user_id: str, text: str) -> None:
    """A notice to one person; a failed DM is logged, the change it reports stands."""
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=as_dicts([section(text)]))
    except SlackApiError as exc:
        log.warning("DM to %s failed: %s", user_id, exc.response.get("error"))


def _with_usage(usage: str, fn):
    try:
        return fn()
    except DomainError as exc:
        if getattr(exc, "usage", None) or isinstance(exc, FieldErrors | store.AlreadyChanged):
            raise
        raise UsageError(exc.message, usage=usage) from None


def _already(exc: store.AlreadyChanged) -> str:
    """The answer to a change someone else made first (nothing written, nobody notified)."""
    row = exc.commitment
    text = f":information_source: {exc.message}"
    if row.status == CommitmentStatus.DONE and row.done_by:
        text += f" <@{row.done_by}> closed it."
    elif row.owner_id:
        text += f" It is owned by <@{row.owner_id}>."
    return text


def ask_from_text(ctx: CommandContext, arg: str) -> None:
    """`/okr ask …`; `/okr ask` alone opens the form."""
    if not arg.strip():
        open_ask_modal(ctx.deps, ctx.client, ctx.trigger_id, team_id=ctx.team_id)
        return
    deps, team_id = ctx.deps, ctx.team_id
    m = _ASK.match(arg.strip())
    if not m:
        raise UsageError("Say which department, what you need and by when.", usage=ASK_USAGE)
    with deps.session() as session:
        today = _today(deps, session, team_id)

        def run():
            dept, what = store.split_department(session, team_id=team_id, text=m.group("head"))
            due = store.parse_due_date(m.group("due"), today=today)
            return create_ask(
                ctx.caller,
                session,
                department=dept,
                what=what,
                due_date=due,
                key_result_ref=m.group("kr"),
                today=today,
            )

        made = _with_usage(ASK_USAGE, run)
    reply(ctx.respond, announce_ask(ctx.client, made))


@dataclass
class MadeAsk:
    row: Commitment
    department: Department
    heads: list[str]
    kr_ref: str | None


def create_ask(
    caller: Caller, session, *, department, what: str, due_date, key_result_ref, today
) -> MadeAsk:
    """The commitment `/okr ask` and its form both create, by the person asking."""
    row = store.ask(
        session,
        **caller.as_actor(session),
        department=department,
        what=what,
        due_date=due_date,
        key_result_ref=key_result_ref,
        today=today,
    )
    kr_ref = f"KR-{session.get(KeyResult, row.key_result_id).number}" if row.key_result_id else None
    return MadeAsk(row, department, head_ids(session, department_id=department.id), kr_ref)


def announce_ask(client, made: MadeAsk) -> str:
    """DM the owing department's heads (Accept / Decline); returns what to tell the asker."""
    row, dept, heads = made.row, made.department, made.heads
    blocks = as_dicts(ask_dm(row, dept.name, made.kr_ref))
    for head in heads:
        try:
            client.chat_postMessage(
                channel=head, text=f"{dept.name} is asked for C-{row.number}", blocks=blocks
            )
        except SlackApiError as exc:
            log.warning("ask DM to %s failed: %s", head, exc.response.get("error"))
    who = " and ".join(f"<@{h}>" for h in heads[:5]) or "nobody yet (it has no head)"
    return (
        f":handshake: Asked *{escape(dept.name)}* for *C-{row.number}* "
        f"{escape(row.what[:300])}, due {row.due_date.isoformat()}. Sent to {who}; you'll get a "
        "DM when it changes."
    )


def open_ask_modal(
    deps, client, trigger_id: str, *, team_id: str, what: str = "", department=None, kr_ref=None
) -> None:
    """The `/okr ask` form, prefilled (a blocker from the digest, the department it names)."""
    with deps.session() as session:
        depts = departments_in(session, team_id=team_id, ids=None)
        today = _today(deps, session, team_id)
    view = ask_modal(
        depts,
        what=what,
        department=department,
        kr_ref=kr_ref,
        due=today + timedelta(days=7),
        what_max=store.WHAT_MAX,
    )
    client.views_open(trigger_id=trigger_id, view=view)


# The form's fields by the domain field names storage reports.
_ASK_FIELDS = {
    "department": CommitmentField.DEPARTMENT,
    "what": CommitmentField.WHAT,
    "due_date": CommitmentField.DUE_DATE,
    "key_result": CommitmentField.KEY_RESULT,
}


def _ask_block(exc: DomainError) -> str:
    """The form field an error is about (errors without a field name it in their words)."""
    if exc.field in _ASK_FIELDS:
        return _ASK_FIELDS[exc.field]
    text = exc.message.lower()
    if "key result" in text:
        return CommitmentField.KEY_RESULT
    if isinstance(exc, PermissionDenied) or "department" in text:
        return CommitmentField.DEPARTMENT
    return CommitmentField.WHAT


def handle_ask_submission(ack, view, deps, team_id, user_id, caller, client):
    values = view["state"]["values"]

    def field(block: str, key: str = "value"):
        element = (values.get(block) or {}).get("value") or {}
        return element.get(key)

    dept_id = (field(CommitmentField.DEPARTMENT, "selected_option") or {}).get("value")
    kr_ref = (field(CommitmentField.KEY_RESULT) or "").strip() or None
    try:
        with deps.session() as session:
            today = _today(deps, session, team_id)
            if not (dept_id or "").isdigit():
                raise DomainError("Choose a department.", field="department")
            dept = department_by_id(session, team_id=team_id, department_id=int(dept_id))
            due = store.parse_due_date(
                field(CommitmentField.DUE_DATE, "selected_date") or "", today=today
            )
            made = create_ask(
                caller,
                session,
                department=dept,
                what=field(CommitmentField.WHAT) or "",
                due_date=due,
                key_result_ref=kr_ref,
                today=today,
            )
    except DomainError as exc:
        ack(response_action="errors", errors={_ask_block(exc): explain(exc)[:2000]})
        return
    ack()
    _dm(client, user_id, announce_ask(client, made))


def commit_from_text(ctx: CommandContext, arg: str) -> None:
    deps, team_id, user_id = ctx.deps, ctx.team_id, ctx.user_id
    client, respond = ctx.client, ctx.respond
    m = _COMMIT.match(arg.strip())
    users = split_mentions(m.group("who")).users if m else []
    if not m or len(users) != 1:
        raise UsageError("Say which commitment and its new owner.", usage=COMMIT_USAGE)
    with deps.session() as session:
        try:
            row = _with_usage(
                COMMIT_USAGE,
                lambda: store.reassign(
                    session, **ctx.caller.as_actor(session), ref=m.group("ref"), owner_id=users[0]
                ),
            )
        except store.AlreadyChanged as exc:
            reply(respond, _already(exc))
            return
        dept = department_by_id(session, team_id=team_id, department_id=row.department_id)
    _dm(client, row.asker_id, asker_notice(row, dept.name, "reassigned"))
    if row.owner_id != user_id:
        owned = (
            f"You now own *C-{row.number}* {escape(row.what[:500])}, due "
            f"{row.due_date.isoformat()} (asked by <@{row.asker_id}>)."
        )
        _dm(client, row.owner_id, owned)
    reply(respond, f"*C-{row.number}* is now owned by <@{row.owner_id}>.")


def done_from_text(ctx: CommandContext, arg: str) -> None:
    deps, team_id = ctx.deps, ctx.team_id
    client, respond = ctx.client, ctx.respond
    ref, _, note = arg.strip().partition(" ")
    if not ref:
        raise UsageError("Say which commitment is done.", usage=DONE_USAGE)
    with deps.session() as session:
        try:
            row = _with_usage(
                DONE_USAGE,
                lambda: store.complete(session, **ctx.caller.as_actor(session), ref=ref, note=note),
            )
        except store.AlreadyChanged as exc:
            reply(respond, _already(exc))
            return
        dept = department_by_id(session, team_id=team_id, department_id=row.department_id)
    _dm(client, row.asker_id, asker_notice(row, dept.name, "done"))
    reply(respond, f":tada: Closed *C-{row.number}*; <@{row.asker_id}> has been told.")


def respond_asks(ctx: CommandContext, arg: str) -> None:
    deps, team_id, user_id = ctx.deps, ctx.team_id, ctx.user_id
    key = arg.strip().lower()
    with deps.session() as session:
        if key in ("", "mine", "me"):
            title, rows = (
                "Your commitments",
                store.pending(session, team_id=team_id, user_id=user_id),
            )
        elif key == "all":
            title, rows = "All open commitments", store.pending(session, team_id=team_id)
        else:
            dept = find_department(session, team_id=team_id, name=arg.strip())
            if dept is None:
                raise UsageError(f"There is no department named `{arg.strip()}`.", usage=ASKS_USAGE)
            title = f"{dept.name}: commitments"
            rows = store.pending(session, team_id=team_id, department_id=dept.id)
        names = department_names(session, team_id=team_id)
        today = _today(deps, session, team_id)
    blocks = as_dicts(asks_list(rows, names, title=title, today=today))
    ctx.respond(text=title, blocks=blocks, response_type="ephemeral", replace_original=False)


# ---- Accept / Decline --------------------------------------------------------------------------


def handle_accept(ack, body, deps, team_id, user_id, caller, client, respond):
    ack()
    ref = (body["actions"][0].get("value") or "")[:20]
    try:
        with deps.session() as session:
            decision = store.accept(session, **caller.as_actor(session), ref=ref)
            row = decision.commitment
            dept = department_by_id(session, team_id=team_id, department_id=row.department_id)
    except DomainError as exc:
        reply(respond, f":warning: {exc.message}")
        return
    if not decision.won:
        who = "You" if row.decided_by == user_id else f"<@{row.decided_by}>"
        reply(respond, f"*C-{row.number}* was already {row.status} — {who} answered first.")
        return
    respond(
        text=f"You accepted C-{row.number}.",
        blocks=as_dicts(decided_dm(row, dept.name, True)),
        replace_original=True,
    )
    _dm(client, row.asker_id, asker_notice(row, dept.name, "accepted"))


def handle_decline_button(ack, body, deps, team_id, user_id, caller, client, respond):
    ack()
    ref = (body["actions"][0].get("value") or "")[:20]
    try:
        with deps.session() as session:
            row = store.get_commitment(session, team_id=team_id, ref=ref)
            store.require_owing_head(
                session, row=row, **caller.as_user(session), action=f"decline C-{row.number}"
            )
    except DomainError as exc:
        reply(respond, f":warning: {exc.message}")
        return
    if row.status != CommitmentStatus.OPEN:
        reply(respond, f"*C-{row.number}* was already {row.status}.")
        return
    client.views_open(
        trigger_id=body["trigger_id"], view=decline_modal(f"C-{row.number}", row.what)
    )


def handle_decline_submission(ack, view, deps, team_id, caller, client):
    ref = (view.get("private_metadata") or "")[:20]
    values = view["state"]["values"]
    reason = ((values.get(CommitmentField.REASON) or {}).get("value") or {}).get("value") or ""
    try:
        with deps.session() as session:
            decision = store.decline(session, **caller.as_actor(session), ref=ref, reason=reason)
            row = decision.commitment
            dept = department_by_id(session, team_id=team_id, department_id=row.department_id)
    except FieldErrors as exc:
        message = "; ".join(exc.errors.values())
        ack(response_action="errors", errors={CommitmentField.REASON: message[:2000]})
        return
    except DomainError as exc:
        ack(response_action="errors", errors={CommitmentField.REASON: exc.message[:2000]})
        return
    if not decision.won:
        lost = f"C-{row.number} was already {row.status} by someone else."
        ack(response_action="errors", errors={CommitmentField.REASON: lost})
        return
    ack()
    _dm(client, row.asker_id, asker_notice(row, dept.name, "declined"))


def register(app: App) -> None:
    app.action(CommitmentAction.ACCEPT)(handle_accept)
    app.action(CommitmentAction.DECLINE)(handle_decline_button)
    app.view(CommitmentCallback.DECLINE)(handle_decline_submission)
    app.view(CommitmentCallback.ASK)(handle_ask_submission)
