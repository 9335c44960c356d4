"""Ledger benchmark: analytics queries on 100,000 runs / 400,000 calls, and the cost of recording a call.

The big ledger is built once with bulk SQL and cached in the system temp dir (rebuilt when the
schema's migrations change). Targets: each analytics query < 200 ms (median of 5); time added by
``record_call`` < 5 ms median.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb

from core.ledger import MIGRATIONS, Ledger, migrate
from core.ledger import analytics as A
from core.pricing import price_call
from core.usage import CallRecord

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "llama-local")  # the last one has no known price
AGENTS = ("requirements", "architecture", "configuration", "quality")
CALLS_PER_RUN = 4
QUERY_TARGET_MS = 200.0
CALL_TARGET_MS = 5.0


def default_path(runs: int = 100_000) -> Path:
    """Where the cached benchmark ledger lives (system temp dir, keyed by size and schema)."""
    return Path(tempfile.gettempdir()) / "difyforge-bench" / f"ledger-{runs}-m{len(MIGRATIONS)}.duckdb"


def _per_token_rates() -> list[tuple[str, Decimal | None, Decimal | None]]:
    rates = []
    for model in MODELS:
        per_in = price_call("openai", model, 1_000_000, 0, 0).cost_usd
        per_out = price_call("openai", model, 0, 1_000_000, 0).cost_usd
        rates.append((model, None if per_in is None else per_in / 1_000_000, None if per_out is None else per_out / 1_000_000))
    return rates


def build_benchmark_ledger(path: str | Path, runs: int = 100_000) -> Path:
    """Create a ledger with ``runs`` runs, 4 calls each, ~6 events each, 3 pattern hits each and a
    workflow per succeeded run, spread over the last 60 days. Bulk SQL (INSERT ... SELECT from
    range()), so it takes seconds. An existing file at ``path`` is replaced.

    Returns:
        The path of the new ledger.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")  # renamed into place only when complete
    for stale in (path, building, path.with_name(path.name + ".wal"), building.with_name(building.name + ".wal")):
        stale.unlink(missing_ok=True)
    db = duckdb.connect(str(building))
    try:
        migrate(db)
        db.execute("CREATE TEMP TABLE rates (model VARCHAR, per_in DECIMAL(18, 12), per_out DECIMAL(18, 12))")
        db.executemany("INSERT INTO rates VALUES (?, ?, ?)", _per_token_rates())
        db.execute("CREATE TEMP TABLE models AS SELECT * FROM (VALUES " +
                   ", ".join(f"({i}, '{m}')" for i, m in enumerate(MODELS)) + ") t(k, model)")
        db.execute(
            """
            INSERT INTO runs (id, parent_run_id, requirement, mode, provider, model, status, error_category,
                              error_message, quality_score, validation_errors, validation_warnings, started_at,
                              finished_at, duration_ms, prompt_version, source, app_name, writer_host, writer_pid)
            SELECT 'bench-' || i, CASE WHEN i % 20 = 0 AND i > 0 THEN 'bench-' || (i - 1) END,
                   'Requirement number ' || i || ': route support tickets by topic and answer from the FAQ',
                   CASE WHEN i % 3 = 0 THEN 'advanced-chat' ELSE 'workflow' END, 'openai', m.model,
                   CASE WHEN i % 1000 = 0 THEN 'running' WHEN i % 10 < 7 THEN 'succeeded'
                        WHEN i % 10 < 9 THEN 'failed' ELSE 'interrupted' END,
                   CASE WHEN i % 10 IN (7, 8) THEN 'timeout' END, NULL,
                   (hash(i) % 100) / 100.0, (i % 10 IN (7, 8))::INT, (hash(i) % 4)::INT, started,
                   CASE WHEN i % 1000 <> 0 THEN started + to_milliseconds(dur) END,
                   CASE WHEN i % 1000 <> 0 THEN dur END,
                   CASE WHEN i % 2 = 0 THEN 'v1' ELSE 'v2' END,
                   ['app', 'cli', 'batch', 'eval'][1 + i % 4], 'App ' || i,
                   'bench-host', 1  -- 'running' runs of another machine's writer: left running on open
            FROM (SELECT range AS i, now()::TIMESTAMP - to_seconds((range * 51840.0 / ?)::BIGINT) AS started,
                         (4000 + hash(range) % 90000)::DOUBLE AS dur FROM range(?)) r
            JOIN models m ON m.k = r.i % 4
            """,
            [runs, runs],
        )
        db.execute(
            f"""
            INSERT INTO llm_calls (run_id, agent, attempt, provider, model, prompt_tokens, completion_tokens,
                                   cached_tokens, cost_usd, pricing_source, latency_ms, outcome, error_category,
                                   is_fallback, called_at)
            SELECT r.id, ['requirements', 'architecture', 'configuration', 'quality'][1 + j], 1, 'openai', r.model,
                   p, c, k, p * rt.per_in + c * rt.per_out,
                   CASE WHEN rt.per_in IS NULL THEN 'unknown' ELSE 'genai-prices:openai/' || r.model END,
                   300 + hash(r.id, j) % 9000, CASE WHEN hash(r.id, j) % 50 = 0 THEN 'error' ELSE 'ok' END,
                   CASE WHEN hash(r.id, j) % 50 = 0 THEN 'server' END, false,
                   r.started_at + to_milliseconds(j * 1000)
            FROM runs r, range({CALLS_PER_RUN}) t(j), rates rt,
                 LATERAL (SELECT 800 + hash(r.id, j, 1) % 3000 AS p, 100 + hash(r.id, j, 2) % 900 AS c,
                                 hash(r.id, j, 3) % 400 AS k)
            WHERE rt.model = r.model
            ORDER BY r.started_at, j
            """
        )
        db.execute(
            """
            INSERT INTO events (run_id, type, occurred_at, payload)
            SELECT run_id, type, ts, payload FROM (
                SELECT id AS run_id, 'run.started' AS type, started_at AS ts, '{}' AS payload, 0 AS o FROM runs
                UNION ALL
                SELECT run_id, 'llm.call', called_at, '{"agent": "' || agent || '"}', 1 FROM llm_calls
                UNION ALL
                SELECT id, CASE status WHEN 'succeeded' THEN 'run.completed' WHEN 'failed' THEN 'run.failed'
                               ELSE 'run.interrupted' END, finished_at, '{}', 2 FROM runs WHERE status <> 'running'
            ) ORDER BY ts, o
            """
        )
        db.execute(
            """
            INSERT INTO pattern_usage
            SELECT r.id, 'pattern-' || lpad(((hash(r.id, k) % 25))::VARCHAR, 2, '0'), k + 1,
                   0.9 - k * 0.15 + (hash(r.id, k) % 10) / 100.0, k < 2
            FROM runs r, range(3) t(k)
            """
        )
        db.execute(
            """
            INSERT INTO workflows
            SELECT id, 1, 'app:\n  name: App ' || id || '\n  mode: ' || mode || '\n', sha256(id), mode, true, 0,
                   validation_warnings, 'App ' || id, finished_at
            FROM runs WHERE status = 'succeeded'
            """
        )
        db.execute("CHECKPOINT")
    finally:
        db.close()
    building.rename(path)
    return path


