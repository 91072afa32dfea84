"""Objectives: the `/okr new` modal, list, show and close."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from slack_bolt import App

from slackapp.blocks.common import as_dicts, escape, section
from slackapp.blocks.home import HomeAction
from slackapp.blocks.objective_form import (
    COMPANY_VALUE,
    ObjectiveFormAction,
    ObjectiveFormView,
    company_option,
    department_option,
    new_objective_modal,
    no_department_modal,
)
from slackapp.blocks.objectives import (
    PAGE_SIZE,
    ListAction,
    filtered_list,
    objective_detail,
    objective_list,
)
from slackapp.blocks.share import with_share_button
from slackapp.commands import CommandContext
from slackapp.context import Deps
from slackapp.form_errors import block_errors
from slackapp.home_refresher import refresh_home
from slackapp.listeners.alignment import parent_choices, save_parents
from slackapp.replies import UsageError, reply
from slackapp.roles import Caller
from storage import checkins as checkin_store
from storage.departments import department_by_id, find_department
from storage.errors import DomainError, FieldErrors
from storage.kpis import kpi_names
from storage.kr_comments import recent_comments
from storage.kr_insights import view_insights
from storage.numbers import parse_number
from storage.objectives import (
    MAX_KEY_RESULTS,
    KeyResultInput,
    close_objective,
    create_objective,
    list_objectives,
    objective_view,
    objectives_page,
)
from storage.progress import AT_RISK, OFF_TRACK
from storage.quarters import quarter_of

log = logging.getLogger(__name__)
LIST_USAGE = (
    "`/okr list me` · `/okr list all` · `/okr list <department>` · "
    "`/okr list at-risk | off-track | stale | blocked [<department>]`"
)
# `/okr list <filter> [<department>]`: key results, not objectives, that need a look.
LIST_FILTERS = {
    "at-risk": "At risk",
    "off-track": "Off track",
    "stale": "Stale",
    "blocked": "Blocked",
}


def new_command(ctx: CommandContext, rest: str) -> None:
    """`/okr new` (and `/okr` alone): the form; any text after it is ignored."""
    open_new_objective_modal(ctx.caller, ctx.client, ctx.trigger_id)


def open_new_objective_modal(caller: Caller, client, trigger_id: str) -> None:
    deps, team_id = caller.deps, caller.team_id
    today = datetime.now(UTC).date()
    with deps.session() as session:
        admin = caller.is_admin(session)
        depts = caller.managed_departments(session)
        names = kpi_names(session, team_id=team_id)
        parents, dept_names = parent_choices(session, team_id, quarter_of(today))
    if not depts and not admin:
        view = no_department_modal(
            "Only department heads and workspace admins create objectives. "
            "Ask an admin to create your department with `/okr dept create`, or a head to add you."
        )
    else:
        view = new_objective_modal(
            departments=depts,
            user_id=caller.user_id,
            kpi_names=names,
            today=today,
            company=admin,
            parents=parents,
            department_names=dept_names,
        )
    client.views_open(trigger_id=trigger_id, view=view)


def _value(values: dict, block_id: str):
    el = (
        (values.get(block_id) or {}).get("value")
        or (values.get(block_id) or {}).get(ObjectiveFormAction.DEPARTMENT_SEARCH)
        or {}
    )
    if "selected_option" in el:
        return (el["selected_option"] or {}).get("value")
    if "selected_user" in el:
        return el["selected_user"]
    if "selected_date" in el:
        return el["selected_date"]
    return el.get("value")


def parse_new_objective(values: dict) -> tuple[dict, list[KeyResultInput], dict[str, str]]:
    """Read the modal state; number fields that do not parse become field errors."""
    errors: dict[str, str] = {}
    fields = {
        "department_id": _value(values, "department"),
        "title": _value(values, "title") or "",
        "description": _value(values, "description") or "",
        "quarter": _value(values, "quarter") or "",
        "owner_id": _value(values, "owner"),
        "due_date": _value(values, "due_date"),
    }
    try:
        if fields["department_id"] == COMPANY_VALUE:  # admins only: create_objective checks
            fields["department_id"] = None
        else:
            fields["department_id"] = int(fields["department_id"])
    except (TypeError, ValueError):
        errors["department"] = "Choose a department."
    if fields["due_date"]:
        fields["due_date"] = date.fromisoformat(fields["due_date"])
    krs = []
    for i in range(MAX_KEY_RESULTS):
        nums = {}
        for part in ("baseline", "target"):
            raw = _value(values, f"kr{i}_{part}")
            nums[part] = None
            if raw not in (None, ""):
                try:
                    nums[part] = parse_number(raw)
                except DomainError as exc:
                    errors[f"kr{i}_{part}"] = exc.message
        title = _value(values, f"kr{i}_title") or ""
        if not title.strip() and nums["baseline"] is None and nums["target"] is None:
            continue
        kpi = _value(values, f"kr{i}_kpi") or ""
        kpi_name, _, kpi_scope = kpi.partition("|")
        krs.append(
            KeyResultInput(
                title=title,
                unit=_value(values, f"kr{i}_unit") or "",
                baseline=nums["baseline"],
                target=nums["target"],
                owner_id=_value(values, f"kr{i}_owner"),
                kpi_name=kpi_name or None,
                kpi_department_id=(
                    fields["department_id"]
                    if kpi_scope == "department"
                    and not errors.get("department")
                    and fields["department_id"] is not None
                    else None
                ),
            )
        )
    return fields, krs, errors


def _block_errors(errors: dict[str, str]) -> dict[str, str]:
    known = {"department", "title", "description", "quarter", "owner", "due_date", "contributes_to"}
    out = {}
    for key, msg in block_errors(errors).items():
        if key in known or key.startswith("kr") and key[2:3].isdigit():
            out[key] = msg[:2000]
        else:
            out.setdefault("kr0_title", msg[:2000])
    return out


def handle_new_objective_submission(
    ack, view, deps: Deps, caller: Caller, team_id: str, user_id: str, client
):
    fields, krs, errors = parse_new_objective(view["state"]["values"])
    if errors:
        ack(response_action="errors", errors=_block_errors(errors))
        return
    try:
        with deps.session() as session:
            obj, rows = create_objective(
                session,
                **caller.as_actor(session),
                key_results=krs,
                **fields,
            )
            save_parents(
                session,
                team_id=team_id,
                actor_id=user_id,
                child=obj,
                values=view["state"]["values"],
            )
    except FieldErrors as exc:
        ack(response_action="errors", errors=_block_errors(exc.errors))
        return
    except DomainError as exc:  # refused, or a department that is not this team's
        ack(response_action="errors", errors={"department": exc.message})
        return
    ack()
    refs = ", ".join(f"KR-{r.number}" for r in rows)
    client.chat_postMessage(
        channel=user_id,
        text=f"Created O-{obj.number} with {refs}.",
        blocks=as_dicts(
            [
                section(
                    f":dart: Created *O-{obj.number}* {escape(obj.title[:200])} with {refs}. "
                    f"See it with `/okr show O-{obj.number}`."
                )
            ]
        ),
    )
    refresh_home(deps, client, team_id=team_id, user_id=user_id)


def _resolve_scope(session, team_id: str, arg: str) -> tuple[str, str, dict]:
    """(title, scope value for paging buttons, list_objectives filter) for `/okr list <arg>`."""
    arg = arg.strip()
    key = arg.lower()
    if key in ("", "me", "mine"):
        return "Your objectives", "me", {"scope": "me"}
    if key == "all":
        return "All objectives", "all", {"scope": "all"}
    if key.startswith("dept:") and key[5:].isdigit():
        dept = department_by_id(session, team_id=team_id, department_id=int(key[5:]))
    else:
        dept = find_department(session, team_id=team_id, name=arg)
    if dept is None:
        raise UsageError(
            f"*{escape(arg)}* is neither a department nor a filter (at-risk, off-track, stale, "
            "blocked). See `/okr dept list` for the departments.",
            usage=LIST_USAGE,
        )
    return (
        f"{dept.name} objectives",
        f"dept:{dept.id}",
        {"scope": "department", "department_id": dept.id},
    )


def list_command(ctx: CommandContext, rest: str) -> None:
    respond_list(ctx.deps, ctx.respond, rest, team_id=ctx.team_id, user_id=ctx.user_id)


def respond_list(
    deps: Deps,
    respond,
    arg: str,
    *,
    team_id: str,
    user_id: str,
    page: int = 1,
    replace: bool = False,
) -> None:
    wanted, _, rest = arg.strip().partition(" ")
    if wanted.lower() in LIST_FILTERS:
        respond_filtered(
            deps, respond, wanted.lower(), rest.strip(), team_id=team_id, user_id=user_id
        )
        return
    with deps.reading() as session:
        title, scope, filters = _resolve_scope(session, team_id, arg)
        views, total, page = objectives_page(
            session, team_id=team_id, user_id=user_id, page=page, page_size=PAGE_SIZE, **filters
        )
        insights = view_insights(session, team_id=team_id, views=views, now=datetime.now(UTC))
    blocks = as_dicts(
        objective_list(
            views, total=total, title=title, page=page, scope_value=scope, insights=insights
        )
    )
    respond(text=title, blocks=blocks, response_type="ephemeral", replace_original=replace)


def respond_filtered(
    deps: Deps, respond, wanted: str, department: str, *, team_id: str, user_id: str
) -> None:
    """Active key results at risk, off track, stale or blocked, company-wide or in one
    department."""
    now = datetime.now(UTC)
    with deps.reading() as session:
        filters = {"scope": "all"}
        where = "all departments"
        if department:
            dept = find_department(session, team_id=team_id, name=department)
            if dept is None:
                raise UsageError(
                    f"There is no department named *{escape(department)}*. See `/okr dept list`.",
                    usage=LIST_USAGE,
                )
            filters = {"scope": "department", "department_id": dept.id}
            where = dept.name
        views = list_objectives(session, team_id=team_id, user_id=user_id, **filters)
        insights = view_insights(session, team_id=team_id, views=views, now=now)
        krs = [kr.id for v in views for kr in v.key_results]
        blockers = checkin_store.open_blockers(session, team_id=team_id, key_result_ids=krs)
    found = []
    for v in views:
        for kr in v.key_results:
            got = insights.get(kr.id)
            if (
                (wanted == "at-risk" and got and got.status == AT_RISK)
                or (wanted == "off-track" and got and got.status == OFF_TRACK)
                or (wanted == "stale" and got and got.stale)
                or (wanted == "blocked" and kr.id in blockers)
            ):
                found.append((v, kr))
    title = f"{LIST_FILTERS[wanted]} key results · {where}"
    blocks = as_dicts(filtered_list(found, title=title, insights=insights, blockers=blockers))
    respond(text=title, blocks=blocks, response_type="ephemeral", replace_original=False)


def show_content(deps: Deps, arg: str, *, team_id: str) -> tuple[str, list[dict]]:
    """`/okr show O-12`'s text and blocks (its reply, and what Share in channel posts)."""
    if not arg:
        raise UsageError("Say which objective, e.g. `/okr show O-12`.", usage="`/okr show O-12`")
    with deps.reading() as session:
        view = objective_view(session, team_id=team_id, ref=arg.split()[0])
        obj = view.objective
        krs = [kr.id for kr in view.key_results]
        hist = checkin_store.recent_history(session, team_id=team_id, key_result_ids=krs, limit=3)
        insights = view_insights(session, team_id=team_id, views=[view], now=datetime.now(UTC))
        comments = recent_comments(session, team_id=team_id, key_result_ids=krs)
    blocks = as_dicts(objective_detail(view, hist, insights, comments))
    return f"O-{obj.number} {escape(obj.title[:200])}", blocks


