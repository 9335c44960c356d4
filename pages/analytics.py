"""Analytics page: headline figures and charts of pattern use, success, cost, tokens and latency."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from core import charts
from core.batch import demo_items, run_batch
from core.ledger import Ledger, analytics
from core.ledger.analytics import Filters
from core.pipeline import generate
from ui.errors import user_errors
from ui.filters import run_filters
from ui.layout import page_setup
from ui.parallel import fetch_all
from ui.resources import get_ledger, get_library
from ui.tables import format_cost, table

settings = page_setup("Analytics", "Which patterns are used, which succeed, and what each workflow costs.")
ledger = get_ledger(settings)
if ledger is None:
    st.error("The run ledger is unavailable, so there is nothing to analyse.")
    st.caption("The sidebar says why; the Settings page shows the ledger's path.")
    st.stop()


def _ms(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value) / 1000:.2f} s"


def _invitation(ledger: Ledger) -> None:
    st.info("No runs yet. Generate a workflow, or run the demo set: the evaluation requirements generated "
            "offline as real runs, so these charts have something to show.", icon=":material/monitoring:")
    if st.button("Run the demo set (offline)", type="primary", icon=":material/play_arrow:"):
        with user_errors():
            items = demo_items()
            offline = settings.with_provider(kind="offline")
            one = partial(generate, settings=offline, ledger=ledger, library=get_library(settings), source="eval")
            bar = st.progress(0.0, text=f"0 of {len(items)} done")
            done: list = []

            def _tick(_result) -> None:
                done.append(_result)
                bar.progress(len(done) / len(items), text=f"{len(done)} of {len(items)} done")

            run_batch(items, one, concurrency=2, on_result=_tick)
            st.rerun()


def _headline(row: pd.Series) -> None:
    cols = st.columns(6)
    cols[0].metric("Runs", f"{int(row['runs']):,}")
    rate = row["success_rate"]
    cols[1].metric("Success rate", "—" if pd.isna(rate) else f"{float(rate):.0%}",
                   help=f"of {int(row['finished']):,} finished runs")
    unknown = int(row["unknown_cost_runs"])
    cols[2].metric("Total cost", format_cost(row["known_cost_usd"]),
                   help=f"Known costs only: {unknown} run(s) with an unknown price are not included."
                   if unknown else "Sum of all priced calls.")
    cols[3].metric("Median cost", format_cost(row["median_cost_per_workflow"]),
                   help="Median cost per succeeded workflow whose cost is known.")
    cols[4].metric("p50 duration", _ms(row["p50_duration_ms"]))
    cols[5].metric("p95 duration", _ms(row["p95_duration_ms"]))


def _chart(fig, df: pd.DataFrame, name: str) -> None:
    st.plotly_chart(fig, width="stretch", key=f"chart-{name}")
    with st.expander(f"Data: {name}"):
        table(df, name, key=name)


@st.fragment(run_every=5)
def _in_progress(filters: Filters) -> None:
    running = analytics.in_progress(ledger, filters)
    if running.empty:
        st.caption("No run in progress.")
    else:
        st.markdown(f"**In progress ({len(running)})** · refreshes every 5 s")
        st.dataframe(running, hide_index=True, width="stretch")


QUERIES = {
    "popularity": analytics.pattern_popularity,
    "by_pattern": analytics.success_by_pattern, "per_workflow": analytics.cost_per_workflow,
    "cost_pattern": analytics.cost_by_pattern, "agents": analytics.usage_by_agent,
    "models": analytics.usage_by_model, "over_time": analytics.runs_over_time,
    "latency": analytics.latency_by_agent,
}

overall = analytics.headline(ledger)
if int(overall.iloc[0]["runs"]) == 0:
    _invitation(ledger)
    st.stop()

filters = run_filters(ledger, key="analytics")
unfiltered = filters == Filters()
data = fetch_all(ledger, QUERIES if unfiltered else {**QUERIES, "headline": analytics.headline}, filters)
data.setdefault("headline", overall)
_headline(data["headline"].iloc[0])
_in_progress(filters)

left, right = st.columns(2)
with left:
    _chart(charts.fig_pattern_popularity(data["popularity"]), data["popularity"], "pattern popularity")
with right:
    _chart(charts.fig_success_rate(data["by_pattern"], "pattern_id", title="Success rate by pattern"),
           data["by_pattern"], "success by pattern")
left, right = st.columns(2)
with left:
    _chart(charts.fig_cost_distribution(data["per_workflow"]), data["per_workflow"], "cost per workflow")
with right:
    _chart(charts.fig_cost_by_pattern(data["cost_pattern"]), data["cost_pattern"], "cost by pattern")
left, right = st.columns(2)
with left:
    _chart(charts.fig_usage(data["agents"], "agent", title="Tokens and cost by agent"), data["agents"],
           "usage by agent")
with right:
    _chart(charts.fig_usage(data["models"], "model", title="Tokens and cost by model"), data["models"],
           "usage by model")
left, right = st.columns(2)
with left:
    _chart(charts.fig_runs_over_time(data["over_time"]), data["over_time"], "runs over time")
with right:
    _chart(charts.fig_latency_by_agent(data["latency"]), data["latency"], "latency by agent")
