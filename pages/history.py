"""History page: every run with filters; a run's events, calls, cost and DSL versions; re-run or delete it."""

from __future__ import annotations

import contextlib
import json

import pandas as pd
import streamlit as st

from core.batch import workflow_filename
from core.charts import fig_run_timeline, run_timeline
from core.ledger import Ledger, RunNotFound, analytics
from core.ledger.analytics import Filters, RunTrace
from core.pipeline import generate
from core.versions import diff_versions, graph_changes, run_versions
from ui.errors import user_errors
from ui.filters import run_filters
from ui.layout import page_setup
from ui.resources import get_ledger, get_library
from ui.runs import refinement_instruction, run_label, runs_frame, short_id
from ui.tables import format_cost, table

settings = page_setup("History", "Every run, successful or not, with what it cost and what it produced.")
ledger = get_ledger(settings)
if ledger is None:
    st.error("The run ledger is unavailable, so there is no history to show.")
    st.caption("The sidebar says why; the Settings page shows the ledger's path.")
    st.stop()
LIMIT = 500
SELECTED, PICK = "history.run", "history.pick"


TOAST = "history.toast"
RUN_TABLE = {"run": st.column_config.TextColumn("run", width="small", help="When it started · its short id"),
             "requirement": st.column_config.TextColumn("requirement", width="large")}


def _parents(runs: pd.DataFrame) -> dict[str, str]:
    """The requirement of each parent of a run in ``runs`` (to show what a refinement added)."""
    found = dict(zip(runs["run_id"], runs["requirement"], strict=True))
    for parent in sorted(p for p in set(runs["parent_run_id"].dropna()) - set(found) if p):
        try:
            found[parent] = ledger.get_run(parent)["requirement"]
        except RunNotFound:
            continue
    return found


def _label(runs: pd.DataFrame, run_id: str, parents: dict[str, str]) -> str:
    row = runs.set_index("run_id").loc[run_id].to_dict() | {"run_id": run_id}
    return run_label(row, parents.get(row["parent_run_id"]) if row.get("parent_run_id") else None)


def _summary(trace: RunTrace) -> None:
    run = trace.run
    cols = st.columns(5)
    cols[0].metric("Status", run["status"])
    cols[1].metric("Duration", f"{run['duration_ms'] / 1000:.2f} s" if run.get("duration_ms") else "—")
    cols[2].metric("Cost", format_cost(run.get("cost_usd")))
    cols[3].metric("Tokens", f"{int(run.get('total_tokens') or 0):,}")
    cols[4].metric("Quality", f"{run['quality_score']:.0f}" if run.get("quality_score") is not None else "—")
    parent_requirement = None
    if run.get("parent_run_id"):
        with contextlib.suppress(RunNotFound):
            parent_requirement = ledger.get_run(run["parent_run_id"])["requirement"]
    instruction = refinement_instruction(run["requirement"], parent_requirement)
    if instruction:
        st.markdown(f"**Refinement:** {instruction}")
        st.caption(f"of the requirement: {parent_requirement}")
    else:
        st.markdown(f"**Requirement:** {run['requirement']}")
    st.caption(f"Run `{run['id']}` · {run['provider']} / {run['model']} · mode {run.get('mode') or '—'} · "
               f"prompt {run['prompt_version']} · from {run['source']}")
    if run.get("parent_run_id"):
        st.caption(f"Refines run `{run['parent_run_id']}`.")
    if trace.children:
        st.caption("Refined by: " + ", ".join(f"`{c}`" for c in trace.children))
    if run.get("error_message"):
        st.error(f"{run.get('error_category') or 'error'}: {run['error_message']}")


