"""Validate page: upload or paste Dify DSL and see its findings and graph."""

from __future__ import annotations

import streamlit as st

from core.dsl import validate
from ui.findings import render_report
from ui.layout import page_setup
from ui.testrun import render_test_run

settings = page_setup("Validate", "Check Dify DSL files before importing them: the same checks Dify runs, and more.")

uploads = st.file_uploader("Dify DSL files (.yml)", accept_multiple_files=True,
                           help="Exports from Dify's 'Export DSL'. Files over 10 MB are refused, as Dify does.")
with st.form("paste"):
    pasted = st.text_area("…or paste YAML", height=160, placeholder="app:\n  mode: workflow\n  …")
    submitted = st.form_submit_button("Validate pasted YAML")

sources: list[tuple[str, bytes | str]] = [(f.name, f.getvalue()) for f in uploads or []]
if submitted:
    if pasted.strip():
        st.session_state["validate.pasted"] = pasted
    else:
        st.session_state.pop("validate.pasted", None)
        st.warning("The paste box is empty: paste the YAML of a Dify export first.")
if st.session_state.get("validate.pasted"):
    sources.append(("pasted YAML", st.session_state["validate.pasted"]))

if not sources:
    st.info("Upload one or more Dify DSL files, or paste YAML, to see their findings.", icon=":material/upload_file:")
for index, (name, content) in enumerate(sources):
    with st.container(border=True):
        report = validate(content, target_version=settings.target_dsl_version)
        findings_tab, run_tab = st.tabs(["Findings", "Test run"], key=f"v{index}-tabs")  # keeps the tab on a rerun
        with findings_tab:
            render_report(name, report, key=f"v{index}")
        with run_tab:
            render_test_run(report.doc, key=f"v{index}-testrun")
