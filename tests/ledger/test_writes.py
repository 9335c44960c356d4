"""The write API: what each method stores, and what it refuses."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from core.config import ProviderConfig
from core.ledger import Ledger, PatternHit, RunNotFound
from core.pricing import price_call

from .helpers import call


def _start(led: Ledger, **kw) -> str:
    kw.setdefault("requirement", "Route support tickets")
    kw.setdefault("provider", "openai")
    kw.setdefault("model", "gpt-4o-mini")
    return led.start_run(**kw)


def test_a_run_from_start_to_finish(ledger):
    run_id = _start(ledger, mode="workflow", prompt_version="v2", source="cli", app_name="Ticket router")
    assert ledger.get_run(run_id)["status"] == "running"
    price = ledger.record_call(run_id, call("requirements", prompt_tokens=2000, completion_tokens=400, cached_tokens=500,
                                            prompt_text="PROMPT", response_text="RESPONSE", latency_ms=1234.5))
    assert price == price_call("openai", "gpt-4o-mini", 2000, 400, 500)
    ledger.record_event(run_id, "stage.started", {"stage": "requirements"})
    ledger.finish_run(run_id, status="succeeded", quality_score=0.87, errors=0, warnings=3, app_mode="workflow")

    run = ledger.get_run(run_id)
    assert run["status"] == "succeeded" and run["quality_score"] == 0.87 and run["validation_warnings"] == 3
    assert run["prompt_version"] == "v2" and run["source"] == "cli" and run["app_name"] == "Ticket router"
    assert run["finished_at"] >= run["started_at"] and run["duration_ms"] >= 0
    assert (run["calls"], run["prompt_tokens"], run["completion_tokens"], run["cached_tokens"]) == (1, 2000, 400, 500)
    assert Decimal(str(run["cost_usd"])) == price.cost_usd

    calls = ledger.query("SELECT * FROM llm_calls WHERE run_id = ?", [run_id])
    row = calls.iloc[0]
    assert (row.agent, row.attempt, row.outcome, row.prompt_text, row.response_text) == (
        "requirements", 1, "ok", "PROMPT", "RESPONSE")
    assert row.latency_ms == 1234.5 and row.pricing_source == price.source

    events = ledger.query("SELECT type, payload FROM events WHERE run_id = ? ORDER BY seq", [run_id])
    assert events["type"].tolist() == ["run.started", "llm.call", "stage.started", "run.completed"]
    done = json.loads(events["payload"].iloc[-1])
    assert done["calls"] == 1 and done["prompt_tokens"] == 2000


def test_failed_call_keeps_its_usage(ledger):
    run_id = _start(ledger)
    ledger.record_call(run_id, call("architecture", outcome="error", error_category="invalid_output",
                                    error_message="not JSON", prompt_tokens=900, completion_tokens=80))
    ledger.finish_run(run_id, status="failed", error_category="invalid_output", error_message="gave up")
    run = ledger.get_run(run_id)
    assert run["status"] == "failed" and run["error_category"] == "invalid_output"
    assert run["prompt_tokens"] == 900 and run["completion_tokens"] == 80 and run["cost_usd"] > 0


def test_content_logging_off_keeps_texts_out(settings):
    led = Ledger.open(settings, log_content=False)
    run_id = _start(led)
    led.record_call(run_id, call(prompt_text="the prompt", response_text="the answer"))
    row = led.query("SELECT prompt_text, response_text, prompt_tokens FROM llm_calls").iloc[0]
    assert row.prompt_text is None and row.response_text is None and row.prompt_tokens == 1200


def test_unknown_model_cost_is_null_and_the_run_total_says_unknown(ledger):
    run_id = _start(ledger, model="llama-local")
    ledger.record_call(run_id, call(model="gpt-4o-mini"))
    ledger.record_call(run_id, call(model="llama-local"))
    run = ledger.get_run(run_id)
    assert run["cost_usd"] is None and run["unknown_cost_calls"] == 1 and run["known_cost_usd"] > 0
    sources = ledger.query("SELECT pricing_source FROM llm_calls ORDER BY id")["pricing_source"].tolist()
    assert sources == ["genai-prices:openai/gpt-4o-mini", "unknown"]


def test_offline_calls_cost_zero(ledger):
    run_id = _start(ledger, provider="offline", model="offline")
    ledger.record_call(run_id, call(provider="offline", model="offline", prompt_tokens=0, completion_tokens=0))
    assert ledger.get_run(run_id)["cost_usd"] == 0


def test_patterns_and_workflow_versions(ledger):
    run_id = _start(ledger)
    ledger.record_patterns(run_id, [PatternHit("rag-qa", 1, 0.81, True), PatternHit("router", 2, 0.52, False)])
    v1 = ledger.record_workflow(run_id, yaml_text="app:\n  name: a\n", app_mode="workflow", valid=False, errors=2,
                                warnings=1, name="A")
    v2 = ledger.record_workflow(run_id, yaml_text="app:\n  name: b\n", app_mode="workflow", valid=True, errors=0,
                                warnings=1, name="A")
    assert (v1, v2) == (1, 2)
    wf = ledger.query("SELECT * FROM workflows WHERE run_id = ? ORDER BY version", [run_id])
    assert wf["sha256"].tolist() == [hashlib.sha256(t.encode()).hexdigest() for t in ("app:\n  name: a\n", "app:\n  name: b\n")]
    assert wf["valid"].tolist() == [False, True] and wf["errors"].tolist() == [2, 0]
    pats = ledger.query("SELECT pattern_id, rank, score, used FROM pattern_usage ORDER BY rank")
    assert pats.values.tolist() == [["rag-qa", 1, 0.81, True], ["router", 2, 0.52, False]]


def test_finish_twice_or_unknown_is_refused_and_writes_no_second_terminal_event(ledger):
    run_id = _start(ledger)
    ledger.finish_run(run_id, status="succeeded")
    with pytest.raises(RunNotFound, match="already succeeded"):
        ledger.finish_run(run_id, status="failed")
    with pytest.raises(RunNotFound):
        ledger.finish_run("no-such-run", status="failed")
    with pytest.raises(ValueError):
        ledger.finish_run(run_id, status="interrupted")
    types = ledger.query("SELECT type FROM events WHERE run_id = ?", [run_id])["type"].tolist()
    assert types.count("run.completed") == 1 and "run.failed" not in types


def test_lifecycle_events_are_the_ledgers_own(ledger):
    run_id = _start(ledger)
    for kind in ("run.started", "run.completed", "run.failed", "run.interrupted", "llm.call"):
        with pytest.raises(ValueError):
            ledger.record_event(run_id, kind)
    ledger.record_event(run_id, "repair.round", {"round": 1, "findings": ["DSL201"]})
    assert ledger.query("SELECT count(*) AS n FROM events WHERE type = 'repair.round'")["n"][0] == 1


def test_the_api_takes_no_provider_config(ledger):
    config = ProviderConfig(kind="openai", api_key="sk-test-SECRET-1234567890")
    with pytest.raises(TypeError, match="never takes a ProviderConfig"):
        ledger.start_run(requirement="x", provider=config, model="gpt-4o-mini")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ledger.start_run(requirement="x", provider="openai", model="m", source="somewhere")


def test_delete_run_cascades(ledger):
    keep = _start(ledger)
    gone = _start(ledger)
    for run_id in (keep, gone):
        ledger.record_call(run_id, call())
        ledger.record_patterns(run_id, [PatternHit("p", 1, 0.5, True)])
        ledger.record_workflow(run_id, yaml_text="a: 1", app_mode="workflow", valid=True, errors=0, warnings=0)
        ledger.finish_run(run_id, status="succeeded")
    ledger.delete_run(gone)
    for table in ("llm_calls", "events", "pattern_usage", "workflows"):
        ids = set(ledger.query(f"SELECT DISTINCT run_id FROM {table}")["run_id"])
        assert ids == {keep}, table
    with pytest.raises(RunNotFound):
        ledger.get_run(gone)


def test_spend_today_sums_known_costs_of_all_runs(ledger):
    a, b = _start(ledger), _start(ledger)
    ledger.record_call(a, call(prompt_tokens=10_000, completion_tokens=1000))
    ledger.record_call(b, call(prompt_tokens=5000, completion_tokens=500))
    ledger.record_call(b, call(model="unknown-model"))
    expected = price_call("openai", "gpt-4o-mini", 10_000, 1000).cost_usd + price_call("openai", "gpt-4o-mini", 5000, 500).cost_usd
    assert ledger.spend_today() == pytest.approx(float(expected))
    ledger.query("SELECT 1")  # reads do not change it
    ledger._db.write(lambda db: db.execute("UPDATE llm_calls SET called_at = called_at - INTERVAL 2 DAY WHERE run_id = ?", [a]))
    assert ledger.spend_today() == pytest.approx(float(price_call("openai", "gpt-4o-mini", 5000, 500).cost_usd))


def test_recompute_costs_restores_prices_from_tokens(ledger):
    run_id = _start(ledger)
    ledger.record_call(run_id, call(prompt_tokens=3000, completion_tokens=300))
    ledger.record_call(run_id, call(model="unknown-model"))
    right = ledger.query("SELECT id, cost_usd, pricing_source FROM llm_calls ORDER BY id")
    ledger._db.write(lambda db: db.execute("UPDATE llm_calls SET cost_usd = 99, pricing_source = 'stale'"))
    assert ledger.recompute_costs() == 2
    again = ledger.query("SELECT id, cost_usd, pricing_source FROM llm_calls ORDER BY id")
    assert again["pricing_source"].tolist() == right["pricing_source"].tolist()
    assert again["cost_usd"].iloc[0] == right["cost_usd"].iloc[0] and again["cost_usd"].isna().iloc[1]
    assert ledger.recompute_costs() == 0


def test_content_logging_follows_the_settings(monkeypatch):
    from core.config import load_settings

    monkeypatch.setenv("DIFYFORGE_LOG_CONTENT", "0")
    led = Ledger.open(load_settings())
    run_id = _start(led)
    led.record_call(run_id, call(prompt_text="secret business plan", response_text="ok"))
    assert led.query("SELECT prompt_text FROM llm_calls")["prompt_text"].isna().all()


def test_ledger_health_when_fine(settings, ledger):
    from core.ledger import ledger_health

    _start(ledger)
    ok, message = ledger_health(settings)
    assert ok and str(settings.ledger_path) in message and "1 run(s)" in message
