"""Branch coverage: which branch outcomes exist, which a run took, and how to steer the next run.

A question classifier is steered through the stand-in model (it picks the class we ask for). An
if-else case is steered when its conditions read something we control: a start input, ``sys.query``,
an LLM node's text or a parameter extractor's parameter. Anything else (a code node's output, an
HTTP response) cannot be steered, and the outcome is reported as uncovered rather than guessed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.testrun.inputs import RunInputs
from core.testrun.model import Steering


@dataclass(frozen=True)
class Outcome:
    """One branch outcome: a node and the source handle it leaves by."""

    node_id: str
    handle: str
    node_type: str

    def __str__(self) -> str:
        return f"{self.node_id}:{self.handle}"


def outcomes(graph: Mapping[str, Any]) -> list[Outcome]:
    """Every outcome of every classifier and if-else node, in graph order."""
    found = []
    for node in graph.get("nodes") or []:
        data = node.get("data") if isinstance(node, Mapping) else None
        if not isinstance(data, Mapping):
            continue
        nid = str(node.get("id"))
        if data.get("type") == "question-classifier":
            for c in data.get("classes") or []:
                if isinstance(c, Mapping) and c.get("id") is not None:
                    found.append(Outcome(nid, str(c["id"]), "question-classifier"))
        elif data.get("type") == "if-else":
            for case in _cases(data):
                found.append(Outcome(nid, str(case.get("case_id") or case.get("id") or "true"), "if-else"))
            found.append(Outcome(nid, "false", "if-else"))
        if data.get("error_strategy") == "fail-branch":
            found.append(Outcome(nid, "fail-branch", str(data.get("type"))))
    return found


def _cases(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    cases = [c for c in data.get("cases") or [] if isinstance(c, Mapping)]
    if not cases and data.get("conditions"):
        cases = [{"case_id": "true", "conditions": data.get("conditions"),
                  "logical_operator": data.get("logical_operator", "and")}]
    return cases


def _value_for(op: str, value: Any, want: bool, kind: str) -> tuple[bool, Any]:  # noqa: C901 - operator table
    """A value making ``<var> op value`` come out ``want``; ``(False, None)`` when there is none."""
    text = "" if value is None else (value if isinstance(value, str) else str(value))
    other = "zzz unrelated"
    table_true = {
        "contains": text or "x", "start with": text + " and more", "end with": "more and " + text,
        "is": text, "not contains": other, "is not": other if text != other else "y",
        "empty": "", "not empty": "something", "null": None, "not null": "something",
    }
    table_false = {
        "contains": other, "start with": other, "end with": other, "is": other if text != other else "y",
        "not contains": text or "x", "is not": text, "empty": "something", "not empty": "", "null": "x",
        "not null": None,
    }
    if op in ("=", "≠", ">", "<", "≥", "≤"):
        try:
            n = float(text)
        except ValueError:
            return False, None
        n = int(n) if n.is_integer() else n
        truth = {"=": n, "≠": n + 1, ">": n + 1, "<": n - 1, "≥": n, "≤": n}
        falsity = {"=": n + 1, "≠": n, ">": n, "<": n, "≥": n - 1, "≤": n + 1}
        chosen = truth[op] if want else falsity[op]
        return True, chosen if kind == "number" else str(chosen)
    if op in ("in", "not in"):
        options = list(value) if isinstance(value, list) else [text]
        hit = op == "in"
        if want == hit:
            return bool(options), options[0] if options else None
        return True, other
    table = table_true if want else table_false
    if op in table:
        return True, table[op]
    return False, None


def steer(graph: Mapping[str, Any], goal: Outcome, start_id: str | None, inputs: RunInputs,
          base: Steering) -> tuple[RunInputs, Steering] | None:
    """Inputs and steering that should make the next run take ``goal``; ``None`` when not steerable."""
    nodes = {str(n.get("id")): n for n in graph.get("nodes") or [] if isinstance(n, Mapping)}
    steering = copy.deepcopy(base)
    new_inputs = copy.deepcopy(inputs)
    if goal.node_type == "question-classifier":
        steering.classes[goal.node_id] = goal.handle
        return new_inputs, steering
    if goal.node_type != "if-else":
        return None  # a fail branch: the stand-ins do not fail on purpose
    data = nodes[goal.node_id].get("data") or {}
    cases = _cases(data)
    if goal.handle == "false":
        plan = [(case, False) for case in cases]
    else:
        target = next((c for c in cases if str(c.get("case_id") or c.get("id") or "true") == goal.handle), None)
        if target is None:
            return None
        # Earlier cases win in Dify: make them false, then this one true.
        plan = [(c, False) for c in cases[: cases.index(target)]] + [(target, True)]
    for case, want in plan:
        conditions = [c for c in case.get("conditions") or [] if isinstance(c, Mapping)]
        if not conditions:
            return None
        conjunctive = str(case.get("logical_operator") or "and") == "and"
        # To make an and-case true (or an or-case false) every condition must go that way; otherwise one is enough.
        every = conjunctive == want
        chosen = conditions if every else conditions[:1]
        for cond in chosen:
            if not _set(cond, want, nodes, start_id, new_inputs, steering):
                return None
    return new_inputs, steering


def _set(cond: Mapping[str, Any], want: bool, nodes, start_id, inputs: RunInputs, steering: Steering) -> bool:
    selector = cond.get("variable_selector") or []
    if not isinstance(selector, list) or len(selector) < 2:
        return False
    source, name = str(selector[0]), str(selector[1])
    current = None
    kind = "string"
    if source == start_id and name in inputs.values:
        current = inputs.values[name]
        kind = "number" if isinstance(current, int | float) and not isinstance(current, bool) else "string"
    ok, value = _value_for(str(cond.get("comparison_operator") or "is"), cond.get("value"), want, kind)
    if not ok:
        return False
    if source == start_id and name in inputs.values and isinstance(current, str | int | float):
        inputs.values[name] = value
        return True
    if source == "sys" and name == "query" and inputs.query is not None:
        inputs.query = "" if value is None else str(value)
        return True
    node = nodes.get(source)
    data = (node or {}).get("data") or {}
    if data.get("type") == "llm" and name == "text":
        steering.texts[source] = "" if value is None else str(value)
        return True
    if data.get("type") == "parameter-extractor":
        steering.params.setdefault(source, {})[name] = value
        return True
    return False
