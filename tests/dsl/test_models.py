"""The typed models load every corpus document and node, keep editor-only keys, and accept legacy shapes."""

from __future__ import annotations

from core.dsl import load_dsl, validate
from core.dsl.models import (
    NODE_DATA_MODELS,
    DSLDocument,
    IfElseNodeData,
    ParameterExtractorNodeData,
    node_data_adapter,
    node_data_model,
)
from tests.dsl.fixtures import chat_doc, edge, edges_of, node, nodes_of, workflow_doc

MODEL = {"provider": "openai", "name": "gpt-4o", "mode": "chat"}


def test_corpus_documents_and_nodes_load_into_models(corpus_files):
    checked = 0
    for path in corpus_files:
        doc = load_dsl(path.read_bytes())
        typed = DSLDocument.model_validate(doc)
        assert typed.app.mode in ("workflow", "advanced-chat")
        for raw in typed.workflow.graph.nodes:
            model = node_data_model(raw.data.get("type"), raw.data.get("version"))
            if raw.type != "custom-note":
                assert model is not None, raw.data.get("type")
                node_data_adapter(model).validate_python(raw.data)
                checked += 1
    assert checked > 500


def test_every_spec_node_type_has_a_model():
    spec_types = {
        "start", "end", "answer", "llm", "knowledge-retrieval", "question-classifier", "if-else", "code",
        "template-transform", "http-request", "tool", "variable-aggregator", "variable-assigner", "assigner",
        "parameter-extractor", "iteration", "iteration-start", "loop", "loop-start", "loop-end",
        "document-extractor", "list-operator", "agent", "human-input", "trigger-webhook", "trigger-schedule",
        "trigger-plugin",
    }
    assert spec_types == set(NODE_DATA_MODELS)


def test_editor_only_keys_are_kept():
    data = IfElseNodeData.model_validate({"type": "if-else", "cases": [], "selected": True, "_targetBranches": [1]})
    assert data.model_extra == {"selected": True, "_targetBranches": [1]}


def test_legacy_if_else_without_cases():
    data = IfElseNodeData.model_validate({"type": "if-else", "logical_operator": "or", "conditions": [
        {"variable_selector": ["start", "q"], "comparison_operator": "contains", "value": "x"}]})
    assert data.cases is None and data.conditions[0].comparison_operator == "contains"
    doc = workflow_doc()
    nodes_of(doc).append(node("if", {"type": "if-else", "title": "If", "logical_operator": "and", "conditions": [
        {"variable_selector": ["start", "q"], "comparison_operator": "not empty"}]}))
    edges_of(doc)[1:] = [edge("llm", "if"), edge("if", "end", "true")]
    assert validate(doc).findings == []


def test_legacy_extractor_types_bool_and_select():
    data = ParameterExtractorNodeData.model_validate({
        "type": "parameter-extractor", "model": MODEL, "query": ["start", "q"], "parameters": [
            {"name": "ok", "type": "bool", "description": "", "required": True},
            {"name": "pick", "type": "select", "options": ["a", "b"], "description": "", "required": False}]})
    assert [p.type for p in data.parameters] == ["bool", "select"]


def test_assigner_version_selects_model():
    assert node_data_model("assigner", "2").__name__ == "AssignerV2NodeData"
    assert node_data_model("assigner", None).__name__ == "AssignerV1NodeData"


def test_notes_are_skipped():
    doc = chat_doc()
    nodes_of(doc).append({"id": "note1", "type": "custom-note", "data": {"type": "", "text": "hello", "theme": "blue"}})
    assert validate(doc).findings == []
