"""Invariants that must hold over any mix of runs: totals derive from calls, terminal events are exact."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from core.ledger import Ledger, PatternHit
from core.ledger import analytics as A

from .helpers import AGENTS, call

TERMINAL = {"succeeded": "run.completed", "failed": "run.failed", "interrupted": "run.interrupted"}


@pytest.fixture
def mixed_ledger(settings) -> tuple[Ledger, dict[str, list]]:
    """40 runs with random calls (some unpriced, some errors), finished, failed or left running."""
    rng = random.Random(7)
    led = Ledger.open(settings)
    recorded: dict[str, list] = {}
    for i in range(40):
        run_id = led.start_run(requirement=f"req {i}", provider="openai", model=rng.choice(["gpt-4o-mini", "gpt-4o"]),
                               mode=rng.choice(["workflow", "advanced-chat"]), source="eval")
        recorded[run_id] = []
        for j in range(rng.randint(0, 6)):
            c = call(AGENTS[j % 4], model=rng.choice(["gpt-4o-mini", "gpt-4o", "homegrown-7b"]),
                     prompt_tokens=rng.randint(0, 5000), completion_tokens=rng.randint(0, 900),
                     outcome=rng.choice(["ok", "ok", "error"]))
            c.cached_tokens = rng.randint(0, c.prompt_tokens)
            recorded[run_id].append(c)
            led.record_call(run_id, c)
        led.record_patterns(run_id, [PatternHit(f"p{rng.randint(1, 4)}", 1, rng.random(), rng.random() < 0.7)])
        fate = rng.choice(["succeeded", "failed", "running"])
        if fate != "running":
            led.finish_run(run_id, status=fate, error_category="server" if fate == "failed" else None)
    return led, recorded


def test_run_totals_equal_the_sum_of_their_calls(mixed_ledger):
    led, recorded = mixed_ledger
    raw = led.query(
        """SELECT run_id, count(*) AS calls, sum(prompt_tokens) AS p, sum(completion_tokens) AS c,
                  sum(cached_tokens) AS k, sum(cost_usd) AS cost, bool_or(cost_usd IS NULL) AS unknown
           FROM llm_calls GROUP BY run_id"""
    ).set_index("run_id")
    listed = A.run_list(led, limit=1000).set_index("run_id")
    for run_id, calls in recorded.items():
        run = led.get_run(run_id)
        assert run["calls"] == len(calls) == listed.loc[run_id, "calls"]
        assert run["prompt_tokens"] == sum(c.prompt_tokens for c in calls)
        assert run["completion_tokens"] == sum(c.completion_tokens for c in calls)
        assert run["cached_tokens"] == sum(c.cached_tokens for c in calls)
        assert run["total_tokens"] == listed.loc[run_id, "total_tokens"]
        if not calls:
            assert run["cost_usd"] == 0
            continue
        row = raw.loc[run_id]
        if row.unknown:
            assert run["cost_usd"] is None and pd.isna(listed.loc[run_id, "cost_usd"])
            assert run["unknown_cost_calls"] == sum(c.model == "homegrown-7b" for c in calls)
        else:
            assert run["cost_usd"] == pytest.approx(row.cost) == pytest.approx(listed.loc[run_id, "cost_usd"])
    head = A.headline(led).iloc[0]
    assert head.total_tokens == sum(c.prompt_tokens + c.completion_tokens for cs in recorded.values() for c in cs)
    assert head.known_cost_usd == pytest.approx(float(raw["cost"].fillna(0).sum()))


def test_every_finished_run_has_a_start_and_exactly_one_terminal_event(mixed_ledger):
    led, _ = mixed_ledger
    counts = led.query(
        """SELECT r.id, r.status,
                  count(*) FILTER (WHERE e.type = 'run.started') AS started,
                  count(*) FILTER (WHERE e.type IN ('run.completed', 'run.failed', 'run.interrupted')) AS terminal,
                  arg_max(e.type, e.seq) AS last
           FROM runs r JOIN events e ON e.run_id = r.id GROUP BY r.id, r.status"""
    )
    assert len(counts) == 40
    for row in counts.itertuples():
        assert row.started == 1
        if row.status == "running":
            assert row.terminal == 0
        else:
            assert row.terminal == 1 and row.last == TERMINAL[row.status]


def test_llm_call_events_match_the_calls(mixed_ledger):
    led, recorded = mixed_ledger
    n_events = led.query("SELECT count(*) AS n FROM events WHERE type = 'llm.call'")["n"][0]
    assert n_events == sum(len(c) for c in recorded.values())


def test_a_failed_run_keeps_the_usage_of_its_calls(mixed_ledger):
    led, recorded = mixed_ledger
    failed = led.query("SELECT id FROM runs WHERE status = 'failed'")["id"].tolist()
    assert failed
    for run_id in failed:
        assert led.get_run(run_id)["prompt_tokens"] == sum(c.prompt_tokens for c in recorded[run_id])
