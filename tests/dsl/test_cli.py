"""``python -m core validate`` as a subprocess: readable and JSON output, exit codes 0/1/2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.dsl import dump_dsl
from tests.dsl.fixtures import edge, edges_of, workflow_doc

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "validate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def _write(folder: Path, name: str, doc: dict) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_dsl(doc), encoding="utf-8")
    return path


def test_valid_file_exit_0(tmp_path):
    path = _write(tmp_path, "ok.yml", workflow_doc())
    result = _run(str(path))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "0 error(s)" in result.stdout


def test_folder_recursive_json_and_exit_1(tmp_path):
    broken = workflow_doc()
    edges_of(broken).append(edge("llm", "ghost"))
    _write(tmp_path, "a/ok.yaml", workflow_doc())
    _write(tmp_path, "b/c/broken.yml", broken)
    (tmp_path / "notes.txt").write_text("ignored")
    result = _run(str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stderr
    reports = json.loads(result.stdout)
    assert [Path(r["file"]).name for r in reports] == ["ok.yaml", "broken.yml"]
    assert [r["valid"] for r in reports] == [True, False]
    finding = reports[1]["findings"][0]
    assert finding["code"] == "DSL202" and finding["severity"] == "error" and finding["node_id"] == "llm"
    assert set(reports[1]) == {"file", "valid", "app_mode", "version", "findings"}


def test_text_report_names_node_titles(tmp_path):
    broken = workflow_doc()
    edges_of(broken).append(edge("llm", "ghost"))
    result = _run(str(_write(tmp_path, "broken.yml", broken)))
    assert result.returncode == 1
    assert "INVALID" in result.stdout and "DSL202 LLM (llm)" in result.stdout


def test_missing_path_exit_2(tmp_path):
    result = _run(str(tmp_path / "nope.yml"))
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_unreadable_file_exit_2(tmp_path):
    path = _write(tmp_path, "secret.yml", workflow_doc())
    path.chmod(0)
    if os.access(path, os.R_OK):  # running as root: permissions do not stop reads, use a symlink loop instead
        path = tmp_path / "loop.yml"
        path.symlink_to(path)
    result = _run(str(path))
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_not_yaml_is_a_finding_not_a_crash(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_bytes(b"app: [\x00\xff")
    result = _run(str(path), "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["findings"][0]["code"] == "DSL001"


def test_bad_target_version_exit_2(tmp_path):
    result = _run(str(_write(tmp_path, "ok.yml", workflow_doc())), "--target-version", "newest")
    assert result.returncode == 2


def test_target_version_flag(tmp_path):
    doc = workflow_doc()
    doc["version"] = "0.7.0"
    path = _write(tmp_path, "new.yml", doc)
    codes = lambda r: [f["code"] for f in json.loads(r.stdout)[0]["findings"]]  # noqa: E731
    assert codes(_run(str(path), "--format", "json")) == ["DSL012"]
    assert codes(_run(str(path), "--format", "json", "--target-version", "0.7.0")) == []


def test_folder_run_reports_every_file_even_unreadable_fifo_and_symlink_loop(tmp_path):
    """One bad entry never aborts a folder run: each file gets its own report, named for what it is."""
    _write(tmp_path, "a_ok.yml", workflow_doc())
    (tmp_path / "b_tag.yml").write_text("app: !!bool right\n", encoding="utf-8")
    (tmp_path / "c_stamp.yml").write_text("x: !!timestamp 688\n", encoding="utf-8")
    os.mkfifo(tmp_path / "d_pipe.yml")
    (tmp_path / "e_loop.yml").symlink_to(tmp_path / "e_loop.yml")
    (tmp_path / "f_dangling.yml").symlink_to(tmp_path / "nowhere.yml")
    _write(tmp_path, "g_ok.yaml", workflow_doc())
    result = _run(str(tmp_path), "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    reports = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert sorted(reports) == ["a_ok.yml", "b_tag.yml", "c_stamp.yml", "d_pipe.yml", "e_loop.yml",
                               "f_dangling.yml", "g_ok.yaml"]
    assert reports["a_ok.yml"]["valid"] and reports["g_ok.yaml"]["valid"]
    assert [f["code"] for f in reports["b_tag.yml"]["findings"]] == ["DSL001"]
    assert [f["code"] for f in reports["c_stamp.yml"]["findings"]] == ["DSL001"]
    assert "FIFO" in reports["d_pipe.yml"]["findings"][0]["message"]
    assert "symlink loop" in reports["e_loop.yml"]["findings"][0]["message"]
    assert "points to nothing" in reports["f_dangling.yml"]["findings"][0]["message"]
    assert result.returncode == 2  # some files could not be read: an I/O problem, after reporting all


def test_text_folder_run_streams_one_report_per_file(tmp_path):
    _write(tmp_path, "a.yml", workflow_doc())
    os.mkfifo(tmp_path / "b.yml")
    result = _run(str(tmp_path))
    assert "a.yml: valid" in result.stdout and "b.yml: INVALID" in result.stdout
    assert "2 file(s) checked" in result.stdout and "Traceback" not in result.stderr


def test_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    """A file over 10 MB is refused from its size alone: its content is never read."""
    from core.dsl import MAX_DSL_BYTES
    from core.dsl.validator import validate_file

    path = tmp_path / "huge.yml"
    with path.open("wb") as fh:  # sparse: 2 GB on paper, nothing on disk
        fh.truncate(2 * 1024 ** 3)
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(AssertionError("read the file")))
    report = validate_file(path)
    assert [f.code for f in report.findings] == ["DSL002"]
    assert "2048.0 MB" in report.findings[0].message and MAX_DSL_BYTES < path.stat().st_size
