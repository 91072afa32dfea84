"""Known KPIs (spec §2) and KPI definitions per team."""

from __future__ import annotations

import re

from sqlmodel import Session, select

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


def header_key(text: object) -> str:
    """`Churn Rate (%)` → `churn_rate`: case-, space- and punctuation-insensitive."""
    s = str(text if text is not None else "").strip().lower()
    s = re.sub(r"\(.*?\)", " ", s)
    s = re.sub(r"[^\w]+", "_", s, flags=re.UNICODE)
    return s.strip("_")
