"""Schema: exact columns of a fresh ledger, upgrades of older ledgers, and docs that match."""

from __future__ import annotations

import duckdb

from core.ledger import MIGRATIONS, Ledger, migrate, schema_doc

EXPECTED_COLUMNS = {
    "_migrations": ["name", "applied_at"],
    "runs": [
        "id", "parent_run_id", "requirement", "mode", "provider", "model", "status", "error_category",
        "error_message", "quality_score", "validation_errors", "validation_warnings", "started_at", "finished_at",
        "duration_ms", "prompt_version", "source", "app_name", "writer_host", "writer_pid", "writer_started",
    ],
    "llm_calls": [
        "id", "run_id", "agent", "attempt", "provider", "model", "prompt_tokens", "completion_tokens",
        "cached_tokens", "cost_usd", "pricing_source", "latency_ms", "outcome", "error_category", "error_message",
        "is_fallback", "prompt_text", "response_text", "called_at",
    ],
    "events": ["seq", "run_id", "type", "occurred_at", "payload"],
    "pattern_usage": ["run_id", "pattern_id", "rank", "score", "used"],
    "workflows": [
        "run_id", "version", "yaml_text", "sha256", "app_mode", "valid", "errors", "warnings", "name", "created_at",
    ],
    "test_runs": [
        "id", "run_id", "workflow_version", "status", "engine", "provider", "live_http", "branch_runs",
        "nodes_reached", "errors", "warnings", "tokens", "duration_ms", "inputs", "synthesized", "stubbed",
        "uncovered", "findings", "created_at",
    ],
    "test_run_nodes": [
        "test_run_id", "branch", "seq", "branch_label", "node_id", "node_type", "title", "status", "stub",
        "parent_id", "elapsed_ms", "inputs", "outputs", "error",
    ],
    "run_totals": [
        "run_id", "calls", "prompt_tokens", "completion_tokens", "cached_tokens", "total_tokens",
        "unknown_cost_calls", "known_cost_usd", "cost_usd",
    ],
    "comparisons": [
        "id", "version_a", "version_b", "eval_name", "eval_sha256", "cases", "provider", "model", "concurrency",
        "status", "started_at", "finished_at", "writer_host", "writer_pid", "writer_started",
    ],
    "comparison_runs": [
        "comparison_id", "arm", "case_id", "run_id", "passed", "valid", "failed", "node_types", "test_run",
        "message", "recorded_at",
    ],
}


def _columns(db) -> dict[str, list[str]]:
    rows = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_fresh_ledger_has_exactly_these_columns(ledger):
    cols = ledger.read(_columns)
    for table, expected in EXPECTED_COLUMNS.items():
        assert cols[table] == expected, table
    assert cols["runs_v"] == EXPECTED_COLUMNS["runs"] + EXPECTED_COLUMNS["run_totals"][1:]
    assert set(cols) == set(EXPECTED_COLUMNS) | {"runs_v"}


def test_every_migration_is_recorded_once(ledger):
    names = ledger.query("SELECT name FROM _migrations ORDER BY applied_at, name")["name"].tolist()
    assert sorted(names) == sorted(m.__name__ for m in MIGRATIONS)
    assert [m.__name__ for m in MIGRATIONS][:2] == ["m001_runs", "m002_llm_calls"]


def test_reopening_applies_nothing_twice(settings):
    Ledger.open(settings).close()
    db = duckdb.connect(str(settings.ledger_path))
    try:
        assert migrate(db) == []
        assert db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)
    finally:
        db.close()


def test_an_older_ledger_is_migrated_with_its_rows_intact(tmp_path):
    path = tmp_path / "old.duckdb"
    db = duckdb.connect(str(path))
    applied = migrate(db, upto="m005_workflows")
    assert applied == ["m001_runs", "m002_llm_calls", "m003_events", "m004_pattern_usage", "m005_workflows"]
    db.execute(
        """INSERT INTO runs (id, requirement, provider, model, status, started_at, finished_at, duration_ms,
           prompt_version, source) VALUES ('old-1', 'summarise emails', 'openai', 'gpt-4o-mini', 'succeeded',
           TIMESTAMP '2025-01-02 10:00:00', TIMESTAMP '2025-01-02 10:00:05', 5000, 'v0', 'cli')"""
    )
    db.execute(
        """INSERT INTO llm_calls (run_id, agent, attempt, provider, model, prompt_tokens, completion_tokens,
           cached_tokens, cost_usd, pricing_source, latency_ms, outcome, is_fallback, called_at)
           VALUES ('old-1', 'requirements', 1, 'openai', 'gpt-4o-mini', 1000, 100, 0, 0.00021, 'genai-prices',
           900, 'ok', false, TIMESTAMP '2025-01-02 10:00:01')"""
    )
    db.execute("INSERT INTO events (run_id, type, occurred_at) VALUES ('old-1', 'run.started', TIMESTAMP '2025-01-02 10:00:00')")
    db.close()

    led = Ledger.open(path)
    run = led.get_run("old-1")
    assert run["requirement"] == "summarise emails" and run["status"] == "succeeded"
    assert run["calls"] == 1 and run["prompt_tokens"] == 1000 and run["cost_usd"] == 0.00021
    assert run["app_name"] is None and "writer_pid" in run  # new columns are there, empty for old rows
    assert led.read(_columns)["runs"] == EXPECTED_COLUMNS["runs"]
    new_id = led.start_run(requirement="after upgrade", provider="offline", model="offline", source="cli")
    assert led.get_run(new_id)["writer_pid"] is not None
    led.close()


def test_docs_schema_matches_the_migrations():
    page = schema_doc.DOC_PATH.read_text(encoding="utf-8")
    assert schema_doc.START in page and schema_doc.END in page
    assert schema_doc.updated(page) == page, "docs/ledger.md is stale: run `python -m core.ledger.schema_doc`"
