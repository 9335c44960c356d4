"""Run a workflow in graphon's ``GraphEngine``, once per steerable branch, and report what happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphon.entities.graph_init_params import GraphInitParams
from graphon.graph_engine.layers.execution_limits import ExecutionLimitsLayer
from graphon.graph_events.graph import (
    GraphRunAbortedEvent,
    GraphRunFailedEvent,
    GraphRunPartialSucceededEvent,
    GraphRunSucceededEvent,
)
from graphon.graph_events.node import (
    NodeRunExceptionEvent,
    NodeRunFailedEvent,
    NodeRunStartedEvent,
    NodeRunSucceededEvent,
)
from graphon.runtime.variable_pool import VariablePool

from core.testrun.http import CannedHttp
from core.testrun.inputs import RunInputs, SampleFile
from core.testrun.model import CallLog, Complete, Steering
from core.testrun.report import BranchRun, NodeTrace, truncate
from core.testrun.runtime import (
    STUB_TYPES,
    Budget,
    FileStore,
    Services,
    activate_store,
    build_engine,
    container_of,
    subgraph,
)
from core.testrun.sandbox import SandboxLimits, SubprocessSandbox

_RUN_LOCK = threading.Lock()
"""graphon's file runtime is process-global: one test run at a time per process."""


@dataclass(frozen=True)
class Limits:
    """Hard limits of one branch run.

    Attributes:
        max_steps: node executions (child-engine starts count too).
        max_time_s: wall time of one branch run.
        sandbox: limits of each code execution.
    """

    max_steps: int = 500
    max_time_s: float = 30.0
    sandbox: SandboxLimits = SandboxLimits()


@dataclass
class Pass:
    """One branch run's raw facts, for the findings rules."""

    run: BranchRun
    calls: CallLog
    pool: VariablePool | None
    handles: dict[str, str]
    budget: Budget
    query: str | None


def _pool(doc: Mapping[str, Any], start_id: str | None, inputs: RunInputs, files: FileStore, chat: bool) -> VariablePool:
    pool = VariablePool()
    wf = doc.get("workflow") or {}

    def value(v: Any) -> Any:
        if isinstance(v, SampleFile):
            return files.add(v.name, v.mime_type, v.content, v.kind)
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    system = {"files": [], "user_id": "testrun-user", "app_id": "testrun-app", "workflow_id": "testrun-workflow",
              "workflow_run_id": "testrun-run", "timestamp": int(time.time())}
    if chat:
        system.update(query=inputs.query or "", conversation_id="testrun-conversation", dialogue_count=1)
    for key, v in system.items():
        pool.add(("sys", key), v)
    for var in wf.get("environment_variables") or []:
        if isinstance(var, Mapping) and var.get("name"):
            secret = var.get("value_type") == "secret"
            pool.add(("env", str(var["name"])), "test-secret" if secret else var.get("value", ""))
    for var in wf.get("conversation_variables") or []:
        if isinstance(var, Mapping) and var.get("name"):
            pool.add(("conversation", str(var["name"])), _typed(var))
    if start_id:
        for name, v in inputs.values.items():
            pool.add((start_id, name), value(v))
    return pool


def _typed(var: Mapping[str, Any]) -> Any:
    kind, v = str(var.get("value_type") or "string"), var.get("value")
    defaults: dict[str, Any] = {"number": 0, "integer": 0, "float": 0.0, "boolean": False, "object": {}}
    if kind.startswith("array"):
        return v if isinstance(v, list) else []
    if kind in defaults:
        return v if v is not None and not isinstance(v, str) or (kind == "object" and isinstance(v, dict)) else defaults[kind]
    return "" if v is None else str(v)


def _titles(graph: Mapping[str, Any]) -> dict[str, tuple[str, str, str | None]]:
    """Node id -> (type, title, container) for the trace."""
    out = {}
    for n in graph.get("nodes") or []:
        if isinstance(n, Mapping) and isinstance(n.get("data"), Mapping):
            out[str(n.get("id"))] = (str(n["data"].get("type")), str(n["data"].get("title") or n.get("id")),
                                     container_of(n))
    return out


def run_once(doc: Mapping[str, Any], inputs: RunInputs, steering: Steering, *, label: str, chat: bool,
             start_id: str, http: Any = None, complete: Complete | None = None, limits: Limits = Limits()) -> Pass:
    """Execute the workflow once in graphon and trace every node.

    Raises:
        Exception: graphon could not build the graph (bad node data, unsupported type); the caller
            turns it into a finding.
    """
    graph = (doc.get("workflow") or {}).get("graph") or {}
    titles = _titles(graph)
    files = FileStore()
    budget = Budget(limits.max_steps, limits.max_time_s)
    services = Services(steering=steering, calls=CallLog(), http=http or CannedHttp(),
                        sandbox=SubprocessSandbox(limits.sandbox), files=files, budget=budget, chat=chat,
                        complete=complete)
    with _RUN_LOCK:
        activate_store(files)
        try:
            return _execute(graph, titles, inputs, services, label=label, start_id=start_id, doc=doc, limits=limits)
        finally:
            activate_store(None)


