"""validate() never raises, reports everything in one pass, and ranks a headline; the report's shape."""

from __future__ import annotations

import pytest

from core.dsl import Finding, ValidationReport, validate
from tests.dsl.fixtures import edge, edges_of, find, workflow_doc
from tests.dsl.test_rules import BOMB

BAD_INPUTS = {
    "not yaml": ("app: [unclosed", "DSL001"),
    "list": ("- 1\n- 2", "DSL004"),
    "scalar": ("42", "DSL004"),
    "empty": ("", "DSL004"),
    "binary": (bytes(range(256)), "DSL001"),
    "non-string version": ("version: 0.6\napp: {mode: workflow}\nworkflow: {graph: {nodes: [], edges: []}}", "DSL010"),
    "unknown mode": ("version: '0.6.0'\napp: {mode: robot}", "DSL022"),
    "alias bomb": (BOMB, "DSL003"),
    "over 10 MB": ("a: " + "x" * (10 * 1024 * 1024), "DSL002"),
    "dict not yaml": ({"app": "nope"}, "DSL021"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_gives_a_clear_finding(name):
    source, code = BAD_INPUTS[name]
    report = validate(source)
    assert not report.valid
    finding = next(f for f in report.findings if f.code == code)
    assert finding.severity == "error" and len(finding.message) > 10
    assert report.headline() is not None


@pytest.mark.parametrize("mode", ["chat", "agent-chat", "completion"])
def test_non_workflow_modes_get_an_info(mode):
    report = validate({"version": "0.6.0", "kind": "app", "app": {"mode": mode, "name": "x"}, "model_config": {}})
    assert report.valid
    assert [f.code for f in report.findings] == ["DSL023"] and report.findings[0].severity == "info"
    assert report.app_mode == mode


def test_reports_every_problem_in_one_pass():
    doc = workflow_doc()
    edges_of(doc).append(edge("llm", "ghost"))
    find(doc, "llm")["data"]["model"]["mode"] = "turbo"
    find(doc, "end")["data"]["outputs"][0]["value_selector"] = ["sys", "query"]
    codes = {f.code for f in validate(doc).errors}
    assert {"DSL202", "DSL107", "DSL504"} <= codes


def test_target_version_setting():
    doc = workflow_doc()
    doc["version"] = "0.7.0"
    assert [f.code for f in validate(doc).findings] == ["DSL012"]
    assert validate(doc, target_version="0.7.0").findings == []


def test_headline_ranks_errors_first_and_ignores_order():
    findings = [
        Finding("DSL012", "warning", "old version"),
        Finding("DSL503", "error", "no such output", "llm", "$.workflow.graph.nodes[1].data.x"),
        Finding("DSL201", "error", "dangling", None, "$.workflow.graph.edges[0]"),
    ]
    assert ValidationReport(findings).headline().code == "DSL201"
    assert ValidationReport(list(reversed(findings))).headline().code == "DSL201"
    assert ValidationReport([]).headline() is None


def test_report_shape():
    doc = workflow_doc()
    edges_of(doc).append(edge("llm", "ghost"))
    report = validate(doc)
    data = report.to_dict(file="x.yml")
    assert data["file"] == "x.yml" and data["valid"] is False and data["app_mode"] == "workflow"
    assert data["version"] == "0.6.0"
    assert set(data["findings"][0]) == {"code", "severity", "node_id", "path", "message", "hint"}
    assert report.errors and not report.warnings and not report.infos
    assert report.doc is doc


def test_uuid_node_ids_are_legal():
    doc = workflow_doc()
    uid = "3f2a9c1e-41c9-4bde-9f1a-0c2d3e4f5a6b"
    find(doc, "llm")["id"] = uid
    for e in edges_of(doc):
        e["source"] = uid if e["source"] == "llm" else e["source"]
        e["target"] = uid if e["target"] == "llm" else e["target"]
    find(doc, "end")["data"]["outputs"][0]["value_selector"] = [uid, "text"]
    assert validate(doc).findings == []


def test_graph_helpers():
    from core.dsl.graph import node_types, nodes_by_id

    doc = workflow_doc()
    assert node_types(doc) == ["start", "llm", "end"]
    assert set(nodes_by_id(doc)) == {"start", "llm", "end"}
    assert node_types("junk") == [] and nodes_by_id(None) == {}


def test_loop_break_condition_on_its_own_variable_is_fine():
    from tests.dsl.fixtures import node, nodes_of

    doc = workflow_doc()
    nodes_of(doc).extend([
        node("loop", {"type": "loop", "title": "Loop", "start_node_id": "loopstart", "loop_count": 3,
                      "logical_operator": "and",
                      "loop_variables": [{"label": "review", "var_type": "string", "value_type": "constant", "value": ""}],
                      "break_conditions": [{"variable_selector": ["loop", "review"], "comparison_operator": "contains",
                                            "value": "OK"}]}),
        {"id": "loopstart", "type": "custom-loop-start", "parentId": "loop",
         "data": {"type": "loop-start", "title": "", "isInLoop": True}},
    ])
    edges_of(doc)[1:] = [edge("llm", "loop"), edge("loop", "end")]
    assert validate(doc).findings == []
    find(doc, "loop")["data"]["break_conditions"][0]["variable_selector"] = ["loop", "nope"]
    assert [f.code for f in validate(doc).findings] == ["DSL503"]


def test_a_pattern_file_given_as_a_dsl_gets_a_hint_to_its_dsl_part():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "patterns" / "quiz-generator.yaml").read_text(encoding="utf-8")
    finding = next(f for f in validate(text).errors if f.code == "DSL021")
    assert "pattern file" in finding.hint and "`dsl:`" in finding.hint