def _versions(trace: RunTrace) -> None:
    table_ = trace.workflows
    if table_.empty:
        st.info("This run produced no workflow.", icon=":material/account_tree:")
        return
    st.dataframe(table_.drop(columns=["yaml_text", "run_id"]), hide_index=True, width="stretch")
    versions = run_versions(ledger, trace.run["id"])
    own = [v for v in versions if not v.from_parent]
    picked = st.selectbox("Version", own, index=len(own) - 1, format_func=lambda v: v.label,
                          key="history-version")
    st.download_button(f"Download {picked.label}", picked.yaml_text,
                       file_name=workflow_filename(picked.name, "workflow"),
                       mime="application/x-yaml", icon=":material/download:")
    with st.expander(f"YAML of {picked.label}"):
        st.code(picked.yaml_text, language="yaml")
    if len(versions) < 2:
        st.caption("Only one version: the run needed no repair round and refines no other run.")
        return
    st.markdown("**Compare versions**")
    a, b = st.columns(2)
    old = a.selectbox("From", versions, index=len(versions) - 2, format_func=lambda v: v.label,
                      key="history-diff-old")
    new = b.selectbox("To", versions, index=len(versions) - 1, format_func=lambda v: v.label,
                      key="history-diff-new")
    changes = graph_changes(old.yaml_text, new.yaml_text)
    lines = changes.lines() or ["No node or connection changed (layout, icons or temperature aside)."]
    st.markdown("\n".join(f"- {line}" for line in lines))
    diff = diff_versions(old.yaml_text, new.yaml_text, old_label=old.label, new_label=new.label)
    st.caption(f"{old.label} → {new.label}: {diff.summary()}")
    if not diff.identical:
        with st.expander("Raw YAML diff"):
            st.code(diff.text, language="diff")


def _timeline(trace: RunTrace) -> None:
    """The run's stages, calls (or offline steps) and repair rounds, drawn, with the raw events on demand."""
    timeline = run_timeline(trace.events)
    st.plotly_chart(fig_run_timeline(timeline), width="stretch", key="history-timeline")
    if not timeline.empty:
        shown = timeline.assign(start=timeline["start_s"].map(lambda v: f"+{v:.3f} s"),
                                duration=timeline["duration_s"].map(lambda v: f"{v:.3f} s"))
        st.dataframe(shown[["kind", "row", "label", "start", "duration", "detail"]]
                     .rename(columns={"row": "stage"}), hide_index=True, width="stretch",
                     column_config={"detail": st.column_config.TextColumn("detail", width="large")})
    with st.expander("Raw events"):
        table(trace.events.drop(columns="run_id", errors="ignore"), "events", key="events",
              file_name=f"events-{trace.run['id'][:8]}")


def _test_runs(ledger: Ledger, trace: RunTrace) -> None:
    """The run's test runs in Dify's engine, and the node trace of the one picked."""
    runs = trace.test_runs
    if runs.empty:
        st.info("This run has no test runs (its workflow never validated, or it predates test runs).")
        return
    shown = runs[["id", "workflow_version", "status", "branch_runs", "nodes_reached", "errors", "warnings",
                  "duration_ms", "engine", "created_at"]]
    table(shown, "test runs", key="test-runs", file_name=f"test-runs-{trace.run['id'][:8]}")
    by_id = runs.set_index("id")
    pick = st.selectbox("Test run", runs["id"].tolist(), index=len(runs) - 1, key="history.test-run",
                        format_func=lambda i: f"#{i} · version {by_id.loc[i, 'workflow_version']} · {by_id.loc[i, 'status']}")
    findings = json.loads(by_id.loc[pick, "findings"] or "[]")
    if findings:
        st.dataframe(pd.DataFrame(findings), hide_index=True, width="stretch")
    st.dataframe(ledger.test_run_nodes(int(pick)).drop(columns=["test_run_id"]), hide_index=True, width="stretch")


