"""`/checkin`: text form, the form for all of one's key results, the single key result modal,
and undo; the Check in buttons on App Home, reminders and digests."""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from slackapp.blocks.checkin_form import (
    FIELDS,
    CheckinAction,
    CheckinView,
    checkin_form,
    checkin_modal,
    confirmation_blocks,
    no_key_results_modal,
    page_count,
    read_checkin_modal,
)
from slackapp.blocks.common import as_dicts, cut, escape
from slackapp.blocks.undo import UndoAction
from slackapp.command_answer import CommandAnswer
from slackapp.command_parsing import CHECKIN_USAGE, checkin_value_example, parse_checkin_text
from slackapp.context import Deps
from slackapp.form_errors import block_errors
from slackapp.home_refresher import refresh_home
from slackapp.listeners import away
from slackapp.replies import UsageError, explain, guarded, reply
from slackapp.roles import Caller
from slackapp.undo import confirm_undone, undo_from_button
from storage.checkins import CheckinEntry, record_checkin, record_checkins, undo_checkin
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import KeyResult
from storage.numbers import format_number, parse_number
from storage.objectives import get_key_result, key_results_owned_by, kr_progress
from storage.rows import KeyResultRow

UNDO_USAGE = (
    "`/checkin undo` (your latest check-in) or `/checkin undo KR-34` (your latest on KR-34), "
    "within 24 hours"
)
log = logging.getLogger(__name__)


def open_checkin_modal(
    deps: Deps,
    client,
    trigger_id: str,
    *,
    team_id: str,
    user_id: str,
    selected_number: int | None = None,
) -> None:
    with deps.session() as session:
        krs = [kr for kr, _ in key_results_owned_by(session, team_id=team_id, user_id=user_id)]
        selected = next((k for k in krs if k.number == selected_number), None)
        if selected_number is not None and selected is None:
            # A head or admin may check in on a KR they do not own (e.g. from a digest).
            try:
                selected = get_key_result(session, team_id=team_id, ref=f"KR-{selected_number}")
            except NotFound:
                selected = None
    view = checkin_modal(krs, selected) if (krs or selected) else no_key_results_modal()
    client.views_open(trigger_id=trigger_id, view=view)


def owned_key_results(deps: Deps, *, team_id: str, user_id: str) -> list[KeyResult]:
    with deps.session() as session:
        return [kr for kr, _ in key_results_owned_by(session, team_id=team_id, user_id=user_id)]


def open_checkin_form(deps: Deps, client, trigger_id: str, *, team_id: str, user_id: str) -> None:
    """Every active key result the user owns, in one form (paged past Slack's block limit)."""
    krs = owned_key_results(deps, team_id=team_id, user_id=user_id)
    client.views_open(
        trigger_id=trigger_id, view=checkin_form(krs) if krs else no_key_results_modal()
    )


def confirmation(kr: KeyResult | KeyResultRow, blocker: str = "") -> str:
    share = kr_progress(kr)
    text = (
        f":white_check_mark: Checked in on *KR-{kr.number}* {escape(cut(kr.title, 150))}: "
        f"{format_number(kr.current_value, kr.unit)} of {format_number(kr.target, kr.unit)} "
        f"({share:.0%}), confidence {kr.last_confidence}/10."
    )
    if blocker:
        text += (
            f"\n:construction: Blocked on: {escape(cut(blocker, 500))} — your department's heads "
            "see it in the weekly digest; it stays open until a check-in without a blocker."
        )
    return text


