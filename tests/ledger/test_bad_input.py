"""A ledger file that cannot be used gives LedgerUnavailable naming the file and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.errors import LedgerUnavailable
from core.ledger import Ledger, ledger_health

HELPER = Path(__file__).with_name("helpers.py")
ROOT = Path(__file__).resolve().parents[2]


def test_a_file_that_is_not_duckdb(settings):
    settings.ledger_path.parent.mkdir(parents=True)
    settings.ledger_path.write_text("runs:\n  - this is YAML, not a database\n" * 50)
    with pytest.raises(LedgerUnavailable) as err:
        Ledger.open(settings)
    message = str(err.value)
    assert str(settings.ledger_path) in message and "is not a DuckDB database" in message
    assert "Move it away or set DIFYFORGE_DATA_DIR" in message
    ok, health = ledger_health(settings)
    assert not ok and "is not a DuckDB database" in health


def test_a_folder_where_the_file_should_be(settings):
    settings.ledger_path.mkdir(parents=True)
    with pytest.raises(LedgerUnavailable) as err:
        Ledger.open(settings)
    assert str(settings.ledger_path) in str(err.value) and "DIFYFORGE_DATA_DIR" in str(err.value)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(settings):
    Ledger.open(settings).close()
    settings.ledger_path.chmod(0)
    try:
        with pytest.raises(LedgerUnavailable, match="permission denied"):
            Ledger.open(settings)
    finally:
        settings.ledger_path.chmod(0o600)


def test_locked_by_another_program(settings):
    Ledger.open(settings).close()
    holder = subprocess.Popen([sys.executable, str(HELPER), "lock", str(settings.ledger_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "READY", holder.stderr.read()
        started = time.monotonic()
        with pytest.raises(LedgerUnavailable) as err:
            Ledger.open(settings, lock_timeout_s=1.0)
        waited = time.monotonic() - started
        message = str(err.value)
        assert f"{settings.ledger_path} is locked by another program" in message and str(holder.pid) in message
        assert waited >= 1.0  # it retried for the whole timeout before giving up (how long after: no timing here)
    finally:
        holder.kill()
        holder.wait()
    assert Ledger.open(settings).get_run  # free again: opens fine


def test_lock_released_while_waiting_is_not_an_error(settings):
    Ledger.open(settings).close()
    holder = subprocess.Popen([sys.executable, str(HELPER), "lock", str(settings.ledger_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "READY"
    killer = subprocess.Popen([sys.executable, "-c", f"import os,time,signal; time.sleep(0.7); os.kill({holder.pid}, 9)"])
    led = Ledger.open(settings, lock_timeout_s=10.0)  # waits through the lock, then works
    run_id = led.start_run(requirement="after the wait", provider="offline", model="offline")
    assert led.get_run(run_id)["status"] == "running"
    killer.wait()
    holder.wait()


def test_disk_full_while_writing(settings, tmp_path):
    """Simulated with a file-size limit (RLIMIT_FSIZE): writes fail with EFBIG as on a full disk."""
    Ledger.open(settings).close()
    script = tmp_path / "fill.py"
    script.write_text(textwrap.dedent(f"""
        import os, resource, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from core.errors import LedgerUnavailable
        from core.ledger import Ledger
        path = {str(settings.ledger_path)!r}
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = os.path.getsize(path) + 400_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        led = Ledger.open(path)
        run_id = led.start_run(requirement="fill the disk", provider="offline", model="offline")
        print(run_id, flush=True)
        for i in range(100):
            try:
                led.record_workflow(run_id, yaml_text=os.urandom(100_000).hex(), app_mode="workflow",
                                    valid=True, errors=0, warnings=0)
            except LedgerUnavailable as exc:
                print("SAVED", i, flush=True)
                print("ERROR", exc, flush=True)
                break
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    run_id, saved, error = lines[0], int(lines[1].split()[1]), lines[2]
    assert "is full" in error and str(settings.ledger_path) in error and "DIFYFORGE_DATA_DIR" in error
    assert "Traceback" not in out.stderr
    led = Ledger.open(settings)  # no limit here: the file is usable and what was saved is there
    assert led.get_run(run_id)["status"] == "interrupted"
    assert led.query("SELECT count(*) AS n FROM workflows")["n"][0] == saved