def _median_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()  # warm-up (and the file open)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _time_record_call(led: Ledger, n: int = 300) -> tuple[float, float, float]:
    """Median and p95 ms of back-to-back record_call, and median ms after the file was let go."""
    run_id = led.start_run(requirement="benchmark run", provider="openai", model="gpt-4o-mini", source="batch")
    record = CallRecord(agent="requirements", provider="openai", model="gpt-4o-mini", prompt_tokens=1500,
                        completion_tokens=400, cached_tokens=200, latency_ms=900.0,
                        prompt_text="x" * 2000, response_text="y" * 800)
    warm = []
    for _ in range(n):
        started = time.perf_counter()
        led.record_call(run_id, record)
        warm.append((time.perf_counter() - started) * 1000)
    cold = []
    for _ in range(5):
        led.close()
        started = time.perf_counter()
        led.record_call(run_id, record)
        cold.append((time.perf_counter() - started) * 1000)
    led.delete_run(run_id)
    warm.sort()
    return statistics.median(warm), warm[int(len(warm) * 0.95)], statistics.median(cold)


def main(runs: int = 100_000) -> None:
    path = default_path(runs)
    if not path.exists():
        started = time.perf_counter()
        build_benchmark_ledger(path, runs)
        print(f"   built {path} in {time.perf_counter() - started:.1f} s")
    else:
        print(f"   using cached {path}")
    led = Ledger.open(path)
    sizes = led.query("""SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM llm_calls) AS calls,
                                (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM pattern_usage) AS hits""")
    s = sizes.iloc[0]
    print(f"   {s.runs:,} runs, {s.calls:,} calls, {s.events:,} events, {s.hits:,} pattern hits, "
          f"{path.stat().st_size / 1e6:.0f} MB")

    filtered = A.Filters(model="gpt-4o-mini", mode="workflow", prompt_version="v2")
    rows = []
    for name, fn in A.QUERIES.items():
        rows.append((name, _median_ms(lambda fn=fn: fn(led, A.Filters())), _median_ms(lambda fn=fn: fn(led, filtered))))
    search = A.Filters(text="number 4242")
    rows.append(("run_list (text search)", _median_ms(lambda: A.run_list(led, search)), float("nan")))
    rows.append(("run_trace", _median_ms(lambda: A.run_trace(led, "bench-4242")), float("nan")))
    rows.append(("spend_today", _median_ms(led.spend_today), float("nan")))

    print(f"   {'query':<28} {'all runs ms':>12} {'filtered ms':>12}  target < {QUERY_TARGET_MS:.0f} ms")
    for name, all_ms, filtered_ms in rows:
        worst = max(all_ms, 0 if filtered_ms != filtered_ms else filtered_ms)
        flag = "ok" if worst < QUERY_TARGET_MS else "SLOW"
        shown = "" if filtered_ms != filtered_ms else f"{filtered_ms:.1f}"
        print(f"   {name:<28} {all_ms:>12.1f} {shown:>12}  {flag}")

    warm, p95, cold = _time_record_call(led)
    flag = "ok" if warm < CALL_TARGET_MS else "SLOW"
    print(f"   record_call (real path, into the 100k ledger): median {warm:.2f} ms, p95 {p95:.2f} ms  "
          f"target < {CALL_TARGET_MS:.0f} ms median  {flag}")
    print(f"   record_call after the file was let go (reopen): median {cold:.1f} ms")
    led.close()


if __name__ == "__main__":
    main()
