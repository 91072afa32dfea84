"""Block Kit text for the insights drawn from the data: forecast, mismatch, stale, net confidence,
guardrails, away, behaviors against KPIs."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import Block

from slackapp.blocks.common import SECTION_TEXT_MAX, context, cut, escape, header, section
from storage.behavior_correlation import (
    BEHAVIOR_CONSTANT,
    KPI_CONSTANT,
    MIN_WEEKS,
    NO_KPI_VALUES,
    NO_LOGS,
    NOT_ENOUGH,
    BehaviorCorrelation,
    Correlation,
)
from storage.confidence import OVERCONFIDENT, NetConfidence
from storage.forecast import Forecast
from storage.guardrails import ABOVE, Transition
from storage.kr_insights import KrInsight
from storage.models import GuardrailState, KeyResult, KpiGuardrail
from storage.numbers import format_number

CAUTION = "_Correlation, not causation._"


def forecast_text(f: Forecast, unit: str) -> str:
    return f"forecast {format_number(round(f.value, 1), unit)} by {f.on.isoformat()} → {f.progress:.0%}"


def mismatch_text(kind: str | None, confidence: int | None) -> str:
    if not kind:
        return ""
    if kind == OVERCONFIDENT:
        return f":warning: overconfident: confidence {confidence}/10 but the data says off track"
    return f":warning: underconfident: confidence {confidence}/10 but the data says on track"


def stale_text(i: KrInsight) -> str:
    return f":hourglass: stale: no check-in for {i.days_since_checkin} days" if i.stale else ""


def kr_flags(kr: KeyResult, i: KrInsight | None, *, with_forecast: bool = True) -> str:
    """One line of the key result's insights ("" when there is nothing to say)."""
    if i is None:
        return ""
    parts = []
    if with_forecast and i.forecast is not None:
        parts.append(forecast_text(i.forecast, kr.unit))
    for text in (mismatch_text(i.mismatch, kr.last_confidence), stale_text(i)):
        if text:
            parts.append(text)
    return " · ".join(parts)


def net_confidence_text(n: NetConfidence) -> str:
    if n.score is None:
        return "net confidence: no key results"
    text = f"net confidence {n.score:+d}"
    if n.change is not None:
        text += f" ({n.change:+d} since last week)"
    return text


def away_text(until: date) -> str:
    return f":palm_tree: away until {until:%a %b %d, %Y}"


# ---------------------------------------------------------------- guardrails


def guardrail_rule(g: KpiGuardrail | Transition) -> str:
    return f"stay {g.op} {format_number(g.threshold)}"


def guardrail_state_text(g: KpiGuardrail, unit: str = "") -> str:
    mark = {
        GuardrailState.HEALTHY: ":large_green_circle: healthy",
        GuardrailState.UNHEALTHY: ":red_circle: unhealthy",
    }.get(g.state, ":white_circle: no value yet")
    value = f" at {format_number(g.evaluated_value, unit)}" if g.evaluated_value is not None else ""
    return f"{mark}{value} (guardrail: {guardrail_rule(g)})"


def guardrail_message(
    t: Transition, *, where: str, unit: str, bound: list[KeyResult]
) -> tuple[str, list[Block]]:
    """The alert (turned unhealthy) or the recovery note (healthy again)."""
    value = format_number(t.value, unit)
    threshold = format_number(t.threshold, unit)
    if t.kind == "alert":
        side = "below" if t.op == ABOVE else "above"
        title = f":rotating_light: {t.kpi_name} ({where}) is unhealthy"
        body = (
            f"*{escape(t.kpi_name)}* ({escape(where)}) is {value} on {t.day:%b %d, %Y}: "
            f"{side} the guardrail of {threshold} (it should {guardrail_rule(t)})."
        )
    else:
        title = f":white_check_mark: {t.kpi_name} ({where}) is healthy again"
        body = (
            f"*{escape(t.kpi_name)}* ({escape(where)}) is back to {value} on {t.day:%b %d, %Y}, "
            f"within the guardrail of {threshold} (it should {guardrail_rule(t)})."
        )
    blocks: list[Block] = [
        header(title),
        section(body),
    ]
    if bound:
        lines = [
            f"• *KR-{kr.number}* {escape(cut(kr.title, 120))} · <@{kr.owner_id}>"
            for kr in bound[:20]
        ]
        if len(bound) > 20:
            lines.append(f"…and {len(bound) - 20} more")
        blocks.append(
            section(cut("*Key results bound to it*\n" + "\n".join(lines), SECTION_TEXT_MAX))
        )
    else:
        blocks.append(context("No key result is bound to this KPI."))
    return cut(title, 3000), blocks


# ---------------------------------------------------------------- behaviors against KPIs

_REASONS = {
    NOT_ENOUGH: "only {weeks} week(s) of paired data; at least {min} are needed",
    KPI_CONSTANT: "the KPI's weekly values are all equal, so nothing moves with them",
    BEHAVIOR_CONSTANT: "the weekly counts are all equal, so nothing moves with them",
    NO_KPI_VALUES: "the KPI has no values in the last year",
    NO_LOGS: "nothing has been logged yet",
}


def correlation_text(c: Correlation) -> str:
    if not c.claimed:
        reason = _REASONS[c.reason].format(weeks=c.weeks, min=MIN_WEEKS)
        return f"No correlation claimed: {reason}."
    strength = abs(c.rho)
    word = "strong" if strength >= 0.7 else "moderate" if strength >= 0.4 else "weak"
    sign = "moves with" if c.rho > 0 else "moves against"
    when = "the same week" if c.lag == 0 else f"{c.lag} week{'s' if c.lag != 1 else ''} later"
    return (
        f"Best lag {c.lag} week{'s' if c.lag != 1 else ''}: Spearman ρ = {c.rho:+.2f} over "
        f"{c.weeks} weeks ({word}; the KPI {sign} this behavior {when})."
    )


def behavior_correlation_line(bc: BehaviorCorrelation) -> str:
    b = bc.link.behavior
    return (
        f"• *B-{b.number}* {escape(cut(b.description, 100))} vs `{escape(bc.link.kpi_name)}`: "
        f"{correlation_text(bc.result)}"
    )
