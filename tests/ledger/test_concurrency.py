"""Many writers at once: 8 threads here and 2 other processes; every row lands exactly once."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.ledger import Ledger

from .helpers import write_runs

HELPER = Path(__file__).with_name("helpers.py")
THREADS, THREAD_RUNS = 8, 5
PROCS, PROC_RUNS = 2, 30
CALLS = 4


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HELPER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_threads_and_processes_write_at_the_same_time(settings):
    path = settings.ledger_path
    Ledger.open(path).close()  # migrate once, so every writer starts on the same schema
    procs = [_spawn("write", str(path), f"proc{i}", str(PROC_RUNS), str(CALLS)) for i in range(PROCS)]
    for proc in procs:  # wait until both have the ledger open, then write from the threads too
        assert proc.stdout.readline().strip() == "OPENED", proc.stderr.read()

    thread_ids: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            thread_ids[i] = write_runs(path, f"thread{i}", THREAD_RUNS, CALLS)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    proc_ids = []
    for proc in procs:
        out = proc.stdout.read()  # not communicate(): it would skip what readline() buffered
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, err
        proc_ids += out.split()
    assert not errors, errors

    expected_runs = THREADS * THREAD_RUNS + PROCS * PROC_RUNS
    all_ids = [i for ids in thread_ids for i in ids] + proc_ids
    assert len(all_ids) == len(set(all_ids)) == expected_runs

    led = Ledger.open(path)
    counts = led.query(
        """SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(DISTINCT id) FROM runs) AS distinct_runs,
                  (SELECT count(*) FROM llm_calls) AS calls, (SELECT count(DISTINCT id) FROM llm_calls) AS distinct_calls,
                  (SELECT count(*) FROM events) AS events, (SELECT count(DISTINCT seq) FROM events) AS distinct_events,
                  (SELECT count(*) FROM pattern_usage) AS patterns,
                  (SELECT count(*) FROM runs WHERE status = 'running') AS running"""
    ).iloc[0]
    assert counts.runs == counts.distinct_runs == expected_runs
    assert counts.calls == counts.distinct_calls == expected_runs * CALLS
    assert counts.events == counts.distinct_events == expected_runs * (CALLS + 2)
    assert counts.patterns == expected_runs and counts.running == 0
    assert set(led.query("SELECT id FROM runs")["id"]) == set(all_ids)
    per_run = led.query("SELECT run_id, count(*) AS n FROM llm_calls GROUP BY run_id")
    assert (per_run["n"] == CALLS).all()

    # every writer (the processes and this process's threads) wrote its own runs; whether they took turns
    # is scheduling, measured by `python -m benchmarks ledger`, not asserted here
    pids = led.query("SELECT writer_pid FROM runs ORDER BY started_at")["writer_pid"].tolist()
    assert len(set(pids)) == PROCS + 1, pids
