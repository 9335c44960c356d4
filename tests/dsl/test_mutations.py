"""Mutation test: inject one known defect at a time into the real corpus and check the validator catches it.

A mutant counts as caught when the validator reports an error-level finding on the mutated node (or on
the document, for document-level defects). The rate is printed per kind and must reach 98%.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from core.dsl import load_dsl, validate
from core.dsl.models import NODE_DATA_MODELS, node_data_model
from core.dsl.rules.references import FIXED_OUTPUTS, _selector_fields

SITES_PER_FILE = 2
Mutant = tuple[dict, set]  # (mutated document, ids of the nodes the defect is on; empty = document level)


def _graph(doc: dict) -> dict:
    return doc["workflow"]["graph"]


def _nodes(doc: dict) -> list[dict]:
    return [n for n in _graph(doc)["nodes"] if n.get("type") != "custom-note"]


def _by_id(doc: dict) -> dict[str, dict]:
    return {n["id"]: n for n in _nodes(doc)}


def _successors(doc: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for edge in _graph(doc)["edges"]:
        out.setdefault(edge["source"], []).append(edge["target"])
    return out


def _descendants(doc: dict, node_id: str) -> set[str]:
    succ, seen, stack = _successors(doc), set(), list(_successors(doc).get(node_id, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(succ.get(current, ()))
    return seen


def _edge(source: str, target: str, handle: str = "source") -> dict:
    return {"id": f"{source}-{handle}-{target}-target", "source": source, "sourceHandle": handle,
            "target": target, "targetHandle": "target", "type": "custom", "data": {}}


def _mutate(doc: dict, fn: Callable[[dict], set | None]) -> Mutant | None:
    mutant = copy.deepcopy(doc)
    affected = fn(mutant)
    return None if affected is None else (mutant, affected)


def _top(doc: dict) -> list[dict]:
    return [n for n in _nodes(doc) if not n.get("parentId")]


# --- one generator per kind of defect: yields (mutant doc, affected node ids) --------------------------


def dangling_edge(doc: dict) -> Iterator[Mutant]:
    for i in range(min(SITES_PER_FILE, len(_graph(doc)["edges"]))):
        def fn(d, i=i):
            e = _graph(d)["edges"][i]
            e["target"] = "ghost_node_404"
            return {e["source"]}
        yield _mutate(doc, fn)


def edge_into_start(doc: dict) -> Iterator[Mutant]:
    start = next((n for n in _nodes(doc) if n["data"]["type"] == "start"), None)
    for node in [n for n in _top(doc) if n["data"]["type"] in ("llm", "code", "template-transform")][:SITES_PER_FILE]:
        def fn(d, src=node["id"]):
            _graph(d)["edges"].append(_edge(src, start["id"]))
            return {start["id"], src}
        if start:
            yield _mutate(doc, fn)


def wrong_handle(doc: dict) -> Iterator[Mutant]:
    by_id = _by_id(doc)
    edges = [i for i, e in enumerate(_graph(doc)["edges"])
             if by_id.get(e["source"], {}).get("data", {}).get("type") in ("if-else", "question-classifier", "llm", "code")]
    for i in edges[:SITES_PER_FILE]:
        def fn(d, i=i):
            e = _graph(d)["edges"][i]
            e["sourceHandle"] = "else" if e["sourceHandle"] != "else" else "otherwise"
            return {e["source"]}
        yield _mutate(doc, fn)


def cycle(doc: dict) -> Iterator[Mutant]:
    by_id = _by_id(doc)
    candidates = [e for e in _graph(doc)["edges"]
                  if by_id.get(e["source"], {}).get("data", {}).get("type") not in ("start", None)
                  and e["target"] in by_id]
    for edge in candidates[:SITES_PER_FILE]:
        def fn(d, s=edge["source"], t=edge["target"]):
            _graph(d)["edges"].append(_edge(t, s))
            return {s, t}
        yield _mutate(doc, fn)


def unreachable_node(doc: dict) -> Iterator[Mutant]:
    for node in [n for n in _top(doc) if n["data"]["type"] in ("llm", "code", "template-transform")][:SITES_PER_FILE]:
        def fn(d, node=node):
            orphan = copy.deepcopy(node)
            orphan["id"] = node["id"] + "orphan"
            _graph(d)["nodes"].append(orphan)
            return {orphan["id"]}
        yield _mutate(doc, fn)


def duplicate_node_id(doc: dict) -> Iterator[Mutant]:
    nodes = _top(doc)
    for a, b in list(zip(nodes, nodes[1:], strict=False))[:SITES_PER_FILE]:
        def fn(d, a=a["id"], b=b["id"]):
            next(n for n in _graph(d)["nodes"] if n.get("id") == b)["id"] = a
            return {a}
        yield _mutate(doc, fn)


def _required_fields(data: dict) -> list[str]:
    model = node_data_model(data["type"], data.get("version"))
    if model is None:
        return []
    return [name for name, field in model.model_fields.items() if field.is_required() and name in data and name != "type"]


def missing_required_field(doc: dict) -> Iterator[Mutant]:
    seen_types: set[str] = set()
    for node in _nodes(doc):
        fields = _required_fields(node["data"])
        if fields and node["data"]["type"] not in seen_types:
            seen_types.add(node["data"]["type"])
            def fn(d, node_id=node["id"], field=fields[0]):
                del _by_id(d)[node_id]["data"][field]
                return {node_id}
            yield _mutate(doc, fn)


ENUM_FIELDS = {
    "code": ("code_language",), "http-request": ("method",), "knowledge-retrieval": ("retrieval_mode",),
    "llm": ("model", "mode"), "parameter-extractor": ("model", "mode"), "question-classifier": ("model", "mode"),
    "tool": ("provider_type",), "iteration": ("error_handle_mode",),
}


def bad_enum_value(doc: dict) -> Iterator[Mutant]:
    sites = 0
    for node in _nodes(doc):
        node_type = node["data"]["type"]
        path = ENUM_FIELDS.get(node_type)
        if node_type == "if-else" and node["data"].get("cases") and node["data"]["cases"][0]["conditions"]:
            path = ("cases", 0, "conditions", 0, "comparison_operator")
        if node_type == "assigner" and node["data"].get("items"):
            path = ("items", 0, "operation")
        if path is None or sites >= SITES_PER_FILE:
            continue
        sites += 1
        def fn(d, node_id=node["id"], path=path):
            target = _by_id(d)[node_id]["data"]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = "bogus-value"
            return {node_id}
        yield _mutate(doc, fn)


def _selector_sites(doc: dict) -> list[tuple[str, str, list]]:
    """(node id, path suffix, selector) of node-headed selectors."""
    by_id, sites = _by_id(doc), []
    for node in _nodes(doc):
        for suffix, selector in _selector_fields(node["data"]):
            if isinstance(selector, list) and len(selector) >= 2 and selector[0] in by_id:
                sites.append((node["id"], suffix, selector))
    return sites


def _set_selector(d: dict, node_id: str, suffix: str, value: list) -> None:
    """Replace the selector at ``suffix`` (``.a[0].b``-style path) in the node's data."""


    target: object = _by_id(d)[node_id]["data"]
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"\.([^.\[]+)|\[(\d+)\]", suffix) for p in p if p]
    for key in parts[:-1]:
        target = target[key]
    target[parts[-1]] = value


