"""A test run as the pages show it: an inputs form from the start variables, a run button, the per-node
trace and the path on the graph preview (nodes coloured by how they ran)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.charts import fig_test_run_path
from core.errors import UserFacingError

STATUS_ICONS = {"succeeded": ":material/check_circle:", "failed": ":material/error:", "error": ":material/block:"}


def _widget(var, default, key: str):
    """One input widget for a start variable, prefilled with the synthesized value."""
    from core.testrun.inputs import SampleFile

    label = f"{var.label} (`{var.name}`)"
    if var.type == "select" and var.options:
        return st.selectbox(label, var.options, key=key)
    if var.type == "number":
        return st.number_input(label, value=float(default), key=key)
    if var.type == "checkbox":
        return st.checkbox(label, value=bool(default), key=key)
    if var.type in ("file", "file-list"):
        many = var.type == "file-list"
        uploaded = st.file_uploader(label, accept_multiple_files=many, key=key,
                                    help="Leave empty to use a small generated sample file.")
        files = [f for f in (uploaded if many else [uploaded]) if f is not None] if uploaded else []
        if not files:
            st.caption("A generated sample file will be used.")
            return None
        made = [SampleFile(f.name, f.type or "application/octet-stream", f.getvalue()) for f in files]
        return made if many else made[0]
    if var.type == "json_object":
        return st.text_area(label, value=json.dumps(default), key=key)
    if var.type == "paragraph":
        return st.text_area(label, value=str(default), key=key, height=100)
    return st.text_input(label, value=str(default), key=key)


def trace_frame(report, branch: int = 0) -> pd.DataFrame:
    """One branch run's node trace as a table (status, node, type, stub, time, error, outputs)."""
    if not report.runs:
        return pd.DataFrame(columns=["status", "node", "type", "stub", "ms", "error", "outputs"])
    rows = [{"status": n.status, "node": n.title, "type": n.node_type, "stub": "stub" if n.stub else "",
             "ms": round(n.elapsed_ms, 1), "error": n.error or "",
             "outputs": json.dumps(n.outputs, ensure_ascii=False, default=str)[:300]}
            for n in report.runs[branch].nodes]
    return pd.DataFrame(rows)


def render_report(dsl: dict, report, *, key: str) -> None:
    """Outcome line, runtime findings, the trace of a chosen branch run and its path on the graph."""
    icon = STATUS_ICONS.get(report.status, "")
    st.markdown(f"{icon} **Test run {report.status}**: {report.summary().split(': ', 1)[-1]} · {report.engine} · "
                f"{report.elapsed_ms:.0f} ms")
    if report.stubbed:
        st.caption(f"Stub nodes (canned outputs, not real results): {', '.join(report.stubbed)}")
    if report.uncovered:
        st.caption(f"Branches no run could take offline: {', '.join(report.uncovered)}")
    if report.findings:
        st.dataframe(pd.DataFrame([f.to_dict() for f in report.findings])[["severity", "code", "node_id", "message", "hint"]],
                     hide_index=True, width="stretch", key=f"{key}-findings")
    if not report.runs:
        return
    labels = [f"{r.label} ({r.status})" for r in report.runs]
    branch = st.selectbox("Branch run", range(len(labels)), format_func=labels.__getitem__, key=f"{key}-branch")
    run = report.runs[branch]
    if run.error:
        st.error(run.error)
    st.dataframe(trace_frame(report, branch), hide_index=True, width="stretch", key=f"{key}-trace")
    if run.outputs:
        st.markdown("**Outputs**")
        st.json(run.outputs, expanded=False)
    status = {n.node_id: n.status for n in run.nodes}
    st.plotly_chart(fig_test_run_path(dsl, status), key=f"{key}-path", width="stretch")


def render_test_run(dsl: dict | None, *, key: str, initial=None) -> None:
    """The whole component: inputs form, run button, then the report (the last one run, else ``initial``).

    Args:
        dsl: the parsed workflow.
        key: a unique widget-key prefix.
        initial: a report to show before the user runs (e.g. the pipeline's own test run).
    """
    from core.testrun.inputs import resolve_inputs, start_variables

    if not isinstance(dsl, dict):
        st.info("There is no workflow to run.")
        return
    chat = (dsl.get("app") or {}).get("mode") == "advanced-chat"
    try:
        sample = resolve_inputs(dsl, None, chat=chat)
    except UserFacingError as exc:
        st.error(exc.message)
        return
    with st.form(f"{key}-form"):
        st.caption("Runs the workflow in Dify's own engine (graphon) with offline stand-ins for the model, "
                   "code sandbox and HTTP. Inputs are prefilled with sample values.")
        values = {var.name: _widget(var, sample.values[var.name], f"{key}-in-{var.name}")
                  for var in start_variables(dsl)}
        query = st.text_input("User message (`sys.query`)", value=sample.query or "", key=f"{key}-query") if chat else None
        live = st.checkbox("Send HTTP requests for real", key=f"{key}-live",
                           help="Off: HTTP nodes get canned answers and nothing leaves this machine.")
        go = st.form_submit_button("Run in Dify's engine", icon=":material/play_arrow:", type="primary")
    if go:
        inputs = {k: v for k, v in values.items() if v is not None}
        if query is not None:
            inputs["sys.query"] = query
        from core.testrun import test_run

        try:
            with st.spinner("Running in Dify's engine…"):
                report = test_run(dsl, inputs, live_http=live)
        except UserFacingError as exc:
            st.error(exc.message)
            if exc.hint:
                st.caption(exc.hint)
            return
        st.session_state[f"{key}-report"] = report
    report = st.session_state.get(f"{key}-report")
    if report is not None:
        st.caption("Your run, with the inputs above.")
    elif initial is not None:
        report = initial
        st.caption("The test run made while generating, with sample inputs: change them and run again.")
    if report is not None:
        render_report(dsl, report, key=key)
