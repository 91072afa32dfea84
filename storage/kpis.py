"""Known KPIs (spec §2): units, good directions and how each is derived from raw inputs;
KPI definitions per team."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from sqlmodel import Session, select

from storage.errors import FieldErrors
from storage.models import Kpi

# name -> (unit, good direction)
KNOWN_KPIS: dict[str, tuple[str, str]] = {
    "nps": ("pts", "increase"),
    "churn_rate": ("%", "decrease"),
    "retention_rate": ("%", "increase"),
    "clv": ("$", "increase"),
    "repeat_purchase_rate": ("%", "increase"),
    "csat": ("%", "increase"),
    # Customer voice (storage/feedback_figures.py computes them from follow-ups, source
    # `feedback`): the share of detractors contacted within the follow-up window, and the
    # median hours from an answer to the first contact.
    "close_the_loop_rate": ("%", "increase"),
    "hours_to_contact": ("h", "decrease"),
}

# KPI -> (inputs, formula). Spec §2.
DERIVED: dict[str, tuple[tuple[str, ...], str]] = {
    "nps": (("promoters", "passives", "detractors"), "100·(P − D)/(P + Pa + D)"),
    "churn_rate": (("customers_start", "customers_lost"), "100·lost/start"),
    "retention_rate": (
        ("customers_start", "customers_end", "customers_new"),
        "100·(end − new)/start",
    ),
    "clv": (("avg_order_value", "purchase_frequency", "customer_lifespan"), "product"),
    "repeat_purchase_rate": (("repeat_customers", "customers_total"), "100·repeat/total"),
    "csat": (("satisfied_responses", "total_responses"), "100·satisfied/total"),
}
RAW_INPUTS = {name for inputs, _ in DERIVED.values() for name in inputs}
EXCLUSIVE_INPUTS = {
    kpi: {i for i in inputs if sum(i in other for other, _ in DERIVED.values()) == 1}
    for kpi, (inputs, _) in DERIVED.items()
}


class DerivationError(ValueError):
    """Raw inputs that give no KPI value (a zero or negative denominator); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def derive(kpi: str, v: dict[str, float]) -> float:
    """Spec §2 formulas. Raises DerivationError when a denominator is zero or negative."""

    def ratio(num: float, den: float, den_name: str) -> float:
        if den <= 0:
            raise DerivationError(f"{den_name} is {den:g}")
        return 100.0 * num / den

    if kpi == "nps":
        total = v["promoters"] + v["passives"] + v["detractors"]
        return ratio(v["promoters"] - v["detractors"], total, "promoters + passives + detractors")
    if kpi == "churn_rate":
        return ratio(v["customers_lost"], v["customers_start"], "customers_start")
    if kpi == "retention_rate":
        return ratio(
            v["customers_end"] - v["customers_new"], v["customers_start"], "customers_start"
        )
    if kpi == "clv":
        return v["avg_order_value"] * v["purchase_frequency"] * v["customer_lifespan"]
    if kpi == "repeat_purchase_rate":
        return ratio(v["repeat_customers"], v["customers_total"], "customers_total")
    if kpi == "csat":
        return ratio(v["satisfied_responses"], v["total_responses"], "total_responses")
    raise KeyError(kpi)


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
