"""``python -m core generate`` / ``eval`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


def test_generate_json_summary_and_file(tmp_path):
    out = tmp_path / "wf.yml"
    proc = _cli("generate", "Summarize an uploaded PDF in at most 100 words.", "--provider", "offline", "-o", str(out),
                "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "succeeded" and summary["valid"] is True and summary["app_mode"] == "workflow"
    assert {"run_id", "findings", "tokens", "cost_usd", "patterns", "output"} <= set(summary)
    assert "document-extractor" in out.read_text(encoding="utf-8")


def test_generate_empty_requirement_exits_1_with_a_message():
    proc = _cli("generate", " ", "--provider", "offline")
    assert proc.returncode == 1 and "empty" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_key_variable_is_a_usage_error():
    proc = _cli("generate", "x", "--provider", "openai", "--api-key-env", "NO_SUCH_VARIABLE_SET")
    assert proc.returncode == 2 and "NO_SUCH_VARIABLE_SET" in proc.stderr
