"""Generate page (home): a requirement in, a Dify workflow out, with live progress and a refine loop."""

from __future__ import annotations

import streamlit as st

from core.batch import example_requirements
from core.errors import ProviderError, UserFacingError
from core.ledger import analytics
from core.ledger.analytics import Filters
from core.pipeline import generate, refine
from core.versions import graph_changes
from ui.errors import show_error
from ui.generation import ProgressView, render_result
from ui.layout import page_setup
from ui.resources import get_ledger, get_library

settings = page_setup("Generate", "Describe what the workflow should do; get a Dify DSL file that imports and runs.")
RESULT, FLASH = "generate.result", "generate.flash"

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


def _run(label: str, call):
    """Run a generation with live progress; the result, or None after an error shown under the box."""
    status = st.status(label, expanded=True)
    try:
        with status:
            result = call(ProgressView(status))
    except (UserFacingError, ProviderError) as exc:
        status.update(label="Not generated", state="error", expanded=False)
        show_error(exc)
        return None
    ok = result.status == "succeeded"
    status.update(label="Done" if ok else "Not generated" if result.run_id is None else "Finished with a failure",
                  state="complete" if ok else "error", expanded=False)
    return result


def _refined(parent, child, instruction: str) -> dict:
    """The message kept for the rerun after a refinement: the child run and what it changed."""
    if child.status != "succeeded":
        return {"kind": "error", "text": f"The refinement failed: {child.error_message or child.error_category}. "
                f"Run `{child.run_id}` records it; the workflow below is still run `{parent.run_id}`."}
    changes = graph_changes(parent.yaml_text, child.yaml_text)
    lines = changes.lines() or ["Nothing changed in the nodes or their connections."]
    return {"kind": "success", "text": f"Refined run `{parent.run_id}` with “{instruction.strip()}”: new run "
            f"`{child.run_id}`.", "lines": lines}


def _flash() -> None:
    flash = st.session_state.pop(FLASH, None)
    if not flash:
        return
    (st.success if flash["kind"] == "success" else st.error)(flash["text"], icon=":material/edit:")
    if flash.get("lines"):
        st.markdown("\n".join(f"- {line}" for line in flash["lines"]))


ledger = get_ledger(settings)
if go:
    made = _run("Generating…", lambda on_event: generate(
        requirement, settings=settings, on_event=on_event, ledger=ledger, library=get_library(settings),
        source="app"))
    if made is not None and made.run_id is None and made.error_category == "invalid_input":
        st.error(made.error_message, icon=":material/error:")  # refused before a run was created
    elif made is not None:
        st.session_state[RESULT] = made

result = st.session_state.get(RESULT)
if result is None:
    st.info("Your workflow will appear here: graph, YAML to download, validation findings, cost and trace.",
            icon=":material/info:")
else:
    _flash()
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
                child = _run("Refining…", lambda on_event: refine(
                    result.run_id, instruction, settings=settings, on_event=on_event, ledger=ledger,
                    library=get_library(settings), previous=result))
                if child is not None:  # an error is shown above and stays: no rerun
                    st.session_state[FLASH] = _refined(result, child, instruction)
                    if child.status == "succeeded":
                        st.session_state[RESULT] = child
                    st.rerun()
