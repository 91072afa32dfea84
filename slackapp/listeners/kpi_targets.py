"""`/kpi target <kpi> above|below <n> [<department>]` and `/kpi target <kpi> off [...]`: KPI
guardrails. Admins set company-wide ones, heads their department's."""

from __future__ import annotations

from slackapp.blocks.common import escape
from slackapp.blocks.insights import guardrail_state_text
from slackapp.context import Deps
from slackapp.replies import UsageError, reply
from slackapp.roles import Caller
from storage.departments import find_department
from storage.errors import DomainError
from storage.guardrails import ABOVE, BELOW, remove_guardrail, set_guardrail
from storage.kpi_values import kpi_unit
from storage.kpis import header_key, kpi_names
from storage.numbers import parse_number

USAGE = (
    "`/kpi target nps above 40` · `/kpi target churn_rate below 5 Support` · "
    "`/kpi target nps off [department]`"
)
OFF = "off"


def split_kpi_name(words: list[str], known: list[str]) -> tuple[str, list[str]]:
    """KPI name (may be several words, e.g. `churn rate`) and the words after it."""
    for n in range(len(words), 0, -1):
        if header_key(" ".join(words[:n])) in known:
            return header_key(" ".join(words[:n])), words[n:]
    for i, w in enumerate(words):  # an unknown name: up to the first direction word
        if w.lower() in (ABOVE, BELOW, OFF):
            return header_key(" ".join(words[:i])), words[i:]
    return header_key(words[0]), words[1:]


def target_from_text(deps: Deps, caller: Caller, respond, rest: str, *, team_id: str) -> None:
    words = rest.split()
    if not words:
        raise UsageError("Say which KPI and its guardrail.", usage=USAGE)
    with deps.session() as s:
        known = kpi_names(s, team_id=team_id)
        name, after = split_kpi_name(words, known)
        op, threshold, dept_words = _parse_guardrail(name, after)
        department = None
        if dept_words:
            dept_name = " ".join(dept_words)
            department = find_department(s, team_id=team_id, name=dept_name)
            if department is None:
                raise UsageError(
                    f"There is no department named *{escape(dept_name)}*. See `/okr dept list`.",
                    usage=USAGE,
                )
        common = dict(
            **caller.as_actor(s),
            kpi_name=name,
            department=department,
            known_kpis=known,
        )
        where = escape(department.name) if department else "company-wide"
        if op == OFF:
            remove_guardrail(s, **common)
            text = f"Guardrail removed: `{name}` ({where}) is no longer watched."
        else:
            g = set_guardrail(s, op=op, threshold=threshold, **common)
            unit = (kpi_unit(s, team_id=team_id, kpi_name=name) or ("", ""))[0]
            text = (
                f":shield: Guardrail set: `{name}` ({where}) should stay {op} "
                f"{after[1]}. Now {guardrail_state_text(g, unit)}. After each sync, a change "
                "to unhealthy posts one alert "
                + ("in the department's channel" if department else "in the leadership channel")
                + ", and one note when it recovers."
            )
    reply(respond, text)


def _parse_guardrail(name: str, after: list[str]) -> tuple[str, float | None, list[str]]:
    """The direction (above, below or off), the threshold and the department's words from what
    follows the KPI's name."""
    if not name:
        raise UsageError("Say which KPI first.", usage=USAGE)
    if not after:
        raise UsageError(
            f"Say `above <number>`, `below <number>` or `off` after `{escape(name)}`.",
            usage=USAGE,
        )
    op = after[0].lower()
    if op not in (ABOVE, BELOW, OFF):
        raise UsageError(
            f"`{escape(after[0])}` is not a direction: use `above`, `below` or `off`.",
            usage=USAGE,
        )
    if op == OFF:
        return op, None, after[1:]
    if len(after) < 2:
        raise UsageError(f"Say the threshold after `{op}`, e.g. `{op} 40`.", usage=USAGE)
    try:
        threshold = parse_number(after[1])
    except DomainError as exc:
        raise UsageError(exc.message, usage=USAGE, field="threshold") from None
    return op, threshold, after[2:]
