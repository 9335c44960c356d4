"""A pattern's usage figures from the ledger, for the Patterns page."""

from __future__ import annotations

import streamlit as st

from core.config import Settings
from core.ledger import analytics
from core.ledger.analytics import Filters
from ui.resources import get_ledger
from ui.tables import format_cost


def render_pattern_usage(settings: Settings, pattern_id: str, *, key: str) -> None:
    """How often the pattern was retrieved and used, its success rate and its cost per workflow."""
    ledger = get_ledger(settings)
    if ledger is None:
        st.caption("Usage figures need the run ledger, which is unavailable.")
        return
    only = Filters(pattern_id=pattern_id)
    popularity = analytics.pattern_popularity(ledger, only)
    row = popularity[popularity["pattern_id"] == pattern_id]
    if row.empty:
        st.caption("Not retrieved by any run yet.")
        return
    success = analytics.success_by_pattern(ledger, only)
    success = success[success["pattern_id"] == pattern_id]
    cost = analytics.cost_by_pattern(ledger, only)
    cost = cost[cost["pattern_id"] == pattern_id]
    a, b, c, d = st.columns(4)
    a.metric("Retrieved", int(row["retrieved"].iloc[0]))
    b.metric("Used", int(row["used"].iloc[0]))
    if success.empty:
        c.metric("Success rate", "—", help="No finished run used it yet.")
    else:
        c.metric("Success rate", f"{float(success['success_rate'].iloc[0]):.0%}",
                 help=f"{int(success['succeeded'].iloc[0])} of {int(success['n'].iloc[0])} finished runs")
    d.metric("Median cost per workflow", format_cost(cost["median_cost_usd"].iloc[0]) if not cost.empty else "—")
