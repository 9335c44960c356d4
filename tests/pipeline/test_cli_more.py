"""The headless equivalents of the Generate page's refine, the Batch page and History's delete."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def core(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {"DIFYFORGE_DATA_DIR": str(data), "PATH": "/usr/bin:/bin", "ANONYMIZED_TELEMETRY": "False"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)


def test_refine_batch_and_delete_from_the_command_line(tmp_path):
    data = tmp_path / "data"
    parent = core("generate", "Summarise a meeting transcript into five bullet points.", "--format", "json",
                  "-o", str(tmp_path / "parent.yml"), data=data)
    assert parent.returncode == 0, parent.stderr
    parent_id = json.loads(parent.stdout)["run_id"]

    child = core("refine", parent_id, "add a step that translates the summary to French", "--format", "json",
                 data=data)
    assert child.returncode == 0, child.stderr
    summary = json.loads(child.stdout)
    assert summary["valid"] and "French" in summary["yaml"]
    shown = json.loads(core("runs", "show", summary["run_id"], "--format", "json", data=data).stdout)
    assert json.dumps(shown).count(parent_id) >= 1  # recorded as the parent's child

    csv = tmp_path / "reqs.csv"
    csv.write_text("id,requirement\na,Translate a text into Spanish.\nb,\nc,Classify a review as positive or negative.\n",
                   encoding="utf-8")
    out = tmp_path / "batch.zip"
    batch = core("batch", str(csv), "-o", str(out), data=data)
    assert batch.returncode == 1, batch.stdout + batch.stderr  # row b is empty: reported, the others still run
    assert "2/3 succeeded" in batch.stdout
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert "results.csv" in names and sum(n.endswith(".yml") for n in names) == 2

    refused = core("runs", "delete", parent_id, data=data)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    deleted = core("runs", "delete", parent_id, "--yes", data=data)
    assert deleted.returncode == 0, deleted.stderr
    gone = core("runs", "show", parent_id, data=data)
    assert gone.returncode == 2 and "No run" in gone.stderr
