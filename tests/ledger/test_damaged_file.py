"""A damaged ledger file (half-truncated, a block failing its checksum) never loses a workflow and never
shows a raw DuckDB error: every command says what is wrong, where the file is and what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ProviderConfig, Settings
from core.errors import LedgerUnavailable
from core.ledger import Ledger
from core.ledger.connection import shared_database
from tests.ledger.helpers import write_runs

ROOT = Path(__file__).resolve().parents[2]


def _healthy(path: Path) -> None:
    import duckdb

    write_runs(path, "seed", 30, 2)
    shared_database(path).release()
    con = duckdb.connect(str(path))
    con.execute("CHECKPOINT")
    con.close()


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        if how == "truncated":
            fh.truncate(size // 2)
        else:  # overwrite part of every later 256 KiB block: the stored checksums no longer match
            for offset in range(3 * 262144, size, 262144):
                fh.seek(offset + 100)
                chunk = fh.read(64)
                fh.seek(offset + 100)
                fh.write(bytes(b ^ 0xFF for b in chunk))


@pytest.fixture(scope="module")
def healthy_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("healthy") / "ledger.duckdb"
    _healthy(path)
    return path


@pytest.fixture(params=["truncated", "checksum"])
def damaged(request, healthy_file, tmp_path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "ledger.duckdb"
    shutil.copy(healthy_file, path)
    _damage(path, request.param)
    return path


def _assert_clear(text: str, path: Path) -> None:
    assert "Traceback" not in text and "IOException" not in text and "_duckdb" not in text, text
    assert str(path) in text and "damaged" in text and "Move it aside" in text, text


def test_opening_or_reading_a_damaged_file_says_what_where_and_what_to_do(damaged):
    with pytest.raises(LedgerUnavailable) as info:  # a damaged block fails on open or on the first read of it
        led = Ledger.open(damaged)
        for table in ("runs", "llm_calls", "events", "workflows"):
            led.query(f"SELECT * FROM {table}")
    _assert_clear(str(info.value), damaged)


def _cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIFYFORGE_DATA_DIR": str(data), "DIFYFORGE_PROVIDER": "offline"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_every_ledger_command_gives_the_clear_message(damaged):
    for args in (["runs", "list"], ["runs", "show", "nope"], ["runs", "export", "--out", str(damaged.parent / "x")],
                 ["refine", "some-run", "add a step"]):
        result = _cli(*args, data=damaged.parent)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        _assert_clear(result.stderr, damaged)


def test_generate_still_writes_the_workflow_and_says_it_was_not_recorded(damaged, tmp_path):
    out = tmp_path / "f.yml"
    result = _cli("generate", "Summarise an article in three bullet points.", "-o", str(out), data=damaged.parent)
    assert result.returncode == 0, result.stderr
    assert out.exists() and "workflow:" in out.read_text(encoding="utf-8")
    assert "not recorded" in result.stderr
    _assert_clear(result.stderr, damaged)


def test_a_ledger_that_breaks_during_a_run_still_returns_the_workflow(tmp_path, healthy_file):
    """The file is fine when the run starts and damaged before its workflow is recorded."""
    from core.pipeline import generate

    settings = Settings(data_dir=tmp_path / "data", provider=ProviderConfig(kind="offline"))
    settings.data_dir.mkdir(parents=True)
    shutil.copy(healthy_file, settings.ledger_path)
    led = Ledger.open(settings)
    damaged = False

    def on_event(event) -> None:
        nonlocal damaged
        if event.type == "stage.started" and event.stage == "quality" and not damaged:
            led.close()
            _damage(settings.ledger_path, "checksum")
            damaged = True

    result = generate("Translate a product description into French and German.", settings=settings,
                      on_event=on_event, ledger=led, library=None, source="cli")
    assert damaged
    assert result.status == "succeeded" and result.valid and "workflow" in result.dsl
    assert result.recorded is False
    assert "not recorded" in result.ledger_problem and str(settings.ledger_path) in result.ledger_problem
    assert "Move it aside" in result.ledger_problem