def respond_show(ctx: CommandContext, arg: str) -> None:
    text, blocks = show_content(ctx.deps, arg, team_id=ctx.team_id)
    ref = arg.split()[0].upper()
    ctx.respond(
        text=text,
        blocks=with_share_button(blocks, "show", ref),
        response_type="ephemeral",
        replace_original=False,
    )


def close_from_text(ctx: CommandContext, arg: str) -> None:
    usage = "`/okr close O-12 [score 0.0–1.0]`"
    parts = arg.split()
    if not parts or len(parts) > 2:
        raise UsageError("Say which objective to close, and optionally its score.", usage=usage)
    score = None
    if len(parts) == 2:
        try:
            score = parse_number(parts[1])
        except DomainError as exc:
            raise UsageError(exc.message, usage=usage) from None
    with ctx.deps.session() as session:
        obj = close_objective(session, **ctx.caller.as_actor(session), ref=parts[0], score=score)
    reply(
        ctx.respond,
        f":white_check_mark: Closed *O-{obj.number}* with a score of {obj.final_score:.2f}.",
    )


def handle_list_page(ack, body, deps: Deps, team_id: str, user_id: str, respond):
    ack()
    scope, _, page = body["actions"][0]["value"].rpartition("|")
    try:
        respond_list(
            deps, respond, scope, team_id=team_id, user_id=user_id, page=int(page), replace=True
        )
    except (DomainError, ValueError):
        reply(respond, "That list is out of date; run `/okr list` again.")


def handle_department_search(ack, body, deps: Deps, caller: Caller):
    query = (body.get("value") or "").casefold()
    with deps.session() as session:
        admin = caller.is_admin(session)
        depts = caller.managed_departments(session)
    options = [company_option()] if admin and query in "company-wide" else []
    options += [department_option(d) for d in depts if query in d.name_key]
    ack(options=[o.to_dict() for o in options[:100]])


def handle_new_objective_button(ack, body, caller: Caller, client):
    """The App Home's "New objective" button."""
    ack()
    open_new_objective_modal(caller, client, body["trigger_id"])


def register(app: App) -> None:
    app.action(HomeAction.NEW_OBJECTIVE)(handle_new_objective_button)
    app.view(ObjectiveFormView.NEW)(handle_new_objective_submission)
    app.action(ListAction.NEXT)(handle_list_page)
    app.action(ListAction.PREV)(handle_list_page)
    app.options(ObjectiveFormAction.DEPARTMENT_SEARCH)(handle_department_search)
