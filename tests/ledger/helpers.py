"""Helpers shared by the ledger tests (also run as a script by the multi-process tests)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # when run as a script by a subprocess
    sys.path.insert(0, str(ROOT))

from core.ledger import Ledger, PatternHit  # noqa: E402
from core.usage import CallRecord  # noqa: E402

AGENTS = ("requirements", "architecture", "configuration", "quality")


def call(agent: str = "requirements", *, model: str = "gpt-4o-mini", provider: str = "openai", **kw) -> CallRecord:
    """A call record with plausible numbers."""
    kw.setdefault("prompt_tokens", 1200)
    kw.setdefault("completion_tokens", 300)
    kw.setdefault("latency_ms", 850.0)
    return CallRecord(agent=agent, provider=provider, model=model, **kw)


def write_runs(path: str | Path, tag: str, runs: int, calls_per_run: int) -> list[str]:
    """Write ``runs`` complete runs with ``calls_per_run`` calls each; returns their ids."""
    led = Ledger.open(path)
    print("OPENED", flush=True)
    ids = []
    for i in range(runs):
        run_id = led.start_run(requirement=f"{tag} requirement {i}", provider="openai", model="gpt-4o-mini", source="batch")
        for j in range(calls_per_run):
            led.record_call(run_id, call(AGENTS[j % 4], prompt_tokens=100 + j, completion_tokens=10 + i))
        led.record_patterns(run_id, [PatternHit("rag-qa", 1, 0.9, True)])
        led.finish_run(run_id, status="succeeded" if i % 3 else "failed")
        ids.append(run_id)
    return ids


def crash_mid_run(path: str, calls: int) -> None:
    """Start a run, record ``calls`` calls, say READY, then keep recording (saying so) until killed."""
    led = Ledger.open(path)
    run_id = led.start_run(requirement="will be killed", provider="openai", model="gpt-4o-mini", source="cli")
    for j in range(calls):
        led.record_call(run_id, call(AGENTS[j % 4], prompt_tokens=500 + j))
    print(f"READY {run_id}", flush=True)
    j = calls
    while True:
        led.record_call(run_id, call(AGENTS[j % 4], prompt_tokens=500 + j))
        j += 1
        print(f"CALL {j}", flush=True)  # printed only once the call is recorded


def hold_duckdb_lock(path: str) -> None:
    """Open the file with plain DuckDB (another program holding its lock) and hang."""
    import duckdb

    conn = duckdb.connect(path)
    conn.execute("SELECT 1")
    print("READY", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "write":
        ids = write_runs(target, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        print("\n".join(ids), flush=True)
    elif mode == "crash":
        crash_mid_run(target, int(sys.argv[3]))
    elif mode == "lock":
        hold_duckdb_lock(target)
