"""A test run's result as data: per branch run, per node, and runtime findings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from core.dsl.findings import Finding

Status = Literal["succeeded", "failed", "error"]
"""``succeeded``: every covered branch ran to an end; ``failed``: a run failed or a finding is an
error; ``error``: the workflow could not be run at all (graphon cannot build it)."""

MAX_VALUE_CHARS = 2000


def truncate(value: Any, limit: int = MAX_VALUE_CHARS) -> Any:
    """A JSON-ready copy of ``value`` with long strings and big containers cut down."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"... [{len(value) - limit} more characters]"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): truncate(v, limit) for k, v in items[:50]}
        if len(items) > 50:
            out["..."] = f"{len(items) - 50} more keys"
        return out
    if isinstance(value, list | tuple):
        out = [truncate(v, limit) for v in list(value)[:50]]
        if len(value) > 50:
            out.append(f"... {len(value) - 50} more items")
        return out
    to_dict = getattr(value, "to_dict", None) or getattr(value, "model_dump", None)
    if callable(to_dict):
        try:
            return truncate(to_dict(), limit)
        except Exception:  # noqa: BLE001 - fall through to str()
            pass
    return truncate(str(value), limit)


@dataclass
class NodeTrace:
    """One node execution in one branch run.

    Attributes:
        node_id, node_type, title: which node.
        status: ``succeeded``, ``failed``, ``exception`` (failed but handled by its error strategy)
            or ``running`` (started, never finished: the run was stopped).
        inputs, outputs: what it read and wrote (truncated).
        error: graphon's error text when it failed.
        stub: ``True`` when the node is one of our stand-ins (knowledge retrieval, agent, tool): its
            outputs are canned, not real results.
        elapsed_ms: wall time of the node.
        parent_id: the iteration or loop it ran inside, if any.
    """

    node_id: str
    node_type: str
    title: str
    status: str
    inputs: Any = None
    outputs: Any = None
    error: str | None = None
    stub: bool = False
    elapsed_ms: float = 0.0
    parent_id: str | None = None

    def to_dict(self) -> dict:
        return {
            "node_id": self.node_id, "node_type": self.node_type, "title": self.title, "status": self.status,
            "inputs": self.inputs, "outputs": self.outputs, "error": self.error, "stub": self.stub,
            "elapsed_ms": round(self.elapsed_ms, 2), "parent_id": self.parent_id,
        }


@dataclass
class BranchRun:
    """One execution of the workflow in graphon with one choice of branches.

    Attributes:
        label: which branches this run steered (``default`` for the first run).
        status: ``succeeded``, ``failed``, ``aborted`` (step/time limit) or ``partial`` (a node failed
            but its error strategy handled it).
        nodes: node executions in the order they finished.
        outputs: the workflow's final outputs (End node outputs; answers for chat apps).
        error: the run's error text, if any.
        elapsed_ms: wall time.
        tokens: tokens the model hook reported.
    """

    label: str
    status: str
    nodes: list[NodeTrace] = field(default_factory=list)
    outputs: Any = None
    error: str | None = None
    elapsed_ms: float = 0.0
    tokens: int = 0

    def to_dict(self) -> dict:
        return {"label": self.label, "status": self.status, "nodes": [n.to_dict() for n in self.nodes],
                "outputs": self.outputs, "error": self.error, "elapsed_ms": round(self.elapsed_ms, 2),
                "tokens": self.tokens}


@dataclass
class TestRunReport:
    """Everything one test run found.

    Attributes:
        status: see ``Status``.
        runs: one entry per branch run (the first is the default run).
        findings: runtime findings (``DSL7xx``), in the validator's ``Finding`` format.
        inputs: the inputs used (synthesized ones included), JSON-ready.
        synthesized: names of inputs that were made up.
        stubbed: node ids that ran as stubs.
        uncovered: branch outcomes that could not be steered (``node_id: handle``).
        engine: ``graphon <version>``.
        elapsed_ms: wall time of the whole test run.
        provider: ``offline`` or the provider the model hook called.
        live_http: whether HTTP requests were real.
    """

    __test__ = False  # not a pytest class

    status: Status
    runs: list[BranchRun] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    synthesized: list[str] = field(default_factory=list)
    stubbed: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    engine: str = ""
    elapsed_ms: float = 0.0
    provider: str = "offline"
    live_http: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.runs)

    @property
    def outputs(self) -> Any:
        """The default run's final outputs."""
        return self.runs[0].outputs if self.runs else None

    def node_status(self) -> dict[str, str]:
        """Per node id, its best status over all branch runs (``succeeded`` beats ``failed``)."""
        rank = {"succeeded": 0, "exception": 1, "failed": 2, "running": 3}
        best: dict[str, str] = {}
        for run in self.runs:
            for node in run.nodes:
                if node.node_id not in best or rank.get(node.status, 9) < rank.get(best[node.node_id], 9):
                    best[node.node_id] = node.status
        return best

    def summary(self) -> str:
        """One line: status, branch runs, nodes, findings."""
        nodes = len(self.node_status())
        errors = len(self.errors)
        return (f"test run {self.status}: {len(self.runs)} branch run(s), {nodes} node(s) reached, "
                f"{errors} error(s), {len(self.findings) - errors} other finding(s)")

    def to_dict(self) -> dict:
        return {
            "status": self.status, "summary": self.summary(), "engine": self.engine,
            "elapsed_ms": round(self.elapsed_ms, 2), "provider": self.provider, "live_http": self.live_http,
            "inputs": self.inputs, "synthesized": self.synthesized, "stubbed": self.stubbed,
            "uncovered": self.uncovered, "tokens": self.tokens,
            "findings": [f.to_dict() for f in self.findings], "runs": [r.to_dict() for r in self.runs],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str)
