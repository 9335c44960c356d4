"""The graph preview and the analytics figures, built without streamlit."""

from __future__ import annotations

import yaml

from core.charts import HIGHLIGHT_COLOUR, fig_workflow_graph, layout_workflow
from tests.conftest import CORPUS_DIR


def _load(name: str) -> dict:
    return yaml.safe_load((CORPUS_DIR / name).read_text(encoding="utf-8"))


def test_every_corpus_file_gets_a_graph_with_all_its_nodes(corpus_files):
    for path in corpus_files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        nodes, edges = layout_workflow(doc)
        raw = doc["workflow"]["graph"]["nodes"]
        assert len(nodes) == len(raw), path.name
        fig = fig_workflow_graph(doc)
        plotted = sum(len(t.x) for t in fig.data if t.mode == "markers+text")
        assert plotted == len(raw), path.name


def test_layout_runs_left_to_right_along_edges():
    doc = _load("Claude3 Code Translation.yml")
    nodes, edges = layout_workflow(doc)
    x = {n.id: n.x for n in nodes}
    start = next(n for n in nodes if n.type == "start")
    assert x[start.id] == 0
    assert all(x[e.target] > x[e.source] for e in edges)


def test_classifier_edges_carry_class_names_and_if_else_edges_their_branch():
    nodes, edges = layout_workflow(_load("根据用户的意图进行回复.yml"))
    labels = {e.label for e in edges if e.label}
    assert {"健康咨询", "使用帮助"} <= labels
    _, edges = layout_workflow(_load("translation_workflow.yml"))
    assert {"IF", "ELSE"} <= {e.label for e in edges if e.label}


def test_nodes_with_findings_are_ringed_and_the_legend_names_types():
    doc = _load("SEO Slug Generator.yml")
    nodes, _ = layout_workflow(doc)
    target = nodes[1]
    fig = fig_workflow_graph(doc, {target.id})
    trace = next(t for t in fig.data if t.name == target.type)
    index = [c[0] for c in trace.customdata].index(target.id)
    assert trace.marker.line.width[index] > 0 and trace.marker.line.color == HIGHLIGHT_COLOUR
    others = [t for t in fig.data if t.mode == "markers+text" and t.name != target.type]
    assert all(max(t.marker.line.width) == 0 for t in others)
    assert {t.name for t in fig.data if t.mode == "markers+text"} == {n.type for n in nodes}
    assert any(t.name == "has findings" for t in fig.data)


def test_a_document_without_a_graph_gives_a_note_not_an_error():
    fig = fig_workflow_graph({"app": {"mode": "workflow"}})
    assert fig.layout.annotations[0].text == "This document has no workflow graph."
    assert fig_workflow_graph({"workflow": {"graph": {"nodes": "junk", "edges": None}}}).data == ()


def test_dangling_edges_and_cycles_do_not_break_the_layout():
    doc = {"workflow": {"graph": {
        "nodes": [{"id": "a", "data": {"type": "start", "title": "A"}},
                  {"id": "b", "data": {"type": "llm", "title": "B"}},
                  {"id": "c", "data": {"type": "llm", "title": "C"}}],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"},
                  {"source": "c", "target": "b"}, {"source": "a", "target": "ghost"}]}}}
    nodes, edges = layout_workflow(doc)
    assert len(nodes) == 3 and len(edges) == 3
    fig_workflow_graph(doc)
