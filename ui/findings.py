"""Validation findings as the pages show them: a summary line, a table by severity, and the graph preview."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from core.charts import fig_workflow_graph
from core.dsl import ValidationReport
from core.dsl.graph import nodes_by_id

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(name: str, report: ValidationReport) -> str:
    """One line per file: valid or not, and the counts by severity."""
    counts = ", ".join(_count(n, word) for n, word in ((len(report.errors), "error"),
                                                       (len(report.warnings), "warning"), (len(report.infos), "note")))
    what = " · ".join(x for x in (report.app_mode, f"DSL {report.version}" if report.version else None) if x)
    verdict = "valid" if report.valid else "not valid"
    return f"**{name}**: {verdict} ({counts}){f' · {what}' if what else ''}"


_EDGE_PATH = re.compile(r"\.graph\.edges\[(\d+)\]")


def _edge_label(doc: dict, index: int, titles: dict[str, str]) -> str:
    """``Source title → Target title`` of edge ``index``, saying which end is missing or unknown."""
    edges = ((doc.get("workflow") or {}).get("graph") or {}).get("edges") or []
    edge = edges[index] if isinstance(edges, list) and index < len(edges) else None
    if not isinstance(edge, dict):
        return f"edge {index}"

    def end(value, word: str) -> str:
        if value is None or value == "":
            return f"(no {word})"
        return titles.get(str(value)) or f"(unknown node {str(value)!r})"

    return f"{end(edge.get('source'), 'source')} → {end(edge.get('target'), 'target')}"


def findings_frame(report: ValidationReport) -> pd.DataFrame:
    """The findings as a table, errors first, with each node's title next to its id; a finding on an
    edge names the titles of the nodes it connects (``Start → Draft reply``)."""
    titles = {}
    doc = report.doc if isinstance(report.doc, dict) else None
    if doc is not None:
        titles = {str(nid): str((node.get("data") or {}).get("title") or nid)
                  for nid, node in nodes_by_id(doc).items()}

    def where(f) -> str:
        edge = _EDGE_PATH.search(f.path or "")
        if edge and doc is not None:
            return _edge_label(doc, int(edge.group(1)), titles)
        return titles.get(str(f.node_id), "") if f.node_id else ""

    rows = [{"severity": f.severity, "code": f.code, "node": where(f),
             "node id": f.node_id or "", "message": f.message, "hint": f.hint or "", "path": f.path}
            for f in report.findings]
    frame = pd.DataFrame(rows, columns=["severity", "code", "node", "node id", "message", "hint", "path"])
    return frame.sort_values("severity", key=lambda s: s.map(SEVERITY_ORDER), kind="stable").reset_index(drop=True)


def render_report(name: str, report: ValidationReport, *, key: str) -> None:
    """Summary line, findings grouped by severity, and the graph with the nodes that have findings ringed."""
    icon = ":material/check_circle:" if report.valid else ":material/error:"
    st.markdown(f"{icon} {summary_line(name, report)}")
    headline = report.headline()
    if report.doc is None and headline is not None:  # it did not even load: say why, plainly
        st.error(headline.message)
        if headline.hint:
            st.caption(headline.hint)
        return
    frame = findings_frame(report)
    if frame.empty:
        st.caption("No findings.")
    else:
        for severity, group in frame.groupby("severity", sort=False):
            st.markdown(f"*{severity}* ({len(group)})")
            shown = group.drop(columns="severity").assign(  # the graph's path prefix says nothing; it only widens
                path=group["path"].str.replace("$.workflow.graph.", "", regex=False))
            st.table(shown, hide_index=True)  # wraps: no message or hint cut off
    if isinstance(report.doc, dict):
        marked = {str(f.node_id) for f in report.findings if f.node_id}
        st.plotly_chart(fig_workflow_graph(report.doc, marked), key=f"graph-{key}", width="stretch")