def _execute(graph, titles, inputs, services: Services, *, label, start_id, doc, limits: Limits) -> Pass:  # noqa: C901
    started = time.perf_counter()
    pool = _pool(doc, start_id, inputs, services.files, services.chat)
    params = GraphInitParams(workflow_id="testrun", graph_config=graph, run_context={}, call_depth=0)
    engine = build_engine(init_params=params, level=subgraph(graph, None), root_id=start_id, pool=pool,
                          services=services)
    engine.layer(ExecutionLimitsLayer(max_steps=limits.max_steps, max_time=int(max(1, limits.max_time_s))))
    run = BranchRun(label=label, status="running")
    open_nodes: dict[str, NodeTrace] = {}
    handles: dict[str, str] = {}
    watchdog = threading.Timer(limits.max_time_s, lambda: engine.request_abort("time limit"))
    watchdog.daemon = True
    watchdog.start()
    try:
        for event in engine.run():
            if isinstance(event, NodeRunStartedEvent):
                services.budget.step()
                if services.budget.exceeded:
                    engine.request_abort(services.budget.exceeded)
                kind, title, parent = titles.get(event.node_id, (str(event.node_type), event.node_id, None))
                trace = NodeTrace(node_id=event.node_id, node_type=kind, title=title, status="running",
                                  stub=kind in STUB_TYPES, parent_id=event.in_iteration_id or event.in_loop_id or parent)
                trace.elapsed_ms = time.perf_counter()
                open_nodes[event.id] = trace
                run.nodes.append(trace)
            elif isinstance(event, NodeRunSucceededEvent | NodeRunFailedEvent | NodeRunExceptionEvent):
                trace = open_nodes.pop(event.id, None)
                if trace is None:
                    continue
                result = event.node_run_result
                trace.elapsed_ms = (time.perf_counter() - trace.elapsed_ms) * 1000
                if event.start_at and event.finished_at:  # graphon's own timing of the node
                    trace.elapsed_ms = (event.finished_at - event.start_at).total_seconds() * 1000
                trace.inputs = truncate(dict(result.inputs or {}))
                trace.outputs = truncate(dict(result.outputs or {}))
                if isinstance(event, NodeRunSucceededEvent):
                    trace.status = "succeeded"
                    handles[event.node_id] = result.edge_source_handle or "source"
                else:
                    trace.status = "failed" if isinstance(event, NodeRunFailedEvent) else "exception"
                    trace.error = str(event.error or result.error)
                    if isinstance(event, NodeRunExceptionEvent):
                        handles[event.node_id] = result.edge_source_handle or "fail-branch"
            elif isinstance(event, GraphRunSucceededEvent):
                run.status, run.outputs = "succeeded", truncate(dict(event.outputs or {}))
            elif isinstance(event, GraphRunPartialSucceededEvent):
                run.status, run.outputs = "partial", truncate(dict(event.outputs or {}))
            elif isinstance(event, GraphRunFailedEvent):
                run.status, run.error = "failed", event.error
            elif isinstance(event, GraphRunAbortedEvent):
                run.status = "aborted"
                run.error = services.budget.exceeded or _limit_reason(event.reason, limits)
                run.outputs = truncate(dict(event.outputs or {}))
    except Exception as exc:  # noqa: BLE001 - graphon re-raises the run's error after its failed event
        if run.status == "running":
            run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        watchdog.cancel()
    for trace in open_nodes.values():
        trace.elapsed_ms = (time.perf_counter() - trace.elapsed_ms) * 1000
    if services.budget.exceeded and run.status != "aborted":
        run.status, run.error = "aborted", services.budget.exceeded
    if run.status == "running":
        run.status = "failed"
        run.error = run.error or "the engine stopped without a final event"
    run.elapsed_ms = (time.perf_counter() - started) * 1000
    run.tokens = sum(c.prompt_tokens + c.completion_tokens for c in services.calls.calls)
    return Pass(run=run, calls=services.calls, pool=pool, handles=handles, budget=services.budget,
                query=inputs.query)


def _limit_reason(reason: str | None, limits: Limits) -> str:
    text = str(reason or "")
    if "step" in text.lower():
        return f"step limit: more than {limits.max_steps} node executions"
    if "time" in text.lower():
        return f"time limit: ran longer than {limits.max_time_s:g} s"
    return text or "aborted"

