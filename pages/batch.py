"""Batch page: generate many requirements from a CSV or YAML file (or the evaluation set), then zip them."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from core.batch import MAX_CONCURRENCY, demo_items, parse_requirements, run_batch, workflows_zip
from core.pipeline import generate
from ui.errors import user_errors
from ui.layout import page_setup
from ui.resources import get_ledger, get_library
from ui.tables import format_cost

settings = page_setup("Batch", "Generate a workflow for every requirement in a file; one bad row never stops the rest.")
RESULTS = "batch.results"

source = st.radio("Requirements from", ["upload", "eval"], horizontal=True,
                  format_func={"upload": "A file I upload", "eval": "The evaluation set"}.get)
upload = None
if source == "upload":
    upload = st.file_uploader("CSV with a 'requirement' column (optional 'id'), or YAML list", type=None,
                              help="YAML: a list of strings, a list of {id, requirement}, or 'cases:' like the "
                                   "evaluation set.")
concurrency = st.slider("Concurrency (rows generated at once)", 1, MAX_CONCURRENCY, 2)
start = st.button("Run batch", type="primary", icon=":material/play_arrow:")


def _items():
    if source == "eval":
        return demo_items()
    if upload is None:
        st.warning("Choose a file first.")
        return None
    return parse_requirements(upload.name, upload.getvalue())


COLUMNS = {"message": st.column_config.TextColumn("reason / message", width="large"),
           "requirement": st.column_config.TextColumn("requirement", width="medium")}


def _count(value) -> str:
    return "—" if value is None else str(value)


def _table(results) -> pd.DataFrame:
    """One row per requirement as the page shows it: the outcome and its reason first, "—" for figures a
    row that never ran has none of (the ZIP's results.csv keeps the raw values)."""
    frame = pd.DataFrame([r.as_row() for r in results])
    frame["app_name"] = [r.app_name or "" for r in results]
    frame["valid"] = ["—" if r.valid is None else "valid" if r.valid else "not valid" for r in results]
    frame["errors"] = [_count(r.errors) for r in results]
    frame["warnings"] = [_count(r.warnings) for r in results]
    frame["cost"] = [format_cost(r.cost_usd) if r.run_id else "—" for r in results]
    order = ["row", "id", "status", "message", "requirement", "app_name", "valid", "errors", "warnings", "cost",
             "tokens", "duration_s", "run_id"]
    return frame[order]


if start:
    with user_errors():
        items = _items()
        if items:
            ledger = get_ledger(settings)
            one = partial(generate, settings=settings, ledger=ledger, library=get_library(settings), source="batch")
            bar = st.progress(0.0, text=f"0 of {len(items)} done")
            live = st.empty()
            done = []

            def _on_result(result) -> None:
                done.append(result)
                bar.progress(len(done) / len(items), text=f"{len(done)} of {len(items)} done")
                live.dataframe(_table(sorted(done, key=lambda r: r.row)), hide_index=True, width="stretch",
                               column_config=COLUMNS)

            st.session_state[RESULTS] = run_batch(items, one, concurrency=concurrency, on_result=_on_result)
            live.empty()
            bar.empty()

results = st.session_state.get(RESULTS)
if not results:
    st.info("Results appear here: one row per requirement with validity, cost and duration.",
            icon=":material/info:")
else:
    ok = sum(r.status == "succeeded" for r in results)
    valid = sum(bool(r.valid) for r in results)
    st.markdown(f"**{len(results)} rows:** {ok} succeeded, {len(results) - ok} failed, {valid} valid workflows.")
    failed = [r for r in results if r.status != "succeeded"]
    if failed:  # the reasons in words, not only in a table column
        st.warning("\n".join(f"- Row {r.row}{f' ({r.id})' if r.id else ''}: {r.message or 'failed'}" for r in failed),
                   icon=":material/warning:")
    st.dataframe(_table(results), hide_index=True, width="stretch", column_config=COLUMNS)
    st.download_button("Download all workflows (ZIP)", workflows_zip(results), file_name="difyforge-batch.zip",
                       mime="application/zip", type="primary", icon=":material/download:")