def reference_missing_node(doc: dict) -> Iterator[Mutant]:
    for node_id, suffix, selector in _selector_sites(doc)[:SITES_PER_FILE]:
        yield _mutate(doc, lambda d, a=node_id, s=suffix, sel=selector: (
            _set_selector(d, a, s, ["ghost_node_404", *sel[1:]]), {a})[1])


def reference_missing_variable(doc: dict) -> Iterator[Mutant]:
    by_id = _by_id(doc)
    sites = [s for s in _selector_sites(doc) if by_id[s[2][0]]["data"]["type"] in FIXED_OUTPUTS
             or by_id[s[2][0]]["data"]["type"] in ("start", "code")]
    for node_id, suffix, selector in sites[:SITES_PER_FILE]:
        yield _mutate(doc, lambda d, a=node_id, s=suffix, sel=selector: (
            _set_selector(d, a, s, [sel[0], "no_such_output"]), {a})[1])


def reference_not_upstream(doc: dict) -> Iterator[Mutant]:
    by_id, count = _by_id(doc), 0
    for node_id, suffix, _ in _selector_sites(doc):
        later = [n for n in _descendants(doc, node_id) if by_id.get(n, {}).get("data", {}).get("type") == "llm"]
        if later and by_id[node_id]["data"]["type"] not in ("iteration", "loop") and count < SITES_PER_FILE:
            count += 1
            yield _mutate(doc, lambda d, a=node_id, s=suffix, t=later[0]: (_set_selector(d, a, s, [t, "text"]), {a})[1])


def template_missing_node(doc: dict) -> Iterator[Mutant]:
    for node in [n for n in _nodes(doc) if n["data"]["type"] == "answer"][:SITES_PER_FILE]:
        def fn(d, node_id=node["id"]):
            _by_id(d)[node_id]["data"]["answer"] += " {{#ghost_node_404.text#}}"
            return {node_id}
        yield _mutate(doc, fn)


def undeclared_env_variable(doc: dict) -> Iterator[Mutant]:
    for node in [n for n in _nodes(doc) if n["data"]["type"] == "llm"][:SITES_PER_FILE]:
        def fn(d, node_id=node["id"]):
            prompt = _by_id(d)[node_id]["data"]["prompt_template"]
            prompt[0]["text"] += " {{#env.NOT_DECLARED_KEY#}}"
            return {node_id}
        yield _mutate(doc, fn)


def end_in_advanced_chat(doc: dict) -> Iterator[Mutant]:
    if doc["app"]["mode"] != "advanced-chat":
        return
    for node in [n for n in _nodes(doc) if n["data"]["type"] == "answer"][:SITES_PER_FILE]:
        def fn(d, node_id=node["id"]):
            data = _by_id(d)[node_id]["data"]
            data.update(type="end", outputs=[])
            return {node_id}
        yield _mutate(doc, fn)


