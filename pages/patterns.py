"""Patterns page: browse and filter the library, search it by meaning, see a pattern, add or remove yours."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.batch import workflow_filename
from core.charts import fig_counts, fig_workflow_graph
from core.dsl import dump_dsl
from core.errors import PatternError
from core.patterns import Pattern, PatternLibrary
from ui.errors import show_error, user_errors
from ui.layout import page_setup
from ui.pattern_files import (
    PATTERN_MODES,
    guess_complexity,
    is_dify_export,
    pattern_from_export,
    pattern_id,
    read_yaml,
    split_list,
)
from ui.resources import get_library
from ui.usage import render_pattern_usage

settings = page_setup("Patterns", "The proven workflows DifyForge builds from: browse, search, add your own.")
FLASH = "patterns.flash"  # a message for the rerun after an add or remove (which refreshes the sidebar's count)


def _done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


def _table(patterns: list[Pattern], scores: list[float] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame([{"id": p.id, "name": p.name, "mode": p.mode, "complexity": p.complexity,
                           "nodes": ", ".join(p.node_types), "tags": ", ".join(p.tags), "source": p.source}
                          for p in patterns])
    if scores is not None:
        frame.insert(0, "similarity", scores)
    return frame


def _detail(library: PatternLibrary, pattern: Pattern, key: str) -> None:
    """Everything about one pattern: what it is for, its nodes, graph, YAML, usage; removal if it is yours."""
    with st.container(border=True):
        st.subheader(pattern.name)
        st.caption(f"`{pattern.id}` · {pattern.mode} · {pattern.complexity} · {pattern.source} pattern")
        st.write(pattern.description)
        if pattern.use_cases:
            st.markdown("**Use cases:** " + "; ".join(pattern.use_cases))
        st.markdown("**Nodes:** " + ", ".join(f"`{t}`" for t in pattern.node_types))
        st.plotly_chart(fig_workflow_graph(pattern.dsl), key=f"{key}-graph", width="stretch")
        dsl_text = dump_dsl(pattern.dsl)
        st.download_button("Download the Dify DSL", dsl_text, file_name=workflow_filename(pattern.id),
                           mime="application/x-yaml", key=f"{key}-download", icon=":material/download:")
        with st.expander("YAML"):
            st.code(dsl_text, language="yaml")
        render_pattern_usage(settings, pattern.id, key=key)
        if pattern.source == "user":
            confirm = st.checkbox(f"Yes, remove {pattern.id}", key=f"{key}-confirm")
            if st.button("Remove this user pattern", key=f"{key}-remove", disabled=not confirm):
                with user_errors():
                    library.remove_user_pattern(pattern.id)
                    _done(f"Removed user pattern {pattern.id} ({pattern.name}).")


def _browse(library: PatternLibrary) -> None:
    everything = library.list()
    c1, c2, c3, c4, c5 = st.columns(5)
    mode = c1.selectbox("Mode", [None, "workflow", "advanced-chat"], format_func=lambda v: v or "any")
    complexity = c2.selectbox("Complexity", [None, *sorted({p.complexity for p in everything})],
                              format_func=lambda v: v or "any")
    source = c3.selectbox("Source", [None, "builtin", "user"], format_func=lambda v: v or "any")
    tags = c4.multiselect("Tags", sorted({t for p in everything for t in p.tags}))
    nodes = c5.multiselect("Node types", sorted({t for p in everything for t in p.node_types}))
    found = library.list(mode=mode, complexity=complexity, source=source, tags=tags, node_types=nodes)
    if not found:
        st.info("No pattern matches these filters.")
        return
    st.dataframe(_table(found), hide_index=True, width="stretch")
    chosen = st.selectbox("Show pattern", [p.id for p in found], key="browse-pick")
    _detail(library, library.get(chosen), "browse")


def _search(library: PatternLibrary) -> None:
    left, right = st.columns([4, 1])
    text = left.text_input("Describe what you need", placeholder="e.g. answer questions from our product manual")
    k = right.number_input("Results", min_value=1, max_value=20, value=5)
    if not text.strip():
        st.caption("Search by meaning: the text is compared with each pattern's description and use cases.")
        return
    with user_errors():
        hits = library.search(text, k=int(k))
        if not hits:
            st.info("No pattern found.")
            return
        st.dataframe(_table([h.pattern for h in hits], [round(h.score, 3) for h in hits]),
                     hide_index=True, width="stretch")
        chosen = st.selectbox("Show pattern", [h.pattern.id for h in hits], key="search-pick")
        _detail(library, library.get(chosen), "search")


def _add(library: PatternLibrary) -> None:
    st.caption("Upload a pattern file (`metadata` with id, name, description, use_cases, tags, complexity, mode, "
               "and the Dify export under `dsl`), or a plain Dify export (Dify's *Export DSL*): then name and "
               "describe it here. It is validated before it is added.")
    upload = st.file_uploader("Pattern YAML or Dify export", key="add-upload")
    if upload is None:
        return
    try:
        text = upload.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        st.error(f"{upload.name} is not UTF-8 text.")
        st.caption("Upload a YAML pattern file or a Dify export.")
        return
    doc = read_yaml(text)
    if is_dify_export(doc):
        text = _export_form(doc, upload.name)
        if text is None:
            return
    elif not st.button("Add pattern", type="primary"):
        return
    _add_text(library, text)


def _export_form(export: dict, file_name: str) -> str | None:
    """Ask for the name, description and tags of an uploaded Dify export; its pattern file once submitted."""
    app = export.get("app") or {}
    mode = app.get("mode")
    if mode not in PATTERN_MODES:
        st.error(f"{file_name} is a Dify '{mode}' app; patterns are workflow or chatflow (advanced-chat) apps.")
        st.caption("Export a Workflow or Chatflow app from Dify.")
        return None
    st.info(f"{file_name} is a Dify export ({mode}). Say what it is for, and it becomes your pattern.",
            icon=":material/library_add:")
    with st.form("add-export"):
        name = st.text_input("Name", value=str(app.get("name") or ""), key="add-name")
        description = st.text_area("What it does", value=str(app.get("description") or ""), key="add-description",
                                   placeholder="e.g. Classifies support emails and drafts a reply for each kind.")
        tags = st.text_input("Tags (comma-separated)", key="add-tags", placeholder="e.g. email, classification")
        use_cases = st.text_input("Use cases (comma-separated, optional)", key="add-use-cases")
        levels = ["simple", "moderate", "complex"]
        complexity = st.selectbox("Complexity", levels, index=levels.index(guess_complexity(export)),
                                  key="add-complexity")
        if not st.form_submit_button("Add pattern", type="primary"):
            return None
    missing = [label for label, value in (("a name", name), ("a description", description)) if not value.strip()]
    if missing:
        st.error(f"The pattern needs {' and '.join(missing)}.")
        st.caption("Retrieval matches requirements against the name, description and use cases.")
        return None
    st.caption(f"Pattern id: `{pattern_id(name)}`")
    return pattern_from_export(export, name=name, description=description, tags=split_list(tags),
                               use_cases=split_list(use_cases), complexity=complexity)


def _add_text(library: PatternLibrary, text: str) -> None:
    try:
        added = library.add_user_pattern(text)
    except PatternError as exc:
        show_error(exc)
        if exc.findings:
            st.table(pd.DataFrame([{"code": f.code, "node id": f.node_id or "", "message": f.message,
                                    "hint": f.hint or ""} for f in exc.findings]), hide_index=True)
        return
    _done(f"Added user pattern {added.id} ({added.name}).")


def _statistics(library: PatternLibrary) -> None:
    stats = library.stats()
    a, b, c = st.columns(3)
    a.metric("Patterns", stats["total"])
    b.metric("Built-in", stats["by_source"].get("builtin", 0))
    c.metric("Yours", stats["by_source"].get("user", 0))
    left, right = st.columns(2)
    left.plotly_chart(fig_counts(stats["by_node_type"], title="Patterns using each node type"), width="stretch")
    right.plotly_chart(fig_counts(stats["by_tag"], title="Patterns by tag"), width="stretch")
    left.plotly_chart(fig_counts(stats["by_mode"], title="By app mode"), width="stretch")
    right.plotly_chart(fig_counts(stats["by_complexity"], title="By complexity"), width="stretch")


try:
    lib = get_library(settings)
except PatternError as exc:
    show_error(exc)
    st.stop()
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")
browse, search, add, statistics = st.tabs(["Browse", "Search", "Add a pattern", "Statistics"])
with browse:
    _browse(lib)
with search:
    _search(lib)
with add:
    _add(lib)
with statistics:
    _statistics(lib)
