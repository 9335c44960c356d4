"""Small hand-built workflows for the test-run tests (each a complete Dify DSL document)."""

from __future__ import annotations

import copy


def node(node_id: str, node_type: str, title: str | None = None, **data) -> dict:
    return {"id": node_id, "type": "custom", "position": {"x": 0, "y": 0},
            "data": {"type": node_type, "title": title or node_id, **data}}


def edge(source: str, target: str, handle: str = "source") -> dict:
    return {"id": f"{source}-{handle}-{target}", "source": source, "sourceHandle": handle, "target": target,
            "targetHandle": "target", "type": "custom", "data": {}}


def workflow(nodes: list[dict], edges: list[dict], *, mode: str = "workflow", **workflow_extra) -> dict:
    return {"app": {"mode": mode, "name": "test", "icon": "🤖", "description": ""}, "kind": "app", "version": "0.6.0",
            "workflow": {"graph": {"nodes": nodes, "edges": edges}, "features": {},
                         "environment_variables": [], "conversation_variables": [], **workflow_extra}}


def start(*variables: dict) -> dict:
    return node("start", "start", "Start", variables=list(variables))


def text_input(name: str, kind: str = "text-input", **extra) -> dict:
    return {"variable": name, "label": name, "type": kind, "required": True, **extra}


def end(*outputs: tuple[str, list[str]]) -> dict:
    return node("end", "end", "End", outputs=[{"variable": v, "value_selector": s} for v, s in outputs])


def code(node_id: str, source: str, variables: dict[str, list[str]], outputs: dict[str, str], language="python3"):
    return node(node_id, "code", code=source, code_language=language,
                variables=[{"variable": k, "value_selector": v} for k, v in variables.items()],
                outputs={k: {"type": t, "children": None} for k, t in outputs.items()})


def llm(node_id: str, prompt: str, *, memory: dict | None = None, system: str = "You are helpful.") -> dict:
    data = {"model": {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}},
            "prompt_template": [{"role": "system", "text": system}, {"role": "user", "text": prompt}],
            "context": {"enabled": False, "variable_selector": []}, "vision": {"enabled": False}}
    if memory is not None:
        data["memory"] = memory
    return node(node_id, "llm", **data)


def code_workflow(source: str, *, language: str = "python3", outputs: dict[str, str] | None = None) -> dict:
    """start(text) -> code(main(text)) -> end(result)."""
    outputs = outputs or {"result": "string"}
    first = next(iter(outputs))
    return workflow([start(text_input("text", "paragraph")),
                     code("code", source, {"text": ["start", "text"]}, outputs, language),
                     end(("result", ["code", first]))],
                    [edge("start", "code"), edge("code", "end")])


def list_operator_on_objects() -> dict:
    """A code node returns array[object] and a list operator filters it (graphon refuses objects)."""
    source = "def main(text: str) -> dict:\n    return {'items': [{'name': 'a'}, {'name': 'b'}]}\n"
    op = node("filter", "list-operator", "Filter items", variable=["code", "items"],
              filter_by={"enabled": False, "conditions": []}, order_by={"enabled": False, "key": "", "value": "asc"},
              limit={"enabled": True, "size": 1}, extract_by={"enabled": False, "serial": "1"})
    return workflow([start(text_input("text")), code("code", source, {"text": ["start", "text"]}, {"items": "array[object]"}),
                     op, end(("first", ["filter", "result"]))],
                    [edge("start", "code"), edge("code", "filter"), edge("filter", "end")])


def json_loads_free_text() -> dict:
    return code_workflow("import json\n\ndef main(text: str) -> dict:\n    data = json.loads(text)\n"
                         "    return {'result': str(data.get('title'))}\n")


def dangling_branch() -> dict:
    """An if-else whose false branch ends at an LLM node that reaches no End."""
    check = node("check", "if-else", "Long?", cases=[{
        "case_id": "true", "logical_operator": "and",
        "conditions": [{"id": "c1", "variable_selector": ["start", "text"], "comparison_operator": "contains",
                        "value": "urgent", "varType": "string"}]}])
    return workflow([start(text_input("text")), check, llm("reply", "Reply to {{#start.text#}}"),
                     llm("other", "Summarise {{#start.text#}}"), end(("answer", ["reply", "text"]))],
                    [edge("start", "check"), edge("check", "reply", "true"), edge("check", "other", "false"),
                     edge("reply", "end")])


def duplicated_query() -> dict:
    """A chat LLM node with {{#sys.query#}} in its prompt and memory's query_prompt_template sending it again."""
    memory = {"query_prompt_template": "{{#sys.query#}}", "window": {"enabled": True, "size": 10},
              "role_prefix": {"user": "", "assistant": ""}}
    answer = node("answer", "answer", "Answer", answer="{{#llm.text#}}")
    return workflow([start(), llm("llm", "Question: {{#sys.query#}}", memory=memory), answer],
                    [edge("start", "llm"), edge("llm", "answer")], mode="advanced-chat")


def mutate(doc: dict, fn) -> dict:
    doc = copy.deepcopy(doc)
    fn(doc)
    return doc


def endless_loop(rounds: int = 100000) -> dict:
    """A loop whose break condition nothing ever meets, with a huge round limit."""
    loop = node("loop", "loop", "Forever", start_node_id="loop_start", loop_count=rounds, logical_operator="and",
                break_conditions=[{"id": "b1", "variable_selector": ["start", "text"], "comparison_operator": "is",
                                   "value": "never", "varType": "string"}], loop_variables=[])
    inner_start = node("loop_start", "loop-start", "Loop start", isInLoop=True, loop_id="loop")
    inner_start["parentId"] = "loop"
    body = node("body", "template-transform", "Body", template="round", variables=[], isInLoop=True, loop_id="loop")
    body["parentId"] = "loop"
    return workflow([start(text_input("text")), loop, inner_start, body, end(("done", ["start", "text"]))],
                    [edge("start", "loop"), edge("loop_start", "body"), edge("loop", "end")])


def edge_cycle() -> dict:
    """Two template nodes that feed each other forever (no loop node)."""
    a = node("a", "template-transform", "A", template="a", variables=[])
    b = node("b", "template-transform", "B", template="b", variables=[])
    return workflow([start(text_input("text")), a, b, end(("x", ["a", "output"]))],
                    [edge("start", "a"), edge("a", "b"), edge("b", "a"), edge("b", "end")])
