"""A writer killed mid-run: the next open marks its run interrupted, and no recorded call is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from core.ledger import Ledger

HELPER = Path(__file__).with_name("helpers.py")


def test_sigkill_mid_run_leaves_an_interrupted_run_with_every_recorded_call(settings):
    path = settings.ledger_path
    proc = subprocess.Popen([sys.executable, str(HELPER), "crash", str(path), "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline().split()
    assert first and first[0] == "READY", proc.stderr.read()
    run_id = first[1]
    reported = 5
    for line in proc.stdout:  # let it write on; kill it while it is busy writing
        reported = int(line.split()[1])
        if reported >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    reported = max([reported] + [int(line.split()[1]) for line in rest.splitlines() if line.startswith("CALL")])

    led = Ledger.open(path)
    run = led.get_run(run_id)
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    assert run["calls"] in (reported, reported + 1)  # +1: recorded, killed before it could say so
    prompts = led.query("SELECT prompt_tokens FROM llm_calls WHERE run_id = ? ORDER BY id", [run_id])["prompt_tokens"]
    assert prompts.tolist() == [500 + j for j in range(run["calls"])]  # none missing, none twice
    events = led.query("SELECT type, payload FROM events WHERE run_id = ? ORDER BY seq", [run_id])
    assert events["type"].iloc[0] == "run.started" and events["type"].iloc[-1] == "run.interrupted"
    assert (events["type"] == "run.interrupted").sum() == 1
    assert json.loads(events["payload"].iloc[-1])["calls"] == run["calls"]

    Ledger.open(path)  # opening again does not interrupt it twice
    assert led.query("SELECT count(*) AS n FROM events WHERE type = 'run.interrupted'")["n"][0] == 1


def test_a_live_writers_run_is_left_running(ledger, settings):
    run_id = ledger.start_run(requirement="still going", provider="openai", model="gpt-4o-mini")
    Ledger.open(settings)  # e.g. another app session opening the ledger
    assert ledger.get_run(run_id)["status"] == "running"


def test_another_hosts_run_is_left_running_a_dead_local_one_is_not(ledger, settings):
    remote = ledger.start_run(requirement="on another machine", provider="openai", model="m")
    dead = ledger.start_run(requirement="pid reused", provider="openai", model="m")
    ledger._db.write(lambda db: db.execute("UPDATE runs SET writer_host = 'elsewhere' WHERE id = ?", [remote]))
    # same pid as a live process but another start time: the pid was reused, the writer is gone
    ledger._db.write(lambda db: db.execute("UPDATE runs SET writer_started = '1' WHERE id = ?", [dead]))
    Ledger.open(settings)
    assert ledger.get_run(remote)["status"] == "running"
    assert ledger.get_run(dead)["status"] == "interrupted"
