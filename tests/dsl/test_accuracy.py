"""Validator accuracy on shapes real exports have: no false errors or warnings, and the new warnings."""

from __future__ import annotations

from core.dsl import validate
from tests.dsl.fixtures import edge, edges_of, find, node, nodes_of, workflow_doc


def _codes(doc, code):
    return [f for f in validate(doc).findings if f.code == code]


def _aggregator(enabled: bool) -> dict:
    doc = workflow_doc()
    nodes_of(doc).append(node("agg", {
        "type": "variable-aggregator", "title": "Agg", "output_type": "string", "variables": [["llm", "text"]],
        "advanced_settings": {"group_enabled": enabled, "groups": [
            {"group_name": "g1", "output_type": "string", "groupId": "x", "variables": [["ghost", "text"]]}]}}))
    edges_of(doc).append(edge("llm", "agg"))
    find(doc, "end")["data"]["outputs"].append({"variable": "agg", "value_selector": ["agg", "output"]})
    edges_of(doc).append(edge("agg", "end"))
    return doc


def test_aggregator_groups_are_not_checked_when_grouping_is_off():
    assert [f.code for f in validate(_aggregator(False)).errors] == []
    assert any(f.code == "DSL501" for f in validate(_aggregator(True)).errors)  # on: the ghost ref is an error


def _branches(handle_b: str) -> dict:
    """start -> if-else -> (true) end_a / (handle_b) end_b, both writing ``output``."""
    doc = workflow_doc()
    nodes = nodes_of(doc)
    nodes.append(node("ie", {"type": "if-else", "title": "If", "cases": [
        {"case_id": "true", "logical_operator": "and", "conditions": [
            {"id": "c", "variable_selector": ["llm", "text"], "comparison_operator": "contains", "value": "x",
             "varType": "string"}]}]}))
    find(doc, "end")["data"]["outputs"] = [{"variable": "output", "value_selector": ["llm", "text"]}]
    nodes.append(node("end_b", {"type": "end", "title": "End B",
                                "outputs": [{"variable": "output", "value_selector": ["llm", "text"]}]}))
    edges = edges_of(doc)
    edges[:] = [edges[0], edge("llm", "ie"), edge("ie", "end", "true"), edge("ie", "end_b", handle_b)]
    return doc


def test_end_nodes_on_exclusive_branches_may_share_output_names():
    assert _codes(_branches("false"), "DSL110") == []


def test_end_nodes_that_can_both_run_share_a_name_is_one_warning_with_the_right_count():
    doc = _branches("true")  # both ends hang off the same handle: they run in parallel
    nodes_of(doc).append(node("end_c", {"type": "end", "title": "End C",
                                        "outputs": [{"variable": "output", "value_selector": ["llm", "text"]}]}))
    edges_of(doc).append(edge("ie", "end_c", "true"))
    found = _codes(doc, "DSL110")
    assert len(found) == 1 and "3 End outputs" in found[0].message, [f.message for f in found]


def test_a_name_repeated_inside_one_end_node_is_still_a_warning():
    doc = workflow_doc()
    find(doc, "end")["data"]["outputs"].append({"variable": "out", "value_selector": ["llm", "text"]})
    assert len(_codes(doc, "DSL110")) == 1
