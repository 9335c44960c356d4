"""One small hand-made document per rule code that triggers it; every registered code must have one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from core.dsl import validate
from core.dsl.rules import RULES
from core.dsl.validator import validate_file
from tests.dsl.fixtures import chat_doc, edge, edges_of, find, node, nodes_of, with_iteration, workflow_doc


def _wf(change: Callable[[dict], object]) -> Callable[[], dict]:
    def build() -> dict:
        doc = workflow_doc()
        change(doc)
        return doc
    return build


def _chat(change: Callable[[dict], object]) -> Callable[[], dict]:
    def build() -> dict:
        doc = chat_doc()
        change(doc)
        return doc
    return build


def _iter(change: Callable[[dict], object]) -> Callable[[], dict]:
    def build() -> dict:
        doc = with_iteration(workflow_doc())
        change(doc)
        return doc
    return build


def _set(path: list, value: object) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _node_data(node_id: str, **values) -> Callable[[dict], None]:
    return lambda doc: find(doc, node_id)["data"].update(values)


def _add_node(new: dict, *new_edges: dict) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        nodes_of(doc).append(new)
        edges_of(doc).extend(new_edges)
    return change


def _loop_doc(doc: dict) -> None:
    nodes_of(doc).extend([
        node("loop", {"type": "loop", "title": "Loop", "start_node_id": "loopstart", "loop_count": 3,
                      "break_conditions": [], "logical_operator": "and"}),
        {"id": "loopstart", "type": "custom-loop-start", "parentId": "loop",
         "data": {"type": "loop-start", "title": "", "isInLoop": True}},
    ])
    edges_of(doc).append(edge("llm", "loop"))


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(7))

CASES: dict[str, list[tuple[str, Callable[[], object]]]] = {
    "DSL001": [("not yaml", lambda: "app: {mode: workflow\n  - [")],
    "DSL002": [("over 10 MB", lambda: "a: " + "x" * (10 * 1024 * 1024 + 1))],
    "DSL003": [("alias bomb", lambda: BOMB)],
    "DSL001.": [("tag misfit", lambda: "app: !!bool right\n"), ("bad timestamp", lambda: "x: !!timestamp 688")],
    "DSL005": [("fifo", lambda: _special("fifo")), ("symlink loop", lambda: _special("loop")),
               ("dangling symlink", lambda: _special("dangling")), ("folder", lambda: _special("folder"))],
    "DSL004": [("a list", lambda: "- a\n- b\n"), ("a scalar", lambda: "hello"), ("empty", lambda: "")],
    "DSL010": [("float version", _wf(_set(["version"], 0.6)))],
    "DSL011": [("bad version", _wf(_set(["version"], "latest")))],
    "DSL012": [("newer", _wf(_set(["version"], "0.9.0"))), ("older minor", _wf(_set(["version"], "0.1.5")))],
    "DSL013": [("no version", _wf(lambda d: d.pop("version")))],
    "DSL020": [("kind", _wf(_set(["kind"], "workflow")))],
    "DSL021": [("no app", _wf(lambda d: d.pop("app")))],
    "DSL022": [("bad mode", _wf(_set(["app", "mode"], "chatflow"))), ("no mode", _wf(lambda d: d["app"].pop("mode")))],
    "DSL023": [("chat app", _wf(_set(["app", "mode"], "chat")))],
    "DSL024": [("name int", _wf(_set(["app", "name"], 42))), ("icon", _wf(_set(["app", "icon_type"], "svg")))],
    "DSL030": [("no workflow", _wf(lambda d: d.pop("workflow")))],
    "DSL031": [("nodes dict", _wf(_set(["workflow", "graph", "nodes"], {}))), ("graph list", _wf(_set(["workflow", "graph"], [])))],
    "DSL032": [("features", _wf(_set(["workflow", "features"], {"text_to_speech": {"enabled": "yes"}}))),
               ("opening", _chat(_set(["workflow", "features"], {"opening_statement": 3})))],
    "DSL033": [("dependency", _wf(_set(["dependencies"], [{"type": "pypi", "value": "openai"}])))],
    "DSL040": [("file var", _wf(_set(["workflow", "environment_variables"], [{"name": "f", "value_type": "file", "value": None}]))),
               ("object not dict", _chat(_set(["workflow", "conversation_variables"], [{"name": "o", "value_type": "object", "value": []}])))],
    "DSL041": [("dup env", _wf(lambda d: d["workflow"]["environment_variables"].append(
        {"name": "API_KEY", "value_type": "string", "value": "x"})))],
    "DSL042": [("conv in workflow", _wf(_set(["workflow", "conversation_variables"], [{"name": "h", "value_type": "string", "value": ""}])))],
    "DSL100": [("no data", _wf(lambda d: nodes_of(d).append({"id": "x", "type": "custom"})))],
    "DSL101": [("int id", _wf(lambda d: nodes_of(d).append(node(5, {"type": "code", "title": "x"}))))],
    "DSL102": [("dup id", _wf(lambda d: nodes_of(d).append(node("llm", dict(find(d, "llm")["data"])))))],
    "DSL103": [("wrapper", _wf(lambda d: find(d, "llm").update(type="llm")))],
    "DSL104": [("unknown type", _wf(_node_data("llm", type="gpt")))],
    "DSL105": [("no title", _wf(lambda d: find(d, "llm")["data"].pop("title")))],
    "DSL106": [("no model", _wf(lambda d: find(d, "llm")["data"].pop("model")))],
    "DSL107": [("bad model mode", _wf(lambda d: find(d, "llm")["data"]["model"].update(mode="turbo")))],
    "DSL108": [("context list", _wf(_node_data("llm", context=[])))],
    "DSL109": [("empty answer", _chat(_node_data("answer", answer=" ")))],
    "DSL110": [("dup end output", _wf(_add_node(
        node("end2", {"type": "end", "title": "End 2", "outputs": [{"variable": "out", "value_selector": ["llm", "text"]}]}),
        edge("llm", "end2"))))],
    "DSL111": [("undeclared plugin", _wf(_add_node(
        node("tool", {"type": "tool", "title": "Search", "provider_id": "duckduckgo", "provider_type": "builtin",
                      "provider_name": "duckduckgo", "tool_name": "ddgo_search", "tool_label": "Search",
                      "tool_parameters": {}, "tool_configurations": {}}), edge("llm", "tool"))))],
    "DSL112": [("placeholder dataset", _wf(_add_node(
        node("kr", {"type": "knowledge-retrieval", "title": "KB", "query_variable_selector": ["start", "q"],
                    "dataset_ids": ["your-dataset-id"], "retrieval_mode": "multiple"}), edge("start", "kr"))))],
    "DSL113": [("number read as string", _wf(_add_node(
        node("ie", {"type": "if-else", "title": "If", "cases": [{"case_id": "true", "logical_operator": "and",
             "conditions": [{"id": "c", "variable_selector": ["llm", "text"], "comparison_operator": ">",
                             "value": "3", "varType": "number"}]}]}), edge("llm", "ie"))))],
    "DSL114": [("query twice", _chat(lambda d: find(d, "llm")["data"].update(
        memory={"query_prompt_template": "{{#sys.query#}}", "window": {"enabled": False, "size": 10}},
        prompt_template=[{"role": "system", "text": "Help."}, {"role": "user", "text": "{{#sys.query#}}"}])))],
    "DSL200": [("int source", _wf(lambda d: edges_of(d).append({"source": 1, "target": "end"}))),
               ("not mapping", _wf(lambda d: edges_of(d).append("edge")))],
    "DSL201": [("ghost source", _wf(lambda d: edges_of(d).append(edge("ghost", "end"))))],
    "DSL202": [("ghost target", _wf(lambda d: edges_of(d).append(edge("llm", "ghost"))))],
    "DSL203": [("note", _wf(lambda d: (nodes_of(d).append({"id": "note", "type": "custom-note", "data": {"type": ""}}),
                                       edges_of(d).append(edge("llm", "note")))))],
    "DSL204": [("bad handle", _wf(lambda d: edges_of(d)[1].update(sourceHandle="true")))],
    "DSL205": [("target handle", _wf(lambda d: edges_of(d)[1].update(targetHandle="source")))],
    "DSL206": [("into start", _wf(lambda d: edges_of(d).append(edge("llm", "start"))))],
    "DSL207": [("out of loop-end", _wf(lambda d: (_loop_doc(d), _add_node(
        node("lend", {"type": "loop-end", "title": "Stop"}, parentId="loop"),
        edge("loopstart", "lend"), edge("lend", "loopstart"))(d))))],
    "DSL208": [("cross container", _iter(lambda d: edges_of(d).append(edge("child", "end"))))],
    "DSL209": [("stale type", _wf(lambda d: edges_of(d)[0]["data"].update(targetType="code")))],
    "DSL210": [("dup edge", _wf(lambda d: edges_of(d).append(edge("llm", "end"))))],
    "DSL211": [("dup edge id", _wf(lambda d: edges_of(d).append({**edge("start", "end"), "id": edges_of(d)[0]["id"]})))],
    "DSL300": [("no nodes", _wf(_set(["workflow", "graph"], {"nodes": [], "edges": []})))],
    "DSL301": [("no start", _wf(lambda d: (nodes_of(d).pop(0), edges_of(d).pop(0))))],
    "DSL302": [("two starts", _wf(_add_node(node("start2", {"type": "start", "title": "S2"}), edge("start2", "end"))))],
    "DSL303": [("start + trigger", _wf(_add_node(node("cron", {"type": "trigger-schedule", "title": "Cron"}),
                                                 edge("cron", "llm"))))],
    "DSL304": [("cycle", _wf(lambda d: edges_of(d).append(edge("end", "llm"))))],
    "DSL305": [("orphan", _wf(_add_node(node("lonely", dict(find(workflow_doc(), "llm")["data"])))))],
    "DSL306": [("child orphan", _iter(lambda d: edges_of(d).pop()))],
    "DSL307": [("deep", _wf(lambda d: (
        nodes_of(d).extend(node(f"t{i}", {"type": "template-transform", "title": f"T{i}", "variables": [],
                                          "template": "x"}) for i in range(55)),
        edges_of(d).extend([edge("start", "t0")] + [edge(f"t{i}", f"t{i + 1}") for i in range(54)]
                           + [edge("t54", "end")]))))],
    "DSL400": [("parent llm", _wf(lambda d: find(d, "end").update(parentId="llm")))],
    "DSL401": [("flag without parent", _iter(lambda d: find(d, "child").pop("parentId"))),
               ("id mismatch", _iter(_node_data("child", iteration_id="other")))],
    "DSL402": [("flags missing", _iter(lambda d: [find(d, "child")["data"].pop(k) for k in ("isInIteration", "iteration_id")]))],
    "DSL403": [("start id unknown", _iter(_node_data("iter", start_node_id="nowhere")))],
    "DSL404": [("wrapper of start child", _iter(lambda d: find(d, "iterstart").update(type="custom")))],
    "DSL405": [("end in iteration", _iter(lambda d: find(d, "end").update(parentId="iter")))],
    "DSL406": [("loop-end outside", _wf(_add_node(node("lend", {"type": "loop-end", "title": "Stop"}), edge("llm", "lend"))))],
    "DSL500": [("short selector", _wf(lambda d: find(d, "end")["data"]["outputs"][0].update(value_selector=["llm"])))],
    "DSL501": [("ghost node", _wf(lambda d: find(d, "end")["data"]["outputs"][0].update(value_selector=["ghost", "text"]))),
               ("ghost template", _chat(_node_data("answer", answer="{{#ghost.text#}}")))],
    "DSL502": [("downstream", _wf(lambda d: find(d, "llm")["data"]["prompt_template"][0].update(text="{{#end.out#}}")))],
    "DSL503": [("no output", _wf(lambda d: find(d, "end")["data"]["outputs"][0].update(value_selector=["llm", "output"])))],
    "DSL504": [("sys.query in workflow", _wf(lambda d: find(d, "end")["data"]["outputs"][0].update(
        value_selector=["sys", "query"])))],
    "DSL505": [("env", _chat(_node_data("answer", answer="{{#env.NOPE#}}")))],
    "DSL506": [("conversation", _chat(_node_data("answer", answer="{{#conversation.nope#}}")))],
    "DSL507": [("uuid id", _chat(_node_data("answer", answer="{{#3f2a-41c9.text#}}")))],
    "DSL600": [("end in chat", _chat(_add_node(
        node("end", {"type": "end", "title": "E", "outputs": [{"variable": "o", "value_selector": ["llm", "text"]}]}),
        edge("llm", "end"))))],
    "DSL601": [("answer in workflow", _wf(_add_node(node("ans", {"type": "answer", "title": "A", "answer": "hi"}),
                                                    edge("llm", "ans"))))],
    "DSL602": [("trigger in chat", _chat(_add_node(node("hook", {"type": "trigger-webhook", "title": "Hook"}))))],
    "DSL603": [("no answer", _chat(lambda d: (nodes_of(d).pop(2), edges_of(d).pop(1))))],
}


def _special(kind: str) -> Path:
    """A path that is not a regular file (for DSL005, which only file-based checks report)."""
    path = Path(tempfile.mkdtemp(prefix="dsl005-")) / "flow.yml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "dangling":
        path.symlink_to(path.with_name("gone.yml"))
    else:
        path.mkdir()
    return path


def test_every_rule_has_a_fixture():
    assert sorted(RULES) == sorted(code for code in CASES if not code.endswith("."))


def test_fixtures_are_clean():
    for build in (workflow_doc, chat_doc, lambda: with_iteration(workflow_doc())):
        assert validate(build()).findings == []


@pytest.mark.parametrize(("code", "label", "build"),
                         [(code, label, build) for code, cases in CASES.items() for label, build in cases])
def test_rule_triggers(code, label, build):
    code = code.rstrip(".")  # "DSL001." holds more cases of DSL001
    source = build()
    report = validate_file(source) if isinstance(source, Path) else validate(source)
    found = [f for f in report.findings if f.code == code]
    assert found, f"{code} ({label}) not reported; got {[(f.code, f.message) for f in report.findings]}"
    assert all(f.severity in ("error", "warning", "info") and f.message and f.path.startswith("$") for f in found)
    assert not [f for f in report.findings if f.code == "DSL999"], "a rule crashed"


def test_rule_docs_have_all_sections():
    for entry in RULES.values():
        for section in ("What it does:", "Why is this bad:", "Example:", "Fix:"):
            assert section in entry.doc, f"{entry.code} docstring lacks {section!r}"


def test_rules_doc_is_up_to_date():
    from core.dsl.rules.docs import DOC_PATH, render

    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run: python -m core.dsl.rules.docs"


def test_a_declared_type_that_is_not_a_string_does_not_crash_the_condition_rule():
    """Found by the property test: a code output whose `type` is a list made DSL113 hash it (DSL999)."""
    doc = workflow_doc()
    nodes_of(doc).append(node("code", {"type": "code", "title": "Code", "code_language": "python3",
                                       "code": "def main():\n    return {'n': 1}", "variables": [],
                                       "outputs": {"n": {"type": [None], "children": None}}}))
    nodes_of(doc).append(node("ie", {"type": "if-else", "title": "If", "cases": [
        {"case_id": "true", "logical_operator": "and",
         "conditions": [{"id": "c", "variable_selector": ["code", "n"], "comparison_operator": ">", "value": "3",
                         "varType": "number"}]}]}))
    edges_of(doc).extend([edge("llm", "code"), edge("code", "ie")])
    report = validate(doc)
    assert not [f for f in report.findings if f.code == "DSL999"], [f.message for f in report.findings]
    start = find(doc, "start")["data"]
    start["variables"] = [{"variable": "n", "label": "N", "type": ["text-input"], "required": True}]
    find(doc, "ie")["data"]["cases"][0]["conditions"][0]["variable_selector"] = ["start", "n"]
    report = validate(doc)
    assert not [f for f in report.findings if f.code == "DSL999"], [f.message for f in report.findings]
