"""``test_run``: execute a workflow in Dify's own engine on every steerable branch and report it."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from core.dsl.graph import nodes_by_id
from core.dsl.io import load_dsl
from core.errors import InputError
from core.testrun.coverage import outcomes, steer
from core.testrun.engine import Limits, Pass, run_once
from core.testrun.http import CannedHttp, LiveHttp
from core.testrun.inputs import resolve_inputs
from core.testrun.model import Complete, Steering
from core.testrun.report import TestRunReport
from core.testrun.rules import RunFacts, iter_runtime_findings
from core.testrun.runtime import STUB_TYPES, graphon_version, node_classes

# graphon logs node failures with tracebacks; the report carries them as findings instead.
_graphon_log = logging.getLogger("graphon")
_graphon_log.addHandler(logging.NullHandler())
_graphon_log.propagate = False

MAX_BRANCH_RUNS = 8
RUNNABLE_MODES = ("workflow", "advanced-chat")


def _document(dsl: str | bytes | Mapping[str, Any]) -> dict:
    doc = load_dsl(dsl) if isinstance(dsl, str | bytes) else dsl
    if isinstance(doc, Mapping) and isinstance(doc.get("dsl"), Mapping) and "metadata" in doc:
        doc = doc["dsl"]  # a pattern file: metadata + dsl
    if not isinstance(doc, Mapping):
        raise InputError("The file is not a Dify DSL document (expected a YAML mapping with app and workflow).",
                         hint="Export the app from Dify (Export DSL) and use that file.")
    return dict(doc)


def _unsupported(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    known = node_classes()
    out = []
    for nid, node in nodes_by_id(doc).items():
        kind = str((node.get("data") or {}).get("type") or "")
        if node.get("type") == "custom-note" or not kind:
            continue
        if kind not in known and kind not in STUB_TYPES:
            out.append((nid, kind))
    return out


def test_run(
    dsl: str | bytes | Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    *,
    model: Complete | None = None,
    http: Any = None,
    live_http: bool = False,
    limits: Limits | None = None,
    cover_branches: bool = True,
    max_branch_runs: int = MAX_BRANCH_RUNS,
    provider: str = "offline",
) -> TestRunReport:
    """Execute a workflow in graphon's ``GraphEngine`` and report per node, per branch, with findings.

    Args:
        dsl: the workflow (YAML text or bytes, a parsed document, or a pattern file's mapping).
        inputs: start input values by name (``sys.query`` for the chat question); missing ones are
            synthesized from the start variables.
        model: a real model call for LLM nodes (see ``model.provider_completer``); ``None`` answers
            offline and deterministically.
        http: an ``HttpClientProtocol`` to use; default canned responses, or live ones with ``live_http``.
        live_http: send the HTTP nodes' requests for real.
        limits: step, time and sandbox limits per branch run.
        cover_branches: run again for every classifier class and if-else case that can be steered.
        max_branch_runs: most branch runs (the default run included).
        provider: name of the provider behind ``model``, for the report.

    Returns:
        The report; it never raises for a workflow that cannot run (that is a finding).

    Raises:
        InputError: the text is not loadable DSL, or ``inputs`` do not fit the start variables.
    """
    started = time.perf_counter()
    doc = _document(dsl)
    limits = limits or Limits()
    mode = str((doc.get("app") or {}).get("mode") or "")
    chat = mode == "advanced-chat"
    report = TestRunReport(status="error", engine=f"graphon {graphon_version()}", provider=provider,
                           live_http=live_http)
    graph = (doc.get("workflow") or {}).get("graph") if isinstance(doc.get("workflow"), Mapping) else None
    facts = RunFacts(doc=doc, chat=chat)
    if mode not in RUNNABLE_MODES or not isinstance(graph, Mapping):
        facts.not_runnable = (f"This is a {mode or 'unknown'}-mode app: it has no workflow graph for Dify's engine "
                              "to run." if mode not in RUNNABLE_MODES else "The document has no workflow graph.")
        return _finish(report, facts, started)
    run_inputs = resolve_inputs(doc, inputs, chat=chat)
    report.inputs, report.synthesized = run_inputs.to_json(), list(run_inputs.synthesized)
    facts.unsupported = _unsupported(doc)
    start_id = next((nid for nid, n in nodes_by_id(doc).items() if (n.get("data") or {}).get("type") == "start"),
                    None)
    facts.start_id = start_id
    if facts.unsupported:
        return _finish(report, facts, started)
    if start_id is None:
        facts.build_error = "the workflow has no start node (a test run starts from the start node)"
        return _finish(report, facts, started)
    http = http or (LiveHttp() if live_http else CannedHttp())
    steering = Steering()
    try:
        first = run_once(doc, run_inputs, steering, label="default", chat=chat, start_id=start_id, http=http,
                         complete=model, limits=limits)
    except Exception as exc:  # noqa: BLE001 - graphon refusing the graph is a finding, not a crash
        facts.build_error = _build_message(exc)
        return _finish(report, facts, started)
    passes: list[Pass] = [first]
    goals = outcomes(graph) if cover_branches else []
    tried: set[str] = set()
    while cover_branches and len(passes) < max_branch_runs:
        taken = {f"{nid}:{h}" for p in passes for nid, h in p.handles.items()}
        reached = {n.node_id for p in passes for n in p.run.nodes}
        todo = [g for g in goals if str(g) not in taken and str(g) not in tried and g.node_id in reached]
        if not todo:
            break
        goal = todo[0]
        tried.add(str(goal))
        plan = steer(graph, goal, start_id, run_inputs, steering)
        if plan is None:
            continue
        new_inputs, new_steering = plan
        try:
            passes.append(run_once(doc, new_inputs, new_steering, label=f"branch {goal}", chat=chat,
                                   start_id=start_id, http=http, complete=model, limits=limits))
        except Exception as exc:  # noqa: BLE001 - same graph built before; keep what we have
            facts.build_error = _build_message(exc)
            break
    taken = {f"{nid}:{h}" for p in passes for nid, h in p.handles.items()}
    reached = {n.node_id for p in passes for n in p.run.nodes}
    facts.uncovered = [g for g in goals if str(g) not in taken and g.node_id in reached]
    facts.passes = passes
    report.runs = [p.run for p in passes]
    report.uncovered = [str(g) for g in facts.uncovered]
    report.stubbed = sorted({n.node_id for r in report.runs for n in r.nodes if n.stub})
    return _finish(report, facts, started)


def _build_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    detail = "; ".join(line.strip() for line in text[1:4] if line.strip())
    return f"{type(exc).__name__}: {first}" + (f" ({detail})" if detail else "")


def _finish(report: TestRunReport, facts: RunFacts, started: float) -> TestRunReport:
    report.findings = list(iter_runtime_findings(facts))
    if facts.not_runnable or facts.build_error or facts.unsupported or not report.runs:
        report.status = "error"
    elif any(r.status not in ("succeeded", "partial") for r in report.runs) or report.errors:
        report.status = "failed"
    else:
        report.status = "succeeded"
    report.elapsed_ms = (time.perf_counter() - started) * 1000
    return report
