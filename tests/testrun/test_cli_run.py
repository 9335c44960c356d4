"""``python -m core run``: exit 0 succeeded, 1 failed run, 2 bad input; JSON output is the report."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from core.cli import main
from tests.testrun import workflows as w

PATTERN = Path(__file__).resolve().parents[2] / "patterns" / "sentiment-branching-reply.yaml"


def _write(tmp_path: Path, doc: dict) -> str:
    path = tmp_path / "wf.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_succeeded_run_exits_0_and_prints_the_trace(capsys):
    assert main(["run", str(PATTERN)]) == 0
    out = capsys.readouterr().out
    assert "test run succeeded" in out and "parameter-extractor" in out and "run 'branch " in out


def test_failed_run_exits_1_with_the_finding(tmp_path, capsys):
    assert main(["run", _write(tmp_path, w.json_loads_free_text())]) == 1
    assert "DSL703" in capsys.readouterr().out


def test_json_format_and_inputs_from_a_file(tmp_path, capsys):
    inputs = tmp_path / "in.json"
    inputs.write_text('{"text": "{\\"title\\": \\"t\\"}"}', encoding="utf-8")
    assert main(["run", _write(tmp_path, w.json_loads_free_text()), "--inputs", f"@{inputs}", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "succeeded" and report["runs"][0]["outputs"] == {"result": "t"}
    assert report["synthesized"] == []


def test_bad_input_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.yml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["run", str(PATTERN), "--inputs", "{not json"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["run", str(PATTERN), "--inputs", f"@{tmp_path / 'nope.json'}"]) == 2
    assert main(["run", str(PATTERN), "--inputs", '{"review": []}']) == 2
    assert "must be text" in capsys.readouterr().err
    bad = tmp_path / "bad.yml"
    bad.write_text("app: [unclosed", encoding="utf-8")
    assert main(["run", str(bad)]) == 2
