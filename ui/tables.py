"""Tables in the pages: a DataFrame with a CSV export button, and readable cost columns."""

from __future__ import annotations

import pandas as pd
import streamlit as st  # noqa: TID251 - ui/ is the streamlit side


def format_cost(value) -> str:
    """USD with enough digits for cheap calls; ``unknown`` when the price is not known (never $0)."""
    if value is None:
        return "unknown"
    try:
        if pd.isna(value):
            return "unknown"
    except (TypeError, ValueError):
        pass
    amount = float(value)
    return f"${amount:,.6f}" if amount < 0.01 else f"${amount:,.4f}"


def costs_readable(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every ``*cost_usd`` column is text, so unknown costs read "unknown" rather than blank."""
    out = df.copy()
    for column in out.columns:
        if "cost_usd" in column and not column.startswith("known"):
            out[column] = out[column].map(format_cost)
    return out


def table(df: pd.DataFrame, name: str, *, key: str, readable: bool = True) -> None:
    """Show a table and a button to download it as CSV (raw values, unknown costs empty)."""
    st.dataframe(costs_readable(df) if readable else df, hide_index=True, width="stretch")
    st.download_button(f"Export {name} (CSV)", df.to_csv(index=False).encode("utf-8"),
                       file_name=f"{name.replace(' ', '-')}.csv", mime="text/csv", key=f"csv-{key}",
                       icon=":material/download:")
