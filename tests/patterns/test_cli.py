"""``python -m core patterns ...`` run as a real process: output, JSON and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, INVALID

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_IDS = ["fixture-doc-summary", "fixture-http-digest", "fixture-support-chat"]
ENTRY = ["-m", "core", "patterns"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli") / "data"


def run(
    data_dir: Path, action: str, *args: str, patterns_dir: Path = FIXTURES
) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIFYFORGE_DATA_DIR": str(data_dir), "ANONYMIZED_TELEMETRY": "False"}
    command = [sys.executable, *ENTRY, action, *args, "--patterns-dir", str(patterns_dir)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def user_pattern_file(tmp_path: Path) -> Path:
    text = (FIXTURES / "http-digest.yaml").read_text(encoding="utf-8")
    path = tmp_path / "mine.yaml"
    path.write_text(text.replace("id: fixture-http-digest", "id: cli-stock-poller"), encoding="utf-8")
    return path


def test_init_then_add_list_search_show_stats_remove(data_dir, tmp_path):
    init = run(data_dir, "init", "--format", "json")
    assert init.returncode == 0, init.stderr
    report = json.loads(init.stdout)
    assert sorted(report["loaded"]) == FIXTURE_IDS and report["failed"] == []

    added = run(data_dir, "add", str(user_pattern_file(tmp_path)), "--format", "json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["source"] == "user"

    listed = json.loads(
        run(data_dir, "list", "--source", "user", "--node-type", "http-request", "--format", "json").stdout
    )
    assert [p["id"] for p in listed] == ["cli-stock-poller"]

    found = run(
        data_dir,
        "search",
        "digest of a web page from a URL",
        "-k",
        "2",
        "--mode",
        "workflow",
        "--format",
        "json",
    )
    hits = json.loads(found.stdout)
    assert found.returncode == 0 and 1 <= len(hits) <= 2
    assert all(h["mode"] == "workflow" for h in hits) and hits[0]["score"] >= hits[-1]["score"]

    shown = run(data_dir, "show", "cli-stock-poller")
    assert shown.returncode == 0 and "node types: start, http-request, llm, end" in shown.stdout

    stats = json.loads(run(data_dir, "stats", "--format", "json").stdout)
    assert stats["by_source"]["user"] == 1 and stats["total"] == 4

    removed = run(data_dir, "remove", "cli-stock-poller")
    assert removed.returncode == 0 and "removed user pattern cli-stock-poller" in removed.stdout


def test_refusals_and_usage_errors_have_their_exit_codes(data_dir, tmp_path):
    refused = run(data_dir, "add", str(INVALID / "bad-metadata.yaml"))
    assert refused.returncode == 1 and "refused:" in refused.stderr and "bad metadata" in refused.stderr

    missing = run(data_dir, "add", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "Cannot read" in missing.stderr and "Traceback" not in missing.stderr

    builtin = run(data_dir, "remove", "fixture-doc-summary", "--format", "json")
    assert builtin.returncode == 1 and "cannot be removed" in json.loads(builtin.stdout)["error"]

    no_folder = run(data_dir, "list", patterns_dir=tmp_path / "missing")
    assert no_folder.returncode == 2 and "is not a folder" in no_folder.stderr

    usage = run(data_dir, "search")  # no TEXT
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_init_exits_1_and_lists_the_failures(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "user_patterns").mkdir(parents=True)
    (data_dir / "user_patterns" / "broken.yaml").write_text((INVALID / "broken-yaml.yaml").read_text())
    result = run(data_dir, "init")
    assert result.returncode == 1
    assert "loaded: 3 (fixture-doc-summary, fixture-http-digest, fixture-support-chat)" in result.stdout
    assert "failed: 1" in result.stdout and "broken.yaml is not valid YAML" in result.stdout
