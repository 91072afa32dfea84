"""`/checkin`: text form and modal; the Check in button on App Home and reminders."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk.models.blocks import InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.views import View

from slackapp.blocks.common import (
    OPTIONS_MAX,
    as_dicts,
    cut,
    escape,
    modal,
    notice_modal,
    plain,
    section,
)
from slackapp.command_parsing import CHECKIN_USAGE, checkin_value_example, parse_checkin_text
from slackapp.listeners import away
from slackapp.replies import UsageError, explain, guarded, reply
from storage.checkins import record_checkin
from storage.errors import DomainError, NotFound, PermissionDenied
from storage.models import KeyResult
from storage.numbers import format_number, parse_number
from storage.objectives import get_key_result, key_results_owned_by, kr_progress

CALLBACK_ID = "checkin_submit"


def kr_option(kr: KeyResult) -> Option:
    return Option(value=str(kr.number), text=cut(f"KR-{kr.number} {kr.title}", 75))


def checkin_modal(krs: list[KeyResult], selected: KeyResult | None = None) -> View:
    if selected is None and len(krs) == 1:
        selected = krs[0]
    options = [kr_option(k) for k in krs[:OPTIONS_MAX]]
    if selected is not None and all(o.value != str(selected.number) for o in options):
        options = [kr_option(selected), *options[: OPTIONS_MAX - 1]]
    confidence = [Option(value=str(i), text=f"{i}/10") for i in range(10, 0, -1)]
    initial_conf = None
    if selected is not None and selected.last_confidence:
        initial_conf = confidence[10 - selected.last_confidence]
    kpi_hint = (
        f"KR-{selected.number} takes its value from the KPI `{selected.kpi_name}`: leave it blank."
        if selected is not None and selected.kpi_name
        else "Numbers like 45, -3, 1,234.5 or 12%. Leave blank for a KPI-bound key result."
    )
    return modal(
        "Check in",
        callback_id=CALLBACK_ID,
        submit="Save",
        blocks=[
            InputBlock(
                block_id="kr",
                label=plain("Key result"),
                element=StaticSelectElement(
                    action_id="value",
                    options=options,
                    initial_option=kr_option(selected) if selected else None,
                ),
            ),
            InputBlock(
                block_id="value",
                label=plain("Current value"),
                optional=True,
                hint=plain(kpi_hint, 2000),
                element=PlainTextInputElement(action_id="value", max_length=40),
            ),
            InputBlock(
                block_id="confidence",
                label=plain("Confidence"),
                hint=plain("1–3 off track · 4–6 at risk · 7–10 on track", 2000),
                element=StaticSelectElement(
                    action_id="value", options=confidence, initial_option=initial_conf
                ),
            ),
            InputBlock(
                block_id="note",
                label=plain("Note"),
                optional=True,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            ),
            InputBlock(
                block_id="blocker",
                label=plain("Blocked on / need help from"),
                optional=True,
                hint=plain(
                    "Stays open in /okr show and the digest until a later check-in leaves this "
                    "blank. Heads can turn it into an ask of another department.",
                    2000,
                ),
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            ),
        ],
    )


def no_key_results_modal() -> View:
    return notice_modal(
        "Check in",
        "You don't own any active key results yet. A department head assigns them in `/okr new`.",
    )


def open_checkin_modal(
    context, client, trigger_id: str, selected_number: int | None = None
) -> None:
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
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


def confirmation(kr: KeyResult, blocker: str = "") -> str:
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


def handle_checkin_command(ack, command, context, client, respond):
    text = (command.get("text") or "").strip()
    if not text:
        ack()
        open_checkin_modal(context, client, command["trigger_id"])
        return
    if text.split()[0].lower() in away.VERBS:
        ack()
        away.handle_away_text(context, client, respond, text)
        return
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    # A check-in is stored before Slack hears it arrived: a process killed just after the ack can
    # then never lose a check-in its author saw accepted. The write takes milliseconds (the
    # caller's users.info facts are cached), well inside Slack's 3 seconds.
    acked = False

    def answer(**kwargs):
        nonlocal acked
        if not acked:
            ack()
            acked = True
        respond(**kwargs)

    def run():
        parsed = parse_checkin_text(text)
        value = parse_number(parsed.value_text) if parsed.value_text is not None else None
        with deps.session() as session:
            try:
                row, kr = record_checkin(
                    session,
                    **context["caller"].as_user(session),
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
        reply(answer, confirmation(kr, row.blocker))
        from slackapp.listeners.app_home import refresh_home

        refresh_home(deps, client, team_id=team_id, user_id=user_id)

    try:
        guarded(answer, f"/checkin {text}", CHECKIN_USAGE, run)
    finally:
        if not acked:  # an unexpected error: Slack still gets its answer in time
            ack()


def handle_checkin_submission(ack, view, context, client):
    deps, team_id, user_id = context["deps"], context["team_id"], context["user_id"]
    values = view["state"]["values"]
    number = ((values.get("kr", {}).get("value", {}).get("selected_option")) or {}).get("value")
    raw_value = (values.get("value", {}).get("value", {}).get("value") or "").strip()
    conf = ((values.get("confidence", {}).get("value", {}).get("selected_option")) or {}).get(
        "value"
    )
    note = values.get("note", {}).get("value", {}).get("value") or ""
    blocker = values.get("blocker", {}).get("value", {}).get("value") or ""
    value = None
    if raw_value:
        try:
            value = parse_number(raw_value)
        except DomainError as exc:
            ack(response_action="errors", errors={"value": exc.message})
            return
    try:
        with deps.session() as session:
            row, kr = record_checkin(
                session,
                **context["caller"].as_user(session),
                ref=f"KR-{number}",
                value=value,
                confidence=int(conf) if conf else None,
                note=note,
                blocker=blocker,
            )
    except PermissionDenied as exc:
        ack(response_action="errors", errors={"kr": explain(exc)[:2000]})
        return
    except DomainError as exc:
        field = exc.field if exc.field in ("value", "confidence", "note", "blocker") else "kr"
        ack(response_action="errors", errors={field: exc.message[:2000]})
        return
    ack()
    text = confirmation(kr, row.blocker)
    client.chat_postMessage(channel=user_id, text=text[:3000], blocks=as_dicts([section(text)]))
    from slackapp.listeners.app_home import refresh_home

    refresh_home(deps, client, team_id=team_id, user_id=user_id)


def handle_checkin_button(ack, body, context, client):
    ack()
    value = body["actions"][0].get("value") or ""
    number = int(value) if value.isdigit() else None
    open_checkin_modal(context, client, body["trigger_id"], number)


def register(app: App) -> None:
    app.command("/checkin")(handle_checkin_command)
    app.view(CALLBACK_ID)(handle_checkin_submission)
    app.action("checkin_open")(handle_checkin_button)
