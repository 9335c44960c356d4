"""An API key never reaches the ledger file, the logs, or an export."""

from __future__ import annotations

import logging

import duckdb
import pyarrow.parquet as pq

from core.config import load_settings
from core.ledger import Ledger, PatternHit
from core.ledger.export import export_tables

from .helpers import call

KEY = "sk-test-SECRET-1234567890"
KEY_PARTS = (KEY.encode(), b"SECRET-1234567890")
MARKER = "CONTROL-MARKER-7f3a9c"  # stored on purpose: proves the raw-bytes search can find text


def _write_runs_with_a_keyed_provider(led: Ledger, settings) -> list[str]:
    provider = settings.provider
    assert provider.api_key == KEY  # the session really had a key
    ids = []
    for status in ("succeeded", "failed"):
        run_id = led.start_run(requirement=f"{MARKER} build a bot; my key is {KEY}", provider=provider.kind,
                               model=provider.model, source="app")
        led.record_call(run_id, call(prompt_text=f"System: ... Authorization: Bearer {KEY}\nUser: {MARKER}",
                                     response_text=f"Sure, using api_key={KEY}"))
        led.record_call(run_id, call(outcome="error", error_category="auth",
                                     error_message=f"Error code: 401 - Incorrect API key provided: {KEY}."))
        led.record_event(run_id, "stage.started", {"stage": "requirements", "headers": {"Authorization": f"Bearer {KEY}"}})
        led.record_patterns(run_id, [PatternHit("rag-qa", 1, 0.9, True)])
        led.record_workflow(run_id, yaml_text=f"app:\n  name: {MARKER}\n  description: key {KEY}\n",
                            app_mode="workflow", valid=True, errors=0, warnings=0)
        led.finish_run(run_id, status=status, error_message=None if status == "succeeded" else f"auth failed for {KEY}")
        ids.append(run_id)
    return ids


def _assert_no_key(blob: bytes, where: str) -> None:
    for part in KEY_PARTS:
        assert part not in blob, f"the API key leaked into {where}"


def test_the_key_appears_nowhere(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    settings = load_settings()
    caplog.set_level(logging.DEBUG)
    led = Ledger.open(settings)
    _write_runs_with_a_keyed_provider(led, settings)

    # every text the ledger holds, through SQL (sees through DuckDB's string compression)
    for table in ("runs", "llm_calls", "events", "workflows"):
        rows = led.query(f"SELECT * FROM {table}").astype(str).to_csv().encode()
        _assert_no_key(rows, f"table {table}")
        if table in ("runs", "llm_calls", "workflows"):
            assert MARKER.encode() in rows  # the rest of the text is kept

    exports = export_tables(led, tmp_path / "csv", "csv") + export_tables(led, tmp_path / "pq", "parquet")
    for path in exports:
        if path.suffix == ".csv":
            _assert_no_key(path.read_bytes(), path.name)
        else:
            _assert_no_key(pq.read_table(path).to_pandas().astype(str).to_csv().encode(), path.name)

    # the raw file, with its write-ahead log, and again after a checkpoint
    led.close()
    files = [p for p in settings.data_dir.iterdir() if p.name.startswith("ledger.duckdb")]
    for p in files:
        _assert_no_key(p.read_bytes(), p.name)
    db = duckdb.connect(str(settings.ledger_path))
    db.execute("CHECKPOINT")
    db.close()
    raw = settings.ledger_path.read_bytes()
    _assert_no_key(raw, "the checkpointed DuckDB file")
    assert MARKER.encode() in raw  # control: the search does see stored text in the raw file

    _assert_no_key("\n".join(r.getMessage() for r in caplog.records).encode(), "the logs")
    _assert_no_key(caplog.text.encode(), "the log output")