def handle_checkin_command(
    answer: CommandAnswer, command, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    text = (command.get("text") or "").strip()
    first = text.split()[0].lower() if text else ""
    with answer:
        if not text:
            open_checkin_form(deps, client, command["trigger_id"], team_id=team_id, user_id=user_id)
        elif first == "undo":
            guarded(
                answer,
                f"/checkin {text}",
                UNDO_USAGE,
                lambda: undo_from_text(caller, client, answer, text),
            )
        elif first in away.VERBS:
            away.handle_away_text(deps, client, answer, text, team_id=team_id, user_id=user_id)
        else:
            # The check-in is stored before Slack hears it arrived: a process killed just after
            # the acknowledgement can then never lose a check-in its author saw accepted.
            guarded(
                answer,
                f"/checkin {text}",
                CHECKIN_USAGE,
                lambda: _record_text_checkin(answer, text, caller=caller, client=client),
            )


def _record_text_checkin(answer, text: str, *, caller: Caller, client) -> None:
    parsed = parse_checkin_text(text)
    value = parse_number(parsed.value_text) if parsed.value_text is not None else None
    deps, team_id = caller.deps, caller.team_id
    with deps.session() as session:
        try:
            row, kr = record_checkin(
                session,
                **caller.as_user(session),
                ref=parsed.ref,
                value=value,
                confidence=parsed.confidence,
                note=parsed.note,
                blocker=parsed.blocker,
            )
        except DomainError as exc:
            if exc.field != "value":
                raise
            kr = get_key_result(session, team_id=team_id, ref=parsed.ref)
            example = checkin_value_example(kr.number, kpi_bound=bool(kr.kpi_name))
            raise UsageError(f"{exc.message[:-1]}, {example}.", field="value") from None
    message = confirmation(kr, row.blocker)
    reply(answer, message, as_dicts(confirmation_blocks([(message, row.id)])))
    refresh_home(deps, client, team_id=team_id, user_id=caller.user_id)


def handle_checkin_submission(
    ack, view, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    submitted = read_checkin_modal(view["state"]["values"])
    value = None
    if submitted["value"]:
        try:
            value = parse_number(submitted["value"])
        except DomainError as exc:
            ack(response_action="errors", errors={"value": exc.message})
            return
    conf = submitted["confidence"]
    try:
        with deps.session() as session:
            row, kr = record_checkin(
                session,
                **caller.as_user(session),
                ref=f"KR-{submitted['kr']}",
                value=value,
                confidence=int(conf) if conf else None,
                note=submitted["note"],
                blocker=submitted["blocker"],
            )
    except PermissionDenied as exc:
        ack(response_action="errors", errors={"kr": explain(exc)[:2000]})
        return
    except DomainError as exc:
        field = exc.field if exc.field in FIELDS else "kr"
        ack(response_action="errors", errors={field: exc.message[:2000]})
        return
    ack()
    text = confirmation(kr, row.blocker)
    client.chat_postMessage(
        channel=user_id, text=text[:3000], blocks=as_dicts(confirmation_blocks([(text, row.id)]))
    )
    refresh_home(deps, client, team_id=team_id, user_id=user_id)


def form_entries(values: dict) -> list[CheckinEntry]:
    """The rows of the submitted form, by key result number (read from the block ids)."""
    rows: dict[int, dict[str, str]] = {}
    for block_id, inputs in values.items():
        head, _, field = block_id.partition("_")
        if not (head.startswith("kr") and head[2:].isdigit() and field in FIELDS):
            continue
        element = (inputs or {}).get("value") or {}
        if field == "confidence":
            raw = ((element.get("selected_option") or {}).get("value")) or ""
        else:
            raw = element.get("value") or ""
        rows.setdefault(int(head[2:]), {})[field] = raw
    return [
        CheckinEntry(
            number=number,
            value_text=row.get("value", ""),
            confidence=int(row["confidence"]) if row.get("confidence", "").isdigit() else None,
            note=row.get("note", ""),
            blocker=row.get("blocker", ""),
        )
        for number, row in sorted(rows.items())
    ]


def _form_page(view) -> int:
    try:
        page = json.loads(view.get("private_metadata") or "{}").get("page", 0)
    except (ValueError, AttributeError):
        page = 0
    return page if isinstance(page, int) and page >= 0 else 0


def handle_form_submission(
    ack, view, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    """Save the page's filled rows in one transaction — or, on any bad row, nothing, with the
    error on that row — then show the next page, or close."""
    entries = form_entries(view["state"]["values"])
    filled = [e for e in entries if not e.empty]
    page = _form_page(view)
    krs = owned_key_results(deps, team_id=team_id, user_id=user_id)
    pages = page_count(len(krs))
    if not filled and page + 1 >= pages:
        if page == 0 and entries:
            first = entries[0].number
            present = view["state"]["values"]
            target = (
                f"kr{first}_value" if f"kr{first}_value" in present else f"kr{first}_confidence"
            )
            ack(
                response_action="errors",
                errors={target: "Nothing to save yet: fill in a row (or press Cancel)."},
            )
        else:
            ack()
        return
    saved: list[tuple] = []
    if filled:
        try:
            with deps.session() as session:
                saved = record_checkins(session, **caller.as_user(session), entries=filled)
        except FieldErrors as exc:
            ack(response_action="errors", errors=block_errors(exc.errors))
            return
    if page + 1 < pages:
        note = (
            f":white_check_mark: Saved {len(saved)} check-in{'s' * (len(saved) != 1)}."
            if saved
            else ""
        )
        ack(response_action="update", view=checkin_form(krs, page + 1, saved_note=note))
    else:
        ack()
    if saved:
        lines = [(confirmation(kr, row.blocker), row.id) for row, kr in saved]
        summary = "\n".join(text for text, _ in lines)
        client.chat_postMessage(
            channel=user_id, text=summary[:3000], blocks=as_dicts(confirmation_blocks(lines))
        )
        refresh_home(deps, client, team_id=team_id, user_id=user_id)


def handle_checkin_button(ack, body, deps: Deps, team_id: str, user_id: str, client):
    """Without a key result (App Home's and the reminder's main button): the form for all of
    them; with one (a row's button, a digest's): the modal for that one."""
    ack()
    value = body["actions"][0].get("value") or ""
    if not value:
        open_checkin_form(deps, client, body["trigger_id"], team_id=team_id, user_id=user_id)
        return
    open_checkin_modal(
        deps,
        client,
        body["trigger_id"],
        team_id=team_id,
        user_id=user_id,
        selected_number=int(value) if value.isdigit() else None,
    )


# --- undo ---------------------------------------------------------------------------------


def undone_text(kr: KeyResult) -> str:
    now = (
        f"KR-{kr.number} is back to {format_number(kr.current_value, kr.unit)} of "
        f"{format_number(kr.target, kr.unit)}"
    )
    now += f", confidence {kr.last_confidence}/10." if kr.last_confidence else ", with no check-in."
    return f":leftwards_arrow_with_hook: Undone: your check-in on *KR-{kr.number}* " + (
        f"{escape(cut(kr.title, 150))}. {now}"
    )


def undo_from_text(caller: Caller, client, respond, text: str) -> None:
    words = text.split()[1:]
    if len(words) > 1:
        raise UsageError("Undo takes at most one key result, e.g. `KR-34`.", usage=UNDO_USAGE)
    with caller.deps.session() as session:
        _, kr = undo_checkin(
            session,
            team_id=caller.team_id,
            user_id=caller.user_id,
            ref=words[0] if words else None,
        )
    confirm_undone(caller, client, respond, undone_text(kr))


def handle_undo_button(ack, body, caller: Caller, client, respond):
    ack()
    undone = undo_from_button(body, caller, respond, undo=undo_checkin, id_keyword="checkin_id")
    if undone is not None:
        _, kr = undone
        confirm_undone(caller, client, respond, undone_text(kr))


def register(app: App) -> None:
    app.command("/checkin")(handle_checkin_command)
    app.view(CheckinView.ONE)(handle_checkin_submission)
    app.view(CheckinView.ALL)(handle_form_submission)
    app.action(CheckinAction.OPEN)(handle_checkin_button)
    app.action(UndoAction.CHECKIN)(handle_undo_button)