def _calls(trace: RunTrace) -> None:
    calls = trace.calls
    if calls.empty:
        st.info("No calls recorded.")
        return
    shown = calls.drop(columns=["prompt_text", "response_text", "run_id"], errors="ignore")
    table(shown, "calls", key="calls", file_name=f"calls-{trace.run['id'][:8]}")
    for _, call in calls.iterrows():
        with st.expander(f"{call['agent']} · attempt {call['attempt']} · {call['model']} · "
                         f"{call['latency_ms']:.0f} ms · {call['outcome']}"):
            st.markdown("**Prompt**")
            st.code(call["prompt_text"] or "(content logging was off)", language=None, wrap_lines=True)
            st.markdown("**Response**")
            st.code(call["response_text"] or "(content logging was off)", language=None, wrap_lines=True)


def _actions(ledger: Ledger, trace: RunTrace) -> None:
    run = trace.run
    left, right = st.columns(2)
    with left:
        if st.button("Re-run this requirement", icon=":material/replay:"):
            with user_errors(), st.spinner("Generating…"):
                result = generate(run["requirement"], settings=settings, ledger=ledger,
                                  library=get_library(settings), source="app")
                st.session_state[PICK] = result.run_id
                st.session_state[TOAST] = f"Re-ran {short_id(run['id'])} as new run {short_id(result.run_id)}: {result.status}."
                st.rerun()
    with right:
        sure = st.checkbox("Yes, delete this run and everything recorded about it")
        if st.button("Delete run", icon=":material/delete:", disabled=not sure, type="primary"):
            with user_errors():
                ledger.delete_run(run["id"])
                st.toast(f"Deleted run {run['id']}.")
                st.rerun()


if int(analytics.headline(ledger).iloc[0]["runs"]) == 0:
    st.info("No runs yet. Every generation (Generate, Batch, or `python -m core generate`) is recorded here "
            "with its events, model calls, cost and workflow versions.", icon=":material/history:")
    st.page_link("pages/generate.py", label="Generate a workflow", icon=":material/auto_awesome:")
    st.stop()
if TOAST in st.session_state:
    st.toast(st.session_state.pop(TOAST), icon=":material/replay:")
filters = run_filters(ledger, key="history", extra=True)
runs = analytics.run_list(ledger, filters, limit=LIMIT)
chosen = st.session_state.pop(PICK, None)  # a run the last action asked to show (e.g. the re-run)
if chosen and chosen not in runs["run_id"].tolist():  # hidden by the filters: shown anyway, and said so
    runs = pd.concat([analytics.run_list(ledger, Filters(text=chosen), limit=1), runs], ignore_index=True)
    st.caption(f"Run {short_id(chosen)} is shown at the top although the filters hide it.")
if runs.empty:
    st.info("No run matches these filters. Loosen them to see more.",
            icon=":material/history:")
    st.stop()
parents = _parents(runs)
st.caption(f"{len(runs)} run(s){' (newest ' + str(LIMIT) + ')' if len(runs) == LIMIT else ''}.")
table(runs_frame(runs, parents), "runs", key="runs", column_config=RUN_TABLE)

ids = runs["run_id"].tolist()
if chosen in ids:
    st.session_state[SELECTED] = chosen
elif st.session_state.get(SELECTED) not in ids:  # deleted, or filtered out
    st.session_state.pop(SELECTED, None)
selected = st.selectbox("Run", ids, key=SELECTED, format_func=lambda rid: _label(runs, rid, parents))
with user_errors():
    trace = analytics.run_trace(ledger, selected)
    with st.container(border=True):
        _summary(trace)
        events, calls, versions, patterns, test_runs = st.tabs(
            ["Timeline", "Calls", "Workflow versions", "Patterns", "Test runs"])
        with events:
            _timeline(trace)
        with calls:
            _calls(trace)
        with versions:
            _versions(trace)
        with patterns:
            if trace.patterns.empty:
                st.info("No patterns were retrieved.")
            else:
                table(trace.patterns.drop(columns="run_id", errors="ignore"), "patterns", key="patterns",
                      file_name=f"patterns-{selected[:8]}")
        with test_runs:
            _test_runs(ledger, trace)
        _actions(ledger, trace)
