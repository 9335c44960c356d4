"""Analytics page: headline figures and charts of pattern use, success, cost, tokens and latency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import charts
from core.batch import demo_items, run_batch
from core.ledger import Ledger, analytics
from core.ledger.analytics import Filters
from ui.errors import user_errors
from ui.filters import run_filters
from ui.layout import page_setup
from ui.parallel import Query, as_they_land
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
        from core.pipeline import generate  # only here: the page's charts do not need the pipeline

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


def _chart(chart: Chart, df: pd.DataFrame) -> None:
    """The chart, or in words why it has nothing to show; its data underneath either way."""
    reason = chart.blank(df) if chart.blank is not None else None
    if reason:
        st.markdown(f"**{chart.name.capitalize()}**")
        st.info(reason, icon=":material/info:")
    else:
        st.plotly_chart(chart.figure(df), width="stretch", key=f"chart-{chart.name}")
    with st.expander(f"Data: {chart.name}"):
        table(df, chart.name, key=chart.name)


@st.fragment(run_every=5)
def _in_progress(filters: Filters) -> None:
    running = analytics.in_progress(ledger, filters)
    if running.empty:
        st.caption("No run in progress.")
    else:
        st.markdown(f"**In progress ({len(running)})** · refreshes every 5 s")
        st.dataframe(running, hide_index=True, width="stretch")


@dataclass(frozen=True)
class Chart:
    """One chart of the page: the query behind it and the figure builder that draws it."""

    name: str
    query: Query
    figure: Callable[[pd.DataFrame], go.Figure]
    blank: Callable[[pd.DataFrame], str | None] | None = None
    """Why the data has nothing to chart (said in words instead of empty axes), or None to draw it."""


CHARTS = [  # in reading order, two per row
    Chart("pattern popularity", analytics.pattern_popularity, charts.fig_pattern_popularity,
          lambda df: "No run of these retrieved a pattern." if df.empty else None),
    Chart("success by pattern", analytics.success_by_pattern_or_none,
          partial(charts.fig_success_rate, by="pattern_id", title="Success rate by pattern"),
          lambda df: "No finished run matches these filters." if df.empty else None),
    Chart("cost per workflow", analytics.cost_per_workflow, charts.fig_cost_distribution, charts.why_blank_cost),
    Chart("cost by pattern", analytics.cost_by_pattern, charts.fig_cost_by_pattern,
          partial(charts.why_blank_cost, column="median_cost_usd")),
    Chart("usage by agent", analytics.usage_by_agent,
          partial(charts.fig_usage, by="agent", title="Tokens and cost by agent"), charts.why_blank_usage),
    Chart("usage by model", analytics.usage_by_model,
          partial(charts.fig_usage, by="model", title="Tokens and cost by model"), charts.why_blank_usage),
    Chart("runs over time", analytics.runs_over_time, charts.fig_runs_over_time, charts.why_blank_rows),
    Chart("latency by agent", analytics.latency_by_agent, charts.fig_latency_by_agent,
          lambda df: "No calls match these filters." if df.empty else None),
]

overall = analytics.headline(ledger)
if int(overall.iloc[0]["runs"]) == 0:
    _invitation(ledger)
    st.stop()

filters = run_filters(ledger, key="analytics")
queries: dict[str, Query] = {c.name: c.query for c in CHARTS}
if filters != Filters():
    queries["headline"] = analytics.headline
landing = as_they_land(ledger, queries, filters, first="headline" if "headline" in queries else None)
_headline((next(landing)[1] if "headline" in queries else overall).iloc[0])
_in_progress(filters)

slots = {}
for left, right in zip(CHARTS[::2], CHARTS[1::2], strict=True):
    columns = st.columns(2)
    slots[left.name], slots[right.name] = columns[0].container(), columns[1].container()
by_name = {c.name: c for c in CHARTS}
for name, frame in landing:  # each chart drawn as soon as its query is done
    with slots[name]:
        _chart(by_name[name], frame)


def _by_prompt_version(filters: Filters) -> None:
    """Pass rate, cost per workflow and latency per prompt version, over every run the filters pick."""
    st.subheader("By prompt version")
    frame = analytics.by_prompt_version(ledger, filters)
    if frame.empty:
        st.caption("No runs match these filters.")
        return
    shown = pd.DataFrame({
        "prompt version": frame["prompt_version"],
        "runs": frame["runs"],
        "pass rate": [f"{float(r):.0%}" if pd.notna(r) else "—" for r in frame["pass_rate"]],
        "met every expectation": [f"{int(m)} of {int(s)}" if s else "not scored"
                                  for m, s in zip(frame["expectations_met"], frame["scored"], strict=True)],
        "median cost per workflow": [format_cost(v) for v in frame["median_cost_per_workflow"]],
        "runs with unknown cost": frame["unknown_cost_runs"],
        "p50 duration": [_ms(v) for v in frame["p50_duration_ms"]],
        "p95 duration": [_ms(v) for v in frame["p95_duration_ms"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("Pass rate: succeeded of finished runs. 'Met every expectation' counts runs a Prompt Lab "
               "comparison scored against its eval case.")


_by_prompt_version(filters)

ENGINE_GROUPS = {"pattern": "pattern", "mode": "app mode", "prompt_version": "prompt version"}


def _runs_in_engine(filters: Filters) -> None:
    """Validity beside 'runs in Dify's engine' (the final test run succeeded), by pattern, mode or version."""
    st.subheader("Runs in Dify's engine")
    by = st.radio("Group by", list(ENGINE_GROUPS), format_func=ENGINE_GROUPS.get, horizontal=True,
                  key="analytics.engine_by")
    frame = analytics.runs_in_engine(ledger, by, filters)
    if frame.empty:
        st.caption("No finished runs match these filters." if by != "pattern" else
                   "No finished run was derived from a pattern under these filters.")
        return
    key = "pattern_id" if by == "pattern" else by
    rate = lambda v: "—" if pd.isna(v) else f"{float(v):.0%}"  # noqa: E731
    st.dataframe(pd.DataFrame({
        ENGINE_GROUPS[by]: frame[key],
        "runs": frame["n"],
        "valid": [rate(v) for v in frame["valid_rate"]],
        "runs in Dify's engine": [rate(v) for v in frame["engine_rate"]],
        "test-run": frame["tested"],
    }), hide_index=True, width="stretch")
    st.caption("Valid: the final workflow passed the validator. Runs in Dify's engine: its final test run "
               "(graphon, offline stand-ins, every steerable branch) succeeded. A run never test-run counts "
               "as not running.")


_runs_in_engine(filters)
