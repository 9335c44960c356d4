"""The pipeline test-runs every valid candidate; the ledger keeps each test run and its node trace."""

from __future__ import annotations

import json

import core.testrun.api as api
from core.agents.models import RequirementSpec
from core.agents.quality import QualityInput, review
from core.ledger.analytics import runs_in_engine
from core.pipeline import generate
from core.testrun.engine import Limits

CLASSIFY = "Sort incoming customer emails into billing, delivery and other, and draft a reply for each kind."
TRANSLATE = "Translate the text the user enters into German and keep the formatting."


def test_generation_succeeds_only_with_a_test_run_that_succeeds(offline_settings, ledger, library):
    result = generate(CLASSIFY, settings=offline_settings, ledger=ledger, library=library)
    assert result.status == "succeeded"
    report = result.test_run
    assert report is not None and report.succeeded
    assert len(report.runs) == 3  # one run per class of the classifier
    rows = ledger.test_runs(result.run_id)
    assert len(rows) >= 1
    last = rows.iloc[-1]
    assert last["status"] == "succeeded" and last["branch_runs"] == 3
    versions = ledger.query("SELECT version FROM workflows WHERE run_id = ?", [result.run_id])["version"].tolist()
    assert int(last["workflow_version"]) in versions
    nodes = ledger.test_run_nodes(int(last["id"]))
    assert len(nodes) == sum(len(r.nodes) for r in report.runs)
    assert json.loads(last["inputs"]) == report.inputs  # reads back exactly
    assert json.loads(last["findings"]) == [f.to_dict() for f in report.findings]
    first = nodes.iloc[0]
    assert first["node_type"] == "start" and first["status"] == "succeeded" and first["branch_label"] == "default"


def test_a_failed_test_run_fails_the_generation_and_is_recorded(offline_settings, ledger, library, monkeypatch):
    monkeypatch.setattr(api, "Limits", lambda: Limits(max_steps=1))  # the real engine, a limit no workflow fits
    result = generate(TRANSLATE, settings=offline_settings, ledger=ledger, library=library)
    assert result.valid and result.status == "failed"
    assert result.error_category == "invalid_output"
    assert "test run in Dify's engine" in result.error_message
    assert result.test_run is not None and "DSL709" in {f.code for f in result.test_run.findings}
    rows = ledger.test_runs(result.run_id)
    assert set(rows["status"]) == {"failed"}
    # Every valid candidate (the first and each repair round's) was test-run and recorded.
    versions = ledger.query("SELECT count(*) AS n FROM workflows WHERE run_id = ? AND valid", [result.run_id])
    assert len(rows) == versions["n"][0] >= 1


def test_runs_in_engine_beside_validity(offline_settings, ledger, library, monkeypatch):
    generate(CLASSIFY, settings=offline_settings, ledger=ledger, library=library)
    monkeypatch.setattr(api, "Limits", lambda: Limits(max_steps=1))
    generate(TRANSLATE, settings=offline_settings, ledger=ledger, library=library)
    by_mode = runs_in_engine(ledger, "mode")
    row = by_mode[by_mode["mode"] == "workflow"].iloc[0]
    assert (row["n"], row["tested"], row["valid"], row["runs_in_engine"]) == (2, 2, 2, 1)
    assert row["engine_rate"] == 0.5 and row["valid_rate"] == 1.0
    by_version = runs_in_engine(ledger, "prompt_version")
    assert by_version["n"].sum() == 2
    by_pattern = runs_in_engine(ledger, "pattern")
    assert by_pattern["runs_in_engine"].sum() >= 1


def test_delete_run_removes_its_test_runs(offline_settings, ledger, library):
    result = generate(CLASSIFY, settings=offline_settings, ledger=ledger, library=library)
    ledger.delete_run(result.run_id)
    assert ledger.query("SELECT count(*) AS n FROM test_runs")["n"][0] == 0
    assert ledger.query("SELECT count(*) AS n FROM test_run_nodes")["n"][0] == 0


def test_runtime_findings_drive_a_repair_round_like_validator_findings():
    spec = RequirementSpec(requirement="Parse orders", goal="parse orders", app_mode="workflow")
    finding = {"code": "DSL703", "severity": "error", "node_id": "code", "path": "$", "message": "code raised",
               "hint": None}
    verdict = review(QualityInput(spec=spec, dsl={"app": {"mode": "workflow"}, "workflow": {"graph": {}}},
                                  runtime_findings=[finding]))
    assert verdict.retry
    assert any(i.code == "DSL703" and i.severity == "error" for i in verdict.issues)
    assert "code raised" in verdict.feedback
