"""``run_eval`` and ``python -m core eval`` with the offline brain: rounds go through refine, a crash
scores as failed and the eval goes on, the report counts failures per key."""

from __future__ import annotations

import json

import yaml

import core.pipeline
from core.cli import main
from core.config import PATTERNS_DIR
from core.evaluation import PUBLIC_FILES, CaseScore, _test_run, load_cases, run_eval

CASES = [
    {"id": "summary-rounds", "requirement": "Summarize an uploaded PDF report into an executive summary.",
     "expect": {"nodes_all": ["document-extractor", "llm"], "rounds": [
         {"instruction": "add a step that translates the summary to French",
          "expect": {"min_count": {"llm": 2}}},
         {"instruction": "also add a step that writes a haiku about the summary",
          "expect": {"nodes_all": ["loop"]}},   # not asked: this round must fail on nodes_all
     ]}},
    {"id": "crashes", "requirement": "CRASH ME: classify emails into spam and not spam.",
     "expect": {"nodes_all": ["llm"]}},
    {"id": "printer", "requirement": "When the workflow is done, print the report on the office printer.",
     "expect": {}, "note": "a workflow cannot drive a printer"},
]


def _file(tmp_path, cases=CASES):
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True), encoding="utf-8")
    return path


def test_rounds_are_refined_and_scored_and_a_crash_does_not_stop_the_eval(tmp_path, offline_settings, ledger, library,
                                                                          monkeypatch):
    real = core.pipeline.generate

    def crashing(requirement, **kwargs):  # fault injection: one case's generation raises
        if requirement.startswith("CRASH ME"):
            raise RuntimeError("injected crash")
        return real(requirement, **kwargs)

    monkeypatch.setattr(core.pipeline, "generate", crashing)
    report = run_eval(_file(tmp_path), offline_settings, ledger=ledger, library=library)
    by_id = {c.case_id: c for c in report.cases}
    assert list(by_id) == ["summary-rounds", "crashes", "printer"]

    rounds = by_id["summary-rounds"]
    assert rounds.rounds == 2 and not rounds.passed and rounds.valid
    assert [(f.round, f.key) for f in rounds.findings] == [(2, "nodes_all")], rounds.failed
    assert rounds.failed == ["round 2 [nodes_all] no loop node"]
    children = ledger.query("SELECT parent_run_id FROM runs_v WHERE parent_run_id IS NOT NULL")
    assert len(children) == 2  # both rounds were recorded as refinements

    crash = by_id["crashes"]
    assert not crash.passed and crash.failed_keys == {"error"} and "injected crash" in crash.failed[0]

    assert by_id["printer"].passed, by_id["printer"].failed  # the offline brain says it cannot drive a printer
    assert rounds.test_run == "succeeded" and crash.test_run is None  # every workflow of the case test-ran
    assert report.test_runs == (2, 2) and report.to_dict()["test_runs"] == {"succeeded": 2, "tried": 2}
    summary = report.key_summary()
    assert summary["nodes_all"] == {"checked": 2, "failed": 1}
    assert summary["error"]["failed"] == 1 and summary["note"] == {"checked": 1, "failed": 0}
    assert summary["test run"] == {"checked": 3, "failed": 0}  # the per-key table has a test-run row
    assert report.to_dict()["keys"] == summary


def test_cli_eval_prints_findings_per_key_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(tmp_path / "data"))
    path = _file(tmp_path, [CASES[0]])
    assert main(["eval", "--provider", "offline", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL summary-rounds" in out and "round 2 [nodes_all] no loop node" in out
    assert "nodes_all" in out and "1 of   1 cases" in out
    assert main(["eval", "--provider", "offline", "--format", "json", str(path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["keys"]["nodes_all"] == {"checked": 1, "failed": 1}
    assert data["cases"][0]["findings"] == [{"key": "nodes_all", "message": "no loop node", "round": 2}]


def test_cli_eval_rejects_a_bad_file_before_any_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(tmp_path / "data"))
    bad = _file(tmp_path, [{"id": "x", "requirement": "r", "expect": {"outputz": ["a"]}}])
    assert main(["eval", "--provider", "offline", str(bad)]) != 0
    assert "unknown expect keys ['outputz']" in capsys.readouterr().err


def test_both_public_files_load():
    v1, v2 = (load_cases(p) for p in PUBLIC_FILES)
    assert len(v1) == 24 and len(v2) == 90
    assert sum(bool(c.note) for c in v2) >= 3 and sum(bool(c.rounds) for c in v2) >= 5


def test_a_failing_test_run_is_reported_with_its_step_and_reason():
    doc = yaml.safe_load((PATTERNS_DIR / "text-stats-code-review.yaml").read_text(encoding="utf-8"))["dsl"]
    score = CaseScore("x", passed=True, valid=True)
    _test_run(score, doc, 0)
    assert score.test_run == "succeeded"
    for node in doc["workflow"]["graph"]["nodes"]:
        if node["data"]["type"] == "code":
            node["data"]["code"] = "def main(**kwargs) -> dict:\n    raise ValueError('boom')\n"
    _test_run(score, doc, 2)
    assert score.test_run == "failed" and score.test_run_detail.startswith("round 2: test run failed")
    assert "ValueError: boom" in score.test_run_detail
    assert not score.passed  # a workflow that does not run in Dify's engine fails its case
    assert [(f.key, f.round) for f in score.findings] == [("test run", 2)]
    assert str(score.findings[0]).startswith("round 2 [test run] test run failed")
