"""``python -m core runs``: list, show, export, recompute-costs through the real dispatcher."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq

from core.cli import main
from core.ledger import PatternHit

from .helpers import call


def _two_runs(ledger) -> tuple[str, str]:
    ok = ledger.start_run(requirement="Summarise PDFs", provider="openai", model="gpt-4o-mini", source="cli")
    ledger.record_call(ok, call("requirements", prompt_tokens=1000, completion_tokens=100))
    ledger.record_patterns(ok, [PatternHit("doc-summary", 1, 0.9, True)])
    ledger.record_workflow(ok, yaml_text="app: {}\n", app_mode="workflow", valid=True, errors=0, warnings=0)
    ledger.finish_run(ok, status="succeeded")
    bad = ledger.start_run(requirement="Scrape a site", provider="openai", model="gpt-4o-mini", source="cli")
    ledger.record_call(bad, call("requirements", outcome="error", error_category="timeout"))
    ledger.finish_run(bad, status="failed", error_category="timeout", error_message="no answer")
    ledger.close()
    return ok, bad


def test_list_and_filters(ledger, capsys):
    ok, bad = _two_runs(ledger)
    assert main(["runs", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in rows] == [bad, ok]
    assert rows[1]["calls"] == 1 and rows[1]["total_tokens"] == 1100 and rows[1]["patterns_used"] == "doc-summary"
    assert main(["runs", "list", "--status", "failed", "--format", "json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == [bad]
    assert main(["runs", "list", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(bad) and "failed" in out[0]


def test_show(ledger, capsys):
    ok, bad = _two_runs(ledger)
    assert main(["runs", "show", ok, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run"]["id"] == ok and len(doc["calls"]) == 1 and len(doc["workflows"]) == 1
    assert [e["type"] for e in doc["events"]] == ["run.started", "llm.call", "run.completed"]
    assert main(["runs", "show", bad]) == 1  # a failed run exits 1
    out = capsys.readouterr().out
    assert "[failed]" in out and "timeout: no answer" in out


def test_show_unknown_run_is_a_clear_error(ledger, capsys):
    assert main(["runs", "show", "no-such-run"]) == 2
    err = capsys.readouterr().err
    assert "No run 'no-such-run'" in err and "Traceback" not in err


def test_export_csv_and_parquet(ledger, capsys, tmp_path):
    ok, bad = _two_runs(ledger)
    assert main(["runs", "export", "--format", "csv", "-o", str(tmp_path / "csv")]) == 0
    files = capsys.readouterr().out.split()
    assert [f.rsplit("/", 1)[-1] for f in files] == [
        "runs.csv", "llm_calls.csv", "events.csv", "pattern_usage.csv", "workflows.csv", "run_totals.csv"]
    with open(tmp_path / "csv" / "runs.csv", newline="") as fh:
        assert {row["id"] for row in csv.DictReader(fh)} == {ok, bad}
    assert main(["runs", "export", "--format", "parquet", "-o", str(tmp_path / "pq")]) == 0
    capsys.readouterr()
    assert pq.read_table(tmp_path / "pq" / "llm_calls.parquet").num_rows == 2
    assert pq.read_table(tmp_path / "pq" / "events.parquet").num_rows == 6


def test_recompute_costs(ledger, capsys):
    _two_runs(ledger)
    ledger._db.write(lambda db: db.execute("UPDATE llm_calls SET cost_usd = NULL, pricing_source = 'unknown'"))
    ledger.close()
    assert main(["runs", "recompute-costs"]) == 0
    assert "2 call(s) changed" in capsys.readouterr().out
    assert ledger.query("SELECT count(*) AS n FROM llm_calls WHERE cost_usd IS NULL")["n"][0] == 0


def test_a_broken_ledger_file_is_reported_not_a_traceback(settings, capsys):
    settings.ledger_path.parent.mkdir(parents=True)
    settings.ledger_path.write_bytes(b"\x00garbage" * 100)
    assert main(["runs", "list"]) == 2
    err = capsys.readouterr().err
    assert "is not a DuckDB database" in err and "DIFYFORGE_DATA_DIR" in err
