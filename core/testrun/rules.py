"""DSL7xx: runtime findings, from running the workflow in Dify's own engine (graphon).

Each rule reads the facts of a test run (every branch run's node trace, the variable pool, the
model calls) and yields ``Issue``s, which become ``Finding``s in the validator's format. The rules
are documented in docs/rules.md, generated from these docstrings like the static rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.dsl.findings import Finding, Severity
from core.dsl.rules._registry import Issue, Rule

RUNTIME_RULES: dict[str, Rule] = {}
"""Every runtime rule by code (``DSL7xx``)."""


def runtime_rule(code: str, severity: Severity) -> Callable:
    """Register a runtime check under ``code``; the function's name becomes the rule name."""

    def register(check: Callable[..., Iterator[Issue]]) -> Callable[..., Iterator[Issue]]:
        if code in RUNTIME_RULES:
            raise ValueError(f"runtime rule code {code} registered twice")
        RUNTIME_RULES[code] = Rule(code=code, name=check.__name__.replace("_", "-"), severity=severity, check=check)
        return check

    return register


@dataclass
class RunFacts:
    """What the rules read.

    Attributes:
        doc: the workflow document.
        passes: every branch run (``engine.Pass``).
        build_error: why graphon could not build the graph (``None`` when it could).
        unsupported: node types graphon has no class for.
        start_id: the start node id.
        chat: advanced-chat app.
        uncovered: branch outcomes no run took and none could be steered to.
    """

    doc: Mapping[str, Any]
    passes: list[Any] = field(default_factory=list)
    build_error: str | None = None
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    start_id: str | None = None
    chat: bool = False
    uncovered: list[Any] = field(default_factory=list)
    not_runnable: str | None = None

    @property
    def nodes(self) -> list[Mapping[str, Any]]:
        graph = (self.doc.get("workflow") or {}).get("graph") or {}
        return [n for n in graph.get("nodes") or [] if isinstance(n, Mapping) and isinstance(n.get("data"), Mapping)
                and n.get("type") != "custom-note"]

    def path_of(self, node_id: str) -> str:
        graph = (self.doc.get("workflow") or {}).get("graph") or {}
        for i, n in enumerate(graph.get("nodes") or []):
            if isinstance(n, Mapping) and n.get("id") == node_id:
                return f"$.workflow.graph.nodes[{i}]"
        return "$.workflow.graph"

    def data_of(self, node_id: str) -> Mapping[str, Any]:
        return next((n["data"] for n in self.nodes if n.get("id") == node_id), {})


def _label(facts: RunFacts, node_id: str) -> str:
    data = facts.data_of(node_id)
    return f"{data.get('type', 'node')} '{data.get('title') or node_id}'"


@runtime_rule("DSL700", "error")
def graph_not_buildable(facts: RunFacts) -> Iterator[Issue]:
    """Dify's engine could not build the workflow's graph.

    What it does: builds the graph with graphon's `Graph.init` and its node classes, as Dify does before a run.
    Why is this bad: Dify refuses to run it; the user sees an error before any node starts.
    Example: a node whose `data` fails graphon's model (a `code` node without `code_language`), or no start node.
    Fix: correct the node named in the message; the validator's findings usually point at the same field.
    """
    if facts.not_runnable:
        yield Issue(facts.not_runnable, hint="Only workflow and advanced-chat apps have a graph to run.")
    elif facts.build_error:
        yield Issue(f"Dify's engine (graphon) cannot build this workflow: {facts.build_error}",
                    path="$.workflow.graph", hint="Fix the node data named in the error and run it again.")


@runtime_rule("DSL701", "error")
def node_type_unsupported(facts: RunFacts) -> Iterator[Issue]:
    """A node type Dify's engine has no class for.

    What it does: looks every node type up in graphon's node registry (stubs cover knowledge retrieval, agent and tool).
    Why is this bad: the engine cannot create the node, so the workflow cannot run in this Dify version.
    Example: `type: trigger-webhook` in a workflow run, or a misspelt `type: llm-node`.
    Fix: use a node type Dify has (see DSL_SPEC section 3), or install the plugin that provides it.
    """
    for node_id, node_type in facts.unsupported:
        yield Issue(f"Node {node_id!r} has type {node_type!r}, which Dify's engine has no class for.",
                    path=facts.path_of(node_id) + ".data.type", node_id=node_id,
                    hint="Use one of Dify's node types, or remove the node.")


