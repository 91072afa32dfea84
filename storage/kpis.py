"""Known KPIs (spec §2) and KPI definitions per team."""

from __future__ import annotations

import difflib
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
}


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
