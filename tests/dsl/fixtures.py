"""Small hand-made DSL documents: a valid workflow, a valid advanced-chat app, and helpers to break them."""

from __future__ import annotations

import copy

LLM_DATA = {
    "type": "llm", "title": "LLM",
    "model": {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}},
    "prompt_template": [{"role": "system", "text": "Answer: {{#start.q#}}"}],
    "context": {"enabled": False, "variable_selector": []},
}


def node(node_id: str, data: dict, **extra) -> dict:
    return {"id": node_id, "type": "custom", "data": data, "position": {"x": 0, "y": 0}, **extra}


def edge(source: str, target: str, handle: str = "source", **data) -> dict:
    return {"id": f"{source}-{handle}-{target}-target", "type": "custom", "source": source, "sourceHandle": handle,
            "target": target, "targetHandle": "target", "data": data}


def workflow_doc() -> dict:
    """start -> llm -> end, workflow mode; validates with no errors and no warnings."""
    return copy.deepcopy({
        "version": "0.6.0", "kind": "app",
        "app": {"mode": "workflow", "name": "demo", "icon_type": "emoji"},
        "dependencies": [],
        "workflow": {
            "environment_variables": [{"name": "API_KEY", "value_type": "secret", "value": ""}],
            "conversation_variables": [],
            "features": {},
            "graph": {
                "nodes": [
                    node("start", {"type": "start", "title": "Start",
                                   "variables": [{"variable": "q", "label": "Q", "type": "text-input"}]}),
                    node("llm", LLM_DATA),
                    node("end", {"type": "end", "title": "End",
                                 "outputs": [{"variable": "out", "value_selector": ["llm", "text"]}]}),
                ],
                "edges": [edge("start", "llm", sourceType="start", targetType="llm"),
                          edge("llm", "end", sourceType="llm", targetType="end")],
            },
        },
    })


def chat_doc() -> dict:
    """start -> llm -> answer, advanced-chat mode, with one conversation variable."""
    doc = workflow_doc()
    doc["app"]["mode"] = "advanced-chat"
    graph = doc["workflow"]["graph"]
    graph["nodes"][2] = node("answer", {"type": "answer", "title": "Answer", "answer": "{{#llm.text#}}"})
    graph["edges"][1] = edge("llm", "answer", sourceType="llm", targetType="answer")
    doc["workflow"]["conversation_variables"] = [{"name": "history", "value_type": "string", "value": ""}]
    return doc


def nodes_of(doc: dict) -> list[dict]:
    return doc["workflow"]["graph"]["nodes"]


def edges_of(doc: dict) -> list[dict]:
    return doc["workflow"]["graph"]["edges"]


def find(doc: dict, node_id: str) -> dict:
    return next(n for n in nodes_of(doc) if n.get("id") == node_id)


def with_iteration(doc: dict) -> dict:
    """Insert an iteration (with iteration-start and one code child) between llm and the last node."""
    last = nodes_of(doc)[2]["id"]
    nodes_of(doc).extend([
        node("iter", {"type": "iteration", "title": "Each", "start_node_id": "iterstart",
                      "iterator_selector": ["code0", "items"], "output_selector": ["child", "result"]}),
        {"id": "iterstart", "type": "custom-iteration-start", "parentId": "iter",
         "data": {"type": "iteration-start", "title": "", "isInIteration": True}},
        node("child", {"type": "code", "title": "Child", "code_language": "python3", "code": "def main(x): ...",
                       "variables": [{"variable": "x", "value_selector": ["iter", "item"]}],
                       "outputs": {"result": {"type": "string"}},
                       "isInIteration": True, "iteration_id": "iter"}, parentId="iter"),
        node("code0", {"type": "code", "title": "Split", "code_language": "python3", "code": "def main(): ...",
                       "variables": [], "outputs": {"items": {"type": "array[string]"}}}),
    ])
    edges = edges_of(doc)
    edges[1] = edge("llm", "code0")
    edges.extend([edge("code0", "iter"), edge("iter", last), edge("iterstart", "child",
                                                                    isInIteration=True, iteration_id="iter")])
    return doc