def _failures(facts: RunFacts, types: set[str] | None = None, exclude: set[str] | None = None):
    seen = set()
    for p in facts.passes:
        for n in p.run.nodes:
            if n.status not in ("failed", "exception") or n.node_id in seen:
                continue
            if types is not None and n.node_type not in types:
                continue
            if exclude is not None and n.node_type in exclude:
                continue
            seen.add(n.node_id)
            yield p, n


def _object_list_input(facts: RunFacts, p: Any, trace: Any) -> bool:
    """Whether the list operator's input variable held an ``array[object]`` on that run."""
    selector = facts.data_of(trace.node_id).get("variable")
    if p.pool is None or not isinstance(selector, list) or len(selector) < 2:
        return False
    try:
        segment = p.pool.get([str(s) for s in selector])
    except Exception:  # noqa: BLE001 - a malformed selector is the validator's business
        return False
    return segment is not None and str(getattr(segment.value_type, "value", segment.value_type)) == "array[object]"


@runtime_rule("DSL702", "error")
def node_failed(facts: RunFacts) -> Iterator[Issue]:
    """A node failed when the workflow ran.

    What it does: runs the workflow in graphon with sample inputs and reports each node that failed, with graphon's error.
    Why is this bad: in Dify the run stops there (or takes the node's fail branch) and the user gets no answer.
    Example: a template-transform whose Jinja2 has a syntax error; an HTTP node whose URL is not http(s).
    Fix: read the error; fix the node's configuration or what feeds it.
    """
    for p, n in _failures(facts, exclude={"code", "list-operator"}):
        if p.run.status == "aborted" and p.run.error and p.run.error in str(n.error):
            continue  # stopped by the run's limit: DSL709 says so
        handled = n.status == "exception"
        yield Issue(f"{_label(facts, n.node_id)} failed on the {p.run.label} run: {n.error}"
                    + (" (its error strategy handled it)" if handled else ""),
                    path=facts.path_of(n.node_id), node_id=n.node_id, severity="warning" if handled else None,
                    hint="Fix the node's configuration or the values it receives.")
    for p, n in _failures(facts, types={"list-operator"}):
        if not _object_list_input(facts, p, n):
            yield Issue(f"{_label(facts, n.node_id)} failed on the {p.run.label} run: {n.error}",
                        path=facts.path_of(n.node_id), node_id=n.node_id, hint="Check the list it is given.")


@runtime_rule("DSL703", "error")
def code_raised(facts: RunFacts) -> Iterator[Issue]:
    """A code node raised (or broke the sandbox's limits) on the sample input.

    What it does: runs each code node's `main(...)` in a subprocess sandbox with Dify's contract and limits.
    Why is this bad: the same input in Dify fails the run; code that only works on one exact format breaks on real text.
    Example: `json.loads(text)` on a free-text input; a `main` that returns a string instead of a dict; a loop that never ends.
    Fix: parse defensively (try/except, fall back to a default), return a dict with the declared outputs, keep it fast.
    """
    for p, n in _failures(facts, types={"code"}):
        yield Issue(f"{_label(facts, n.node_id)} raised on the {p.run.label} run's input: {n.error}",
                    path=facts.path_of(n.node_id) + ".data.code", node_id=n.node_id,
                    hint="Make main() handle this input (validate and fall back) and return a dict of its outputs.")


@runtime_rule("DSL704", "error")
def list_operator_element_type(facts: RunFacts) -> Iterator[Issue]:
    """A list operator got a list of objects, which Dify's engine does not support.

    What it does: watches list-operator nodes at run time; graphon supports arrays of strings, numbers, booleans and files.
    Why is this bad: the node fails on `array[object]` (for example a code node's list of dicts), so the run stops.
    Example: a code node returns `{"items": [{"name": "a"}]}` typed `array[object]` and a list operator filters `items`.
    Fix: filter or sort in the code node itself, or output `array[string]` / `array[number]` for the list operator.
    """
    for p, n in _failures(facts, types={"list-operator"}):
        if _object_list_input(facts, p, n):
            yield Issue(f"{_label(facts, n.node_id)} was given a list of objects on the {p.run.label} run and failed: "
                        f"{n.error}", path=facts.path_of(n.node_id) + ".data.variable", node_id=n.node_id,
                        hint="Do the filtering in a code node, or give the list operator an array of strings/numbers.")


_END_TYPES = {"end", "answer"}


