"""Generate page (home): a requirement in, a Dify workflow out, with live progress and a refine loop."""

from __future__ import annotations

import streamlit as st

from core.batch import example_requirements
from core.ledger import analytics
from core.ledger.analytics import Filters
from core.pipeline import generate, refine
from ui.errors import user_errors
from ui.generation import ProgressView, render_result
from ui.layout import page_setup
from ui.resources import get_ledger, get_library

settings = page_setup("Generate", "Describe what the workflow should do; get a Dify DSL file that imports and runs.")
RESULT = "generate.result"

provider = settings.provider
st.caption(f"Provider: **{provider.label}**" + (" (no API key needed)" if provider.kind == "offline" else ""))

examples = example_requirements()
if examples:
    picked = st.selectbox("Start from an example", [None, *examples], format_func=lambda v: v or "—",
                          key="generate.example")
    if picked and st.session_state.get("generate.last_example") != picked:
        st.session_state["generate.requirement"] = picked
        st.session_state["generate.last_example"] = picked
with st.form("generate"):
    requirement = st.text_area("Requirement", key="generate.requirement", height=120,
                               placeholder="e.g. Classify incoming emails as complaint, refund or question "
                                           "and draft a reply for each.")
    go = st.form_submit_button("Generate workflow", type="primary", icon=":material/auto_awesome:")


def _run(label: str, call) -> None:
    with st.status(label, expanded=True) as status:
        with user_errors():
            result = call(ProgressView(status))
            st.session_state[RESULT] = result
            status.update(label="Done" if result.status == "succeeded" else "Finished with a failure",
                          state="complete" if result.status == "succeeded" else "error", expanded=False)
            return
        status.update(label="Not generated", state="error")


ledger = get_ledger(settings)
if go:
    if not requirement.strip():
        st.error("The requirement is empty.")
        st.caption("Describe in a sentence or two what the workflow should do, or pick an example.")
    else:
        _run("Generating…", lambda on_event: generate(
            requirement, settings=settings, on_event=on_event, ledger=ledger, library=get_library(settings),
            source="app"))

result = st.session_state.get(RESULT)
if result is None:
    st.info("Your workflow will appear here: graph, YAML to download, validation findings, cost and trace.",
            icon=":material/info:")
else:
    per_agent = analytics.usage_by_agent(ledger, Filters(text=result.run_id)) if ledger is not None else None
    render_result(result, agent_costs=per_agent, key="generate")
    if result.dsl is not None:
        with st.form("refine"):
            instruction = st.text_input("Refine this workflow",
                                        placeholder="e.g. also translate the reply into French")
            again = st.form_submit_button("Refine", icon=":material/edit:")
        if again:
            if not instruction.strip():
                st.error("The refine instruction is empty.")
                st.caption("Say what to change, e.g. 'add a step that summarises the answer'.")
            else:
                _run("Refining…", lambda on_event: refine(
                    result.run_id, instruction, settings=settings, on_event=on_event, ledger=ledger,
                    library=get_library(settings), previous=result))
                st.rerun()
