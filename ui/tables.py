"""Tables in the pages: a DataFrame with a CSV export button, and readable cost columns."""

from __future__ import annotations

import pandas as pd
import streamlit as st


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
    if amount == 0:
        return "$0.00"
    return f"${amount:.6f}".rstrip("0") if amount < 0.01 else f"${amount:,.4f}"


def costs_readable(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every ``*cost_usd`` column is text, so unknown costs read "unknown" rather than blank."""
    out = df.copy()
    for column in out.columns:
        if "cost_usd" in column and not column.startswith("known"):
            out[column] = out[column].map(format_cost)
    return out


SHOWN_ROWS = 1_000
"""Rows sent to the browser per table; the CSV export always has them all."""


def table(df: pd.DataFrame, name: str, *, key: str, readable: bool = True, file_name: str | None = None,
          column_config: dict | None = None) -> None:
    """Show a table (its first ``SHOWN_ROWS`` rows) and a button to download all of it as CSV.

    The CSV holds raw values (an unknown cost is an empty cell) and is only built when clicked.

    Args:
        df: the data.
        name: what the table holds, for the button ("Export <name> (CSV)") and the default file name.
        key: a widget key unique on the page.
        readable: show cost columns as text ("unknown" rather than a blank).
        file_name: the CSV's file name without extension, when it should say more than ``name``.
        column_config: ``st.dataframe``'s column settings (widths, labels) for the shown table.
    """
    shown = df.head(SHOWN_ROWS)
    st.dataframe(costs_readable(shown) if readable else shown, hide_index=True, width="stretch",
                 column_config=column_config)
    if len(df) > SHOWN_ROWS:
        st.caption(f"Showing the first {SHOWN_ROWS:,} of {len(df):,} rows; the CSV has them all.")
    st.download_button(f"Export {name} (CSV)", lambda: df.to_csv(index=False).encode("utf-8"),
                       file_name=f"{(file_name or name).replace(' ', '-')}.csv", mime="text/csv", key=f"csv-{key}",
                       icon=":material/download:")
