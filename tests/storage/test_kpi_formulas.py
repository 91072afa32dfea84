"""KPI derivation formulas (spec §2 table): pure functions, no database."""

from __future__ import annotations

import pytest

from storage.kpis import KPI_DEFS, DerivationError, derive


def test_all_six_formulas():
    assert derive("nps", {"promoters": 50, "passives": 30, "detractors": 20}) == 30
    assert derive("churn_rate", {"customers_start": 400, "customers_lost": 20}) == 5
    assert (
        derive(
            "retention_rate", {"customers_start": 100, "customers_end": 110, "customers_new": 25}
        )
        == 85
    )
    assert (
        derive("clv", {"avg_order_value": 40, "purchase_frequency": 3, "customer_lifespan": 2.5})
        == 300
    )
    assert derive("repeat_purchase_rate", {"repeat_customers": 30, "customers_total": 120}) == 25
    assert derive("csat", {"satisfied_responses": 45, "total_responses": 50}) == 90
    derived = {name for name, d in KPI_DEFS.items() if d.formula is not None}
    assert derived == {
        "nps",
        "churn_rate",
        "retention_rate",
        "clv",
        "repeat_purchase_rate",
        "csat",
    }
    # The customer-voice KPIs come from follow-ups, never from a sheet's raw columns.
    assert set(KPI_DEFS) - derived == {"close_the_loop_rate", "hours_to_contact"}
    with pytest.raises(KeyError):
        derive("close_the_loop_rate", {})
    with pytest.raises(DerivationError, match="total_responses is 0"):
        derive("csat", {"satisfied_responses": 0, "total_responses": 0})