@runtime_rule("DSL705", "error")
def output_not_reaching_end(facts: RunFacts) -> Iterator[Issue]:
    """A branch ran to its last node without reaching an End (workflow) or Answer (chat) node.

    What it does: checks that every branch run executed an End node in workflow apps, or an Answer node in chat apps.
    Why is this bad: what that branch computed is never returned; the user gets an empty result.
    Example: an if-else whose `false` branch ends at an LLM node with no edge onward.
    Fix: connect the branch's last node to the End/Answer node (and reference its output there).
    """
    want = "answer" if facts.chat else "end"
    for p in facts.passes:
        if p.run.status not in ("succeeded", "partial"):
            continue
        ran = [n for n in p.run.nodes if n.status == "succeeded" and not n.parent_id]
        if not any(n.node_type == want for n in ran):
            last = ran[-1] if ran else None
            where = f" (it stopped after {_label(facts, last.node_id)})" if last else ""
            yield Issue(f"The {p.run.label} run finished without reaching an {want.title()} node{where}, so its "
                        "result is never returned.", path=facts.path_of(last.node_id) if last else "$",
                        node_id=last.node_id if last else None,
                        hint=f"Connect that branch to an {want.title()} node and output its result there.")


@runtime_rule("DSL706", "warning")
def node_never_reached(facts: RunFacts) -> Iterator[Issue]:
    """A node never ran on any branch the test run covered.

    What it does: after running once per steerable branch (every classifier class, every if-else case it can steer), lists nodes no run reached.
    Why is this bad: dead steps cost nothing but hide mistakes; usually a wrong handle or a missing edge.
    Example: an LLM node connected only from a classifier class id that no longer exists.
    Fix: connect it from the right branch, or delete it. When the message says a branch could not be steered, run it with inputs that take that branch.
    """
    if not facts.passes or facts.build_error:
        return
    reached = {n.node_id for p in facts.passes for n in p.run.nodes}
    if any(p.run.status in ("aborted", "failed") for p in facts.passes):
        return  # nodes after a failure did not run for that reason; the failure is the finding
    behind = _downstream(facts, facts.uncovered)
    for node in facts.nodes:
        nid, data = str(node.get("id")), node["data"]
        kind = str(data.get("type"))
        if nid in reached or nid in behind or kind in ("iteration-start", "loop-start", "loop-end") or not kind:
            continue
        yield Issue(f"{_label(facts, nid)} never ran on any covered branch.", path=facts.path_of(nid),
                    node_id=nid, hint="Connect it to the branch that should run it, or remove it.")


def _downstream(facts: RunFacts, outcomes: list[Any]) -> set[str]:
    """Nodes reachable from the given branch outcomes (their children in containers included)."""
    graph = (facts.doc.get("workflow") or {}).get("graph") or {}
    edges = [e for e in graph.get("edges") or [] if isinstance(e, Mapping)]
    todo = [str(e.get("target")) for e in edges for o in outcomes
            if e.get("source") == o.node_id and str(e.get("sourceHandle") or "source") == o.handle]
    found: set[str] = set()
    while todo:
        nid = todo.pop()
        if nid in found:
            continue
        found.add(nid)
        todo += [str(e.get("target")) for e in edges if e.get("source") == nid]
        from core.testrun.runtime import container_of

        todo += [str(n.get("id")) for n in facts.nodes if container_of(n) == nid]
    return found


_TEMPLATE = re.compile(r"\{\{#([^#{}\s]{1,200})#\}\}")


def _pool_has(pool, selector: list[str]) -> bool:
    try:
        return pool.get(selector[:2]) is not None
    except Exception:  # noqa: BLE001 - a malformed selector is the validator's business
        return True


@runtime_rule("DSL707", "error")
def reference_unresolved(facts: RunFacts) -> Iterator[Issue]:
    """An End or Answer node referred to a variable that had no value when it ran.

    What it does: after each branch run, checks every variable the End/Answer nodes output against graphon's variable pool.
    Why is this bad: the output is empty in Dify; typically it reads a node on another branch (which was skipped) or a misnamed variable.
    Example: an End output `{{#llm_b.text#}}` where `llm_b` is on the branch that did not run.
    Fix: give each branch its own End node, or join the branches with a variable aggregator and output that.
    """
    seen = set()
    for p in facts.passes:
        if p.pool is None:
            continue
        for n in p.run.nodes:
            if n.node_type not in _END_TYPES or n.status != "succeeded" or n.parent_id:
                continue
            data = facts.data_of(n.node_id)
            selectors = [o.get("value_selector") for o in data.get("outputs") or [] if isinstance(o, Mapping)]
            if n.node_type == "answer":
                selectors = [m.group(1).split(".") for m in _TEMPLATE.finditer(str(data.get("answer") or ""))]
            for sel in selectors:
                if not isinstance(sel, list) or len(sel) < 2 or sel[0] in ("sys", "env", "conversation"):
                    continue
                key = (n.node_id, tuple(sel))
                if key in seen or _pool_has(p.pool, [str(s) for s in sel]):
                    continue
                seen.add(key)
                yield Issue(f"{_label(facts, n.node_id)} outputs {'.'.join(map(str, sel))}, which had no value on the "
                            f"{p.run.label} run (node {sel[0]!r} did not run or has no such output).",
                            path=facts.path_of(n.node_id), node_id=n.node_id,
                            hint="Reference a node on every path to it, or join branches with a variable aggregator.")