def answer_in_workflow(doc: dict) -> Iterator[Mutant]:
    if doc["app"]["mode"] != "workflow":
        return
    for node in [n for n in _nodes(doc) if n["data"]["type"] == "end"][:SITES_PER_FILE]:
        def fn(d, node_id=node["id"]):
            _by_id(d)[node_id]["data"].update(type="answer", answer="done")
            return {node_id}
        yield _mutate(doc, fn)


def no_start_node(doc: dict) -> Iterator[Mutant]:
    def fn(d):
        graph = _graph(d)
        starts = {n["id"] for n in graph["nodes"] if n.get("data", {}).get("type") == "start"}
        graph["nodes"] = [n for n in graph["nodes"] if n["id"] not in starts]
        graph["edges"] = [e for e in graph["edges"] if e["source"] not in starts]
        return set()
    yield _mutate(doc, fn)


def child_without_parent(doc: dict) -> Iterator[Mutant]:
    for node in [n for n in _nodes(doc) if n.get("parentId")][:SITES_PER_FILE]:
        def fn(d, node_id=node["id"]):
            del _by_id(d)[node_id]["parentId"]
            return {node_id}
        yield _mutate(doc, fn)


def sys_query_in_workflow(doc: dict) -> Iterator[Mutant]:
    if doc["app"]["mode"] != "workflow":
        return
    for node_id, suffix, _ in _selector_sites(doc)[:SITES_PER_FILE]:
        yield _mutate(doc, lambda d, a=node_id, s=suffix: (_set_selector(d, a, s, ["sys", "query"]), {a})[1])


def unknown_node_type(doc: dict) -> Iterator[Mutant]:
    for node in [n for n in _top(doc) if n["data"]["type"] in NODE_DATA_MODELS and n["data"]["type"] != "start"][:1]:
        def fn(d, node_id=node["id"]):
            _by_id(d)[node_id]["data"]["type"] = "gpt-magic"
            return {node_id}
        yield _mutate(doc, fn)


KINDS = [
    dangling_edge, edge_into_start, wrong_handle, cycle, unreachable_node, duplicate_node_id,
    missing_required_field, bad_enum_value, reference_missing_node, reference_missing_variable,
    reference_not_upstream, template_missing_node, undeclared_env_variable, end_in_advanced_chat,
    answer_in_workflow, no_start_node, child_without_parent, sys_query_in_workflow, unknown_node_type,
]


INTENDED = {
    "dangling_edge": "DSL202", "edge_into_start": "DSL206", "wrong_handle": "DSL204", "cycle": "DSL304",
    "unreachable_node": "DSL305", "duplicate_node_id": "DSL102", "missing_required_field": "DSL106",
    "bad_enum_value": "DSL107", "reference_missing_node": "DSL501", "reference_missing_variable": "DSL503",
    "reference_not_upstream": "DSL502", "template_missing_node": "DSL501", "undeclared_env_variable": "DSL505",
    "end_in_advanced_chat": "DSL600", "answer_in_workflow": "DSL601", "no_start_node": "DSL301",
    "child_without_parent": "DSL401", "sys_query_in_workflow": "DSL504", "unknown_node_type": "DSL104",
}
"""The rule each kind of defect is meant to trip (reported alongside the catch rate)."""


def _caught(doc: dict, affected: set) -> set[str]:
    """Codes of the error findings on the mutated node(s), or on the document for document-level defects."""
    errors = validate(doc).errors
    if not affected:
        return {f.code for f in errors if f.node_id is None}
    return {f.code for f in errors if f.node_id in affected}


@pytest.fixture(scope="session")
def corpus_docs(corpus_files) -> list[dict]:
    return [load_dsl(path.read_bytes()) for path in corpus_files]


def test_mutants_are_caught(corpus_docs):
    total, caught, intended, missed = Counter(), Counter(), Counter(), []
    for doc in corpus_docs:
        for kind in KINDS:
            for mutant in kind(doc):
                if mutant is None:
                    continue
                name = kind.__name__
                total[name] += 1
                codes = _caught(*mutant)
                caught[name] += bool(codes)
                intended[name] += INTENDED[name] in codes
                if not codes:
                    missed.append((name, doc["app"].get("name"), sorted(mutant[1])))
    lines = [f"{name:28s} {caught[name]:4d}/{total[name]:<4d} {caught[name] / total[name]:6.1%}"
             f"   by {INTENDED[name]}: {intended[name] / total[name]:6.1%}" for name in total]
    rate = sum(caught.values()) / sum(total.values())
    print("\nmutation kinds caught (error on the mutated node):\n" + "\n".join(lines)
          + f"\nTOTAL {sum(caught.values())}/{sum(total.values())} = {rate:.1%}")
    for miss in missed[:20]:
        print("  missed:", miss)
    assert len(total) >= 15
    assert sum(total.values()) >= 300
    assert rate >= 0.98
    assert sum(intended.values()) / sum(total.values()) >= 0.95
