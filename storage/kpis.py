"""Known KPIs: units, good directions and how each is derived from raw inputs;
KPI definitions per team."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session, select

from storage.errors import FieldErrors
from storage.models import Kpi


class DerivationError(ValueError):
    """Raw inputs that give no KPI value (a zero or negative denominator); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _percent(numerator: float, denominator: float, denominator_name: str) -> float:
    if denominator <= 0:
        raise DerivationError(f"{denominator_name} is {denominator:g}")
    return 100.0 * numerator / denominator


@dataclass(frozen=True)
class KpiDef:
    """A known KPI: how it is shown, which way is good, and how a sheet's raw columns give it."""

    name: str
    unit: str
    direction: str  # the good direction: "increase" or "decrease"
    inputs: tuple[str, ...] = ()  # raw columns it is derived from (none: not from a sheet)
    formula: Callable[[dict[str, float]], float] | None = None  # DerivationError if undefined


KPI_DEFS: dict[str, KpiDef] = {
    d.name: d
    for d in (
        KpiDef("nps", "pts", "increase", ("promoters", "passives", "detractors"),
               lambda v: _percent(v["promoters"] - v["detractors"],
                                  v["promoters"] + v["passives"] + v["detractors"],
                                  "promoters + passives + detractors")),
        KpiDef("churn_rate", "%", "decrease", ("customers_start", "customers_lost"),
               lambda v: _percent(v["customers_lost"], v["customers_start"], "customers_start")),
        KpiDef("retention_rate", "%", "increase",
               ("customers_start", "customers_end", "customers_new"),
               lambda v: _percent(v["customers_end"] - v["customers_new"], v["customers_start"],
                                  "customers_start")),
        KpiDef("clv", "$", "increase",
               ("avg_order_value", "purchase_frequency", "customer_lifespan"),
               lambda v: v["avg_order_value"] * v["purchase_frequency"] * v["customer_lifespan"]),
        KpiDef("repeat_purchase_rate", "%", "increase", ("repeat_customers", "customers_total"),
               lambda v: _percent(v["repeat_customers"], v["customers_total"], "customers_total")),
        KpiDef("csat", "%", "increase", ("satisfied_responses", "total_responses"),
               lambda v: _percent(v["satisfied_responses"], v["total_responses"],
                                  "total_responses")),
        # Customer voice, computed from follow-ups (storage/feedback_figures.py, source
        # `feedback`): the share of detractors contacted within the follow-up window, and the
        # median hours from an answer to the first contact.
        KpiDef("close_the_loop_rate", "%", "increase"),
        KpiDef("hours_to_contact", "h", "decrease"),
    )
}  # fmt: skip
# name -> (unit, good direction), for the readers that need only those.
KNOWN_KPIS: dict[str, tuple[str, str]] = {d.name: (d.unit, d.direction) for d in KPI_DEFS.values()}
RAW_INPUTS = {name for d in KPI_DEFS.values() for name in d.inputs}
# A KPI's inputs that feed no other KPI: customers_start alone does not say which one was meant.
EXCLUSIVE_INPUTS = {
    d.name: {i for i in d.inputs if sum(i in o.inputs for o in KPI_DEFS.values()) == 1}
    for d in KPI_DEFS.values()
}


def derive(kpi: str, inputs: dict[str, float]) -> float:
    """A known KPI from its raw inputs. Raises DerivationError when a denominator is zero or
    negative, KeyError for a KPI that is not derived."""
    formula = KPI_DEFS[kpi].formula
    if formula is None:
        raise KeyError(kpi)
    return formula(inputs)


def kpi_names(session: Session, *, team_id: str) -> list[str]:
    """Known KPIs first, then the team's custom ones."""
    custom = session.exec(select(Kpi.name).where(Kpi.team_id == team_id).order_by(Kpi.name)).all()
    return list(KNOWN_KPIS) + [n for n in custom if n not in KNOWN_KPIS]


def check_kpi(name: str, known: Iterable[str]) -> None:
    """FieldErrors on `kpi` naming the closest known KPIs when `name` is not one."""
    known = list(known)
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    raise FieldErrors({"kpi": f"`{name}` is not a KPI here.{hint} Known KPIs: {', '.join(known)}."})


def header_key(text: object) -> str:
    """`Churn Rate (%)` → `churn_rate`: case-, space- and punctuation-insensitive."""
    s = str(text if text is not None else "").strip().lower()
    s = re.sub(r"\(.*?\)", " ", s)
    s = re.sub(r"[^\w]+", "_", s, flags=re.UNICODE)
    return s.strip("_")
