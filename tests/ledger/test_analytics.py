"""Analytics queries: known numbers on a small ledger, filters applied the same way everywhere."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.ledger import PatternHit
from core.ledger import analytics as A
from core.pricing import price_call

from .helpers import call


@pytest.fixture
def small(ledger):
    """Four runs: two succeeded (one with an unpriced call), one failed, one still running."""
    runs = {}
    r = runs["ok1"] = ledger.start_run(requirement="Summarise support emails", provider="openai", model="gpt-4o-mini",
                                       mode="workflow", prompt_version="v1", source="app")
    ledger.record_call(r, call("requirements", prompt_tokens=1000, completion_tokens=100, latency_ms=100))
    ledger.record_call(r, call("architecture", prompt_tokens=2000, completion_tokens=200, latency_ms=300))
    ledger.record_patterns(r, [PatternHit("rag-qa", 1, 0.9, True), PatternHit("router", 2, 0.4, False)])
    ledger.finish_run(r, status="succeeded", app_mode="workflow")

    r = runs["ok2"] = ledger.start_run(requirement="Chatbot for HR questions", provider="openai", model="llama-local",
                                       mode="advanced-chat", prompt_version="v2", source="cli")
    ledger.record_call(r, call("requirements", model="llama-local", prompt_tokens=500, completion_tokens=50, latency_ms=200))
    ledger.record_patterns(r, [PatternHit("rag-qa", 1, 0.8, True)])
    ledger.finish_run(r, status="succeeded")

    r = runs["bad"] = ledger.start_run(requirement="Translate invoices", provider="openai", model="gpt-4o-mini",
                                       mode="workflow", prompt_version="v2", source="app")
    ledger.record_call(r, call("requirements", outcome="error", error_category="timeout", prompt_tokens=0,
                               completion_tokens=0, latency_ms=60000))
    ledger.record_patterns(r, [PatternHit("router", 1, 0.7, True)])
    ledger.finish_run(r, status="failed", error_category="timeout")

    r = runs["live"] = ledger.start_run(requirement="Classify leads", provider="openai", model="gpt-4o-mini",
                                        mode="workflow", source="app")
    ledger.record_call(r, call("requirements", prompt_tokens=10, completion_tokens=1, latency_ms=50))
    ledger.record_event(r, "stage.started", {"stage": "architecture"})
    return ledger, runs


def test_headline(small):
    led, _ = small
    h = A.headline(led).iloc[0]
    assert (h.runs, h.finished, h.succeeded, h.running) == (4, 3, 2, 1)
    assert h.success_rate == pytest.approx(2 / 3)
    ok1_cost = float(price_call("openai", "gpt-4o-mini", 1000, 100).cost_usd + price_call("openai", "gpt-4o-mini", 2000, 200).cost_usd)
    live_cost = float(price_call("openai", "gpt-4o-mini", 10, 1).cost_usd)
    assert h.known_cost_usd == pytest.approx(ok1_cost + live_cost)
    assert h.unknown_cost_runs == 1
    assert h.median_cost_per_workflow == pytest.approx(ok1_cost)  # the unpriced run is not counted as $0
    assert h.total_tokens == 1100 + 2200 + 550 + 11


def test_filters_pick_runs_consistently(small):
    led, runs = small
    f = A.Filters(mode="workflow", status="succeeded")
    assert A.run_list(led, f)["run_id"].tolist() == [runs["ok1"]]
    assert A.headline(led, f).iloc[0].runs == 1
    assert A.usage_by_agent(led, f)["calls"].sum() == 2
    assert A.run_list(led, A.Filters(text="hr QUEST"))["run_id"].tolist() == [runs["ok2"]]
    assert A.run_list(led, A.Filters(text=runs["bad"]))["run_id"].tolist() == [runs["bad"]]
    assert set(A.run_list(led, A.Filters(pattern_id="rag-qa"))["run_id"]) == {runs["ok1"], runs["ok2"]}
    assert A.headline(led, A.Filters(prompt_version="v2")).iloc[0].runs == 2
    assert A.headline(led, A.Filters(source="cli", model="llama-local")).iloc[0].runs == 1
    today = date.today()
    assert A.headline(led, A.Filters(start=today - timedelta(days=1), end=today + timedelta(days=1))).iloc[0].runs == 4
    assert A.headline(led, A.Filters(end=today - timedelta(days=3))).iloc[0].runs == 0
    assert A.runs_over_time(led, A.Filters(end=today - timedelta(days=3))).empty


def test_pattern_popularity_and_success(small):
    led, _ = small
    pop = A.pattern_popularity(led).set_index("pattern_id")
    assert pop.loc["rag-qa", ["retrieved", "used"]].tolist() == [2, 2]
    assert pop.loc["router", ["retrieved", "used"]].tolist() == [2, 1]
    succ = A.success_by_pattern(led).set_index("pattern_id")
    assert succ.loc["rag-qa", ["n", "succeeded", "success_rate"]].tolist() == [2, 2, 1.0]
    assert succ.loc["router", ["n", "failed", "success_rate"]].tolist() == [1, 1, 0.0]
    by_mode = A.success_by_mode(led).set_index("mode")
    assert by_mode.loc["workflow", "n"] == 2 and by_mode.loc["workflow", "success_rate"] == 0.5  # running left out
    by_model = A.success_by_model(led).set_index("model")
    assert by_model.loc["llama-local", "n"] == 1
    with pytest.raises(ValueError):
        A.success_rate(led, "colour")


def test_costs(small):
    led, runs = small
    per = A.cost_per_workflow(led).set_index("run_id")
    assert list(per.index) == [runs["ok1"], runs["ok2"]]
    assert per.loc[runs["ok1"], "cost_usd"] > 0 and per.loc[runs["ok2"], "cost_usd"] != per.loc[runs["ok2"], "cost_usd"]
    by_pat = A.cost_by_pattern(led).set_index("pattern_id")
    assert by_pat.loc["rag-qa", ["n", "n_unknown_cost"]].tolist() == [2, 1]
    assert by_pat.loc["rag-qa", "median_cost_usd"] == pytest.approx(per.loc[runs["ok1"], "cost_usd"])
    by_model = A.usage_by_model(led).set_index("model")
    assert by_model.loc["llama-local", "unknown_cost_calls"] == 1 and by_model.loc["llama-local", "known_cost_usd"] == 0
    by_agent = A.usage_by_agent(led).set_index("agent")
    assert by_agent.loc["requirements", "calls"] == 4 and by_agent.loc["requirements", "error_calls"] == 1
    assert by_agent.loc["architecture", "prompt_tokens"] == 2000


def test_latency_durations_time_and_in_progress(small):
    led, runs = small
    lat = A.latency_by_agent(led).set_index("agent")
    assert lat.loc["requirements", "n"] == 4 and lat.loc["requirements", "p50_ms"] == pytest.approx(150)
    assert lat.loc["requirements", "max_ms"] == 60000
    dur = A.run_durations(led).set_index("status")
    assert dur.loc["succeeded", "n"] == 2 and "running" not in dur.index
    day = A.runs_over_time(led).iloc[0]
    assert (day.runs, day.succeeded, day.failed, day.running, day.unknown_cost_runs) == (4, 2, 1, 1, 1)
    live = A.in_progress(led)
    assert live["run_id"].tolist() == [runs["live"]] and live["last_event"].iloc[0] == "stage.started"


def test_run_list_and_trace(small):
    led, runs = small
    listed = A.run_list(led)
    assert listed["run_id"].tolist() == [runs["live"], runs["bad"], runs["ok2"], runs["ok1"]]  # newest first
    assert listed.set_index("run_id").loc[runs["ok1"], "patterns_used"] == "rag-qa"
    assert A.run_list(led, limit=2, offset=1)["run_id"].tolist() == [runs["bad"], runs["ok2"]]
    child = led.start_run(requirement="make it shorter", provider="openai", model="gpt-4o-mini",
                          parent_run_id=runs["ok1"])
    trace = A.run_trace(led, runs["ok1"])
    assert trace.run["status"] == "succeeded" and len(trace.calls) == 2 and len(trace.patterns) == 2
    assert trace.events["type"].tolist() == ["run.started", "llm.call", "llm.call", "run.completed"]
    assert trace.children == [child]


def test_every_query_runs_on_an_empty_ledger(ledger):
    for name, fn in A.QUERIES.items():
        df = fn(ledger, A.Filters())
        assert name == "headline" or df.empty, name