@runtime_rule("DSL708", "warning")
def query_sent_twice(facts: RunFacts) -> Iterator[Issue]:
    """A chat LLM node sends the user's question to the model twice.

    What it does: inspects the prompt messages each LLM call received and counts the user's question in them.
    Why is this bad: with memory on, Dify appends `memory.query_prompt_template` (the question) as the last user message; a prompt that also contains `{{#sys.query#}}` repeats it, which confuses the model and costs tokens.
    Example: a user prompt `Answer: {{#sys.query#}}` in a node with `memory.query_prompt_template: '{{#sys.query#}}'`.
    Fix: keep the question in one place: remove `{{#sys.query#}}` from the prompt, or clear `query_prompt_template`.
    """
    seen = set()
    for p in facts.passes:
        query = (p.query or "").strip()
        if len(query) < 8:
            continue
        for call in p.calls.calls:
            if call.node_id in seen or facts.data_of(call.node_id).get("type") != "llm":
                continue
            count = sum(text.count(query) for _, text in call.messages)
            if count >= 2:
                seen.add(call.node_id)
                yield Issue(f"{_label(facts, call.node_id)} sent the user's question {count} times in one prompt.",
                            path=facts.path_of(call.node_id) + ".data.prompt_template", node_id=call.node_id,
                            hint="Remove {{#sys.query#}} from the prompt or clear memory.query_prompt_template.")


@runtime_rule("DSL709", "error")
def run_limit_exceeded(facts: RunFacts) -> Iterator[Issue]:
    """The run went past the test run's step or time limit and was stopped.

    What it does: bounds every run (node executions, iteration/loop rounds, wall time) and stops it at the limit.
    Why is this bad: in Dify the same workflow runs until its own limits and then fails; usually a loop that never meets its break condition or an edge cycle.
    Example: a loop whose break condition compares a variable nothing updates, with `loop_count: 100000`.
    Fix: give the loop a break condition its body can reach and a small `loop_count`; remove edge cycles.
    """
    for p in facts.passes:
        if p.run.status == "aborted":
            yield Issue(f"The {p.run.label} run was stopped: {p.run.error}.", path="$.workflow.graph",
                        hint="Check loops' break conditions and round limits, and edge cycles.")


@runtime_rule("DSL710", "error")
def run_failed(facts: RunFacts) -> Iterator[Issue]:
    """The run failed without a node to blame.

    What it does: reports a run that graphon ended with an error when no node failure explains it.
    Why is this bad: Dify's run fails the same way.
    Example: an engine error while routing between nodes.
    Fix: read the error; it names what graphon could not do.
    """
    for p in facts.passes:
        if p.run.status == "failed" and not any(n.status == "failed" for n in p.run.nodes):
            yield Issue(f"The {p.run.label} run failed: {p.run.error}", path="$.workflow.graph",
                        hint="Read the error; fix the graph it points at.")


def iter_runtime_findings(facts: RunFacts) -> Iterator[Finding]:
    """Every runtime rule, in code order; a rule that crashes becomes a ``DSL799`` error, never an exception."""
    for code in sorted(RUNTIME_RULES):
        entry = RUNTIME_RULES[code]
        try:
            for issue in entry.check(facts):
                yield Finding(code, issue.severity or entry.severity, issue.message, issue.node_id, issue.path,
                              issue.hint)
        except Exception as exc:  # noqa: BLE001 - findings must never raise on any run
            yield Finding("DSL799", "error", f"Runtime rule {code} ({entry.name}) crashed: {type(exc).__name__}: {exc}.",
                          None, "$", "This is a test-run bug; please report it with the file.")
