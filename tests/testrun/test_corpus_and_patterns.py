"""Every real Dify export and every pattern test-runs in graphon; patterns run with no runtime finding."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from core.testrun import test_run as run_in_engine
from tests.conftest import CORPUS_DIR

PATTERNS = sorted((Path(__file__).resolve().parents[2] / "patterns").glob("*.yaml"))
CORPUS = sorted(CORPUS_DIR.glob("*.yml"))


def _graph_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("Graph") and t.is_alive()]


def test_the_corpus_and_the_pattern_library_are_all_there():
    assert len(CORPUS) == 46
    assert len(PATTERNS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_export_runs_in_graphon_or_says_why_not(path):
    report = run_in_engine(path.read_bytes())
    assert report.status in ("succeeded", "failed", "error")
    assert report.engine.startswith("graphon ")
    assert not [f for f in report.findings if f.code == "DSL799"], "a runtime rule crashed"
    assert all(f.code.startswith("DSL7") and f.message and f.path.startswith("$") for f in report.findings)
    if report.status == "succeeded":
        assert report.runs and all(r.status in ("succeeded", "partial") for r in report.runs)
        assert not report.errors
    else:
        assert report.errors, f"{path.name} did not succeed but no error finding says why"
    if report.status != "error":
        first = report.runs[0]
        assert first.nodes[0].node_type == "start" and first.nodes[0].status == "succeeded"
    assert _graph_threads() == [], "graphon left worker threads running"


@pytest.mark.parametrize("path", PATTERNS, ids=lambda p: p.stem)
def test_pattern_runs_on_every_covered_branch_without_findings(path):
    report = run_in_engine(path.read_text(encoding="utf-8"))
    assert report.status == "succeeded", report.to_dict()["findings"]
    assert report.findings == []
    assert all(run.status == "succeeded" for run in report.runs)
    ends = {"end", "answer"}
    for run in report.runs:
        assert any(n.node_type in ends and n.status == "succeeded" for n in run.nodes), run.label


def test_branch_coverage_runs_every_classifier_class():
    path = next(p for p in PATTERNS if p.stem == "email-triage-classifier")
    report = run_in_engine(path.read_text(encoding="utf-8"))
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))["dsl"]
    classifier = next(n for n in doc["workflow"]["graph"]["nodes"] if n["data"]["type"] == "question-classifier")
    classes = {c["id"] for c in classifier["data"]["classes"]}
    taken = {n.outputs.get("class_id") for r in report.runs for n in r.nodes if n.node_id == classifier["id"]}
    assert taken == classes
    assert len(report.runs) == len(classes)


def test_if_else_case_steered_through_the_extractor():
    path = next(p for p in PATTERNS if p.stem == "sentiment-branching-reply")
    report = run_in_engine(path.read_text(encoding="utf-8"))
    llms = {n.title for r in report.runs for n in r.nodes if n.node_type == "llm"}
    assert len(report.runs) == 2 and len(llms) == 2
