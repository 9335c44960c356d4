"""The run ledger's write API: every run, call, event, pattern hit and workflow version, kept.

Every method writes one committed transaction (see ``connection.py``), so whatever a method
recorded is on disk when it returns. Costs are priced here (``core.pricing``) and stored per call;
run totals are derived from the calls (``run_totals`` view), never typed twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from core.config import Settings
from core.errors import InputError, LedgerUnavailable
from core.ledger.connection import SharedDatabase, shared_database, unavailable
from core.ledger.migrations import migrate
from core.ledger.redact import redact, redact_dsl, redact_json
from core.pricing import Price, price_call
from core.usage import CallRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

SOURCES = ("app", "cli", "batch", "eval", "compare")
FINISH_STATUSES = ("succeeded", "failed")
TERMINAL_EVENTS = {"succeeded": "run.completed", "failed": "run.failed", "interrupted": "run.interrupted"}
LIFECYCLE_EVENTS = frozenset({"run.started", "llm.call", *TERMINAL_EVENTS.values()})
"""Written by the ledger itself (start_run, record_call, finish_run, open); not by record_event."""


class RunNotFound(InputError):
    """No run with that id in the ledger."""


@dataclass(frozen=True)
class PatternHit:
    """One retrieved pattern of a run."""

    pattern_id: str
    rank: int
    """1 = best match."""
    score: float | None = None
    used: bool = False
    """Whether the architecture drew on it."""


def utcnow() -> datetime:
    """Now, in UTC, without a zone (how the ledger stores time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def process_marker(pid: int) -> str | None:
    """The start time of process ``pid`` (from /proc), or None when there is no such live process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # fields from the 3rd on (the name may hold spaces)
    if fields[0] in ("Z", "X"):  # a zombie has ended; only its parent has not reaped it yet
        return None
    return fields[19]  # field 22: starttime, in clock ticks since boot


_HOST = socket.gethostname()


class Ledger:
    """A handle on the run ledger; cheap to create, safe to share between threads.

    Use :meth:`open`, which migrates the file and marks runs of dead processes ``interrupted``.
    """

    def __init__(self, db: SharedDatabase, *, log_content: bool = True, lock_timeout_s: float = 10.0) -> None:
        self._db = db
        self.path = db.path
        self.log_content = log_content
        self.lock_timeout_s = lock_timeout_s

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, settings_or_path: Settings | str | Path, *, log_content: bool | None = None, lock_timeout_s: float = 10.0
    ) -> Ledger:
        """Open (creating and migrating as needed) the ledger file.

        Args:
            settings_or_path: ``Settings`` (uses ``ledger_path`` and ``log_content``) or a file path.
            log_content: store prompt and response texts; defaults to the settings' value (or True).
            lock_timeout_s: how long to wait for another process holding the file.

        Raises:
            LedgerUnavailable: the file is locked, unreadable, not DuckDB, or the disk is full.
        """
        if isinstance(settings_or_path, Settings):
            path = settings_or_path.ledger_path
            log_content = settings_or_path.log_content if log_content is None else log_content
        else:
            path = Path(settings_or_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise unavailable(path, exc) from exc
        ledger = cls(shared_database(path), log_content=log_content is not False, lock_timeout_s=lock_timeout_s)
        ledger._write(migrate, transaction=False)
        interrupted = ledger._write(_mark_dead_runs_interrupted)
        if interrupted:
            shown = ", ".join(interrupted[:5]) + (", ..." if len(interrupted) > 5 else "")
            log.warning("marked %d run(s) of ended processes as interrupted: %s", len(interrupted), shown)
        return ledger

    def close(self) -> None:
        """Let go of the file now (it is also let go by itself after a moment of idleness)."""
        self._db.release()

    # -- writes ---------------------------------------------------------------------------------

    def start_run(
        self,
        *,
        requirement: str,
        provider: str,
        model: str,
        mode: str | None = None,
        prompt_version: str = "v1",
        parent_run_id: str | None = None,
        source: str = "app",
        app_name: str | None = None,
    ) -> str:
        """Record a new ``running`` run and its ``run.started`` event.

        Args:
            requirement: the user's requirement text.
            provider: the provider kind (``offline``, ``openai``), a string: never a ProviderConfig,
                so no API key can reach the ledger.
            model: the model name (``offline`` steps: any label).
            mode: app mode when already known (``workflow``, ``advanced-chat``).
            prompt_version: the prompt-set label, for comparing prompt versions.
            parent_run_id: the run this one refines.
            source: ``app``, ``cli``, ``batch``, ``eval`` or ``compare`` (a prompt-version comparison).
            app_name: the generated app's name, when known.

        Returns:
            The run id (also the correlation id for logs and events).
        """
        _require_str("provider", provider)
        _require_str("model", model)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        run_id = str(uuid.uuid4())
        now = utcnow()
        pid = os.getpid()
        row = [
            run_id, parent_run_id, redact(requirement), mode, provider, model, "running", now, prompt_version,
            source, app_name, _HOST, pid, process_marker(pid),
        ]
        payload = {"provider": provider, "model": model, "source": source, "prompt_version": prompt_version,
                   "parent_run_id": parent_run_id, "pid": pid}

        def write(db: duckdb.DuckDBPyConnection) -> None:
            db.execute(
                """INSERT INTO runs (id, parent_run_id, requirement, mode, provider, model, status, started_at,
                   prompt_version, source, app_name, writer_host, writer_pid, writer_started)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                row,
            )
            _insert_event(db, run_id, "run.started", payload, now)

        self._write(write)
        return run_id

    def record_call(self, run_id: str, call: CallRecord) -> Price:
        """Store one model call (or offline step), priced, with an ``llm.call`` event.

        Prompt and response texts are kept only when content logging is on. The call is on disk
        when this returns.

        Returns:
            The call's price (``cost_usd`` None when unknown), e.g. for a run budget.
        """
        price = price_call(call.provider, call.model, call.prompt_tokens, call.completion_tokens, call.cached_tokens)
        now = utcnow()
        keep = self.log_content
        row = [
            run_id, call.agent, call.attempt, call.provider, call.model, int(call.prompt_tokens),
            int(call.completion_tokens), int(call.cached_tokens), price.cost_usd, price.source, float(call.latency_ms),
            call.outcome, call.error_category, redact(call.error_message), bool(call.is_fallback),
            redact(call.prompt_text) if keep else None, redact(call.response_text) if keep else None, now,
        ]
        payload = {
            "agent": call.agent, "attempt": call.attempt, "model": call.model, "outcome": call.outcome,
            "error_category": call.error_category, "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens, "cached_tokens": call.cached_tokens,
            "cost_usd": None if price.cost_usd is None else str(price.cost_usd), "latency_ms": call.latency_ms,
        }

        def write(db: duckdb.DuckDBPyConnection) -> None:
            call_id = db.execute(
                """INSERT INTO llm_calls (run_id, agent, attempt, provider, model, prompt_tokens, completion_tokens,
                   cached_tokens, cost_usd, pricing_source, latency_ms, outcome, error_category, error_message,
                   is_fallback, prompt_text, response_text, called_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                row,
            ).fetchone()[0]
            _insert_event(db, run_id, "llm.call", {"call_id": call_id, **payload}, now)

        self._write(write)
        return price

    def record_event(self, run_id: str, type: str, payload: dict | None = None) -> None:
        """Store a pipeline event (``stage.started``, ``stage.completed``, ``repair.round``, ...).

        Raises:
            ValueError: ``type`` is one the ledger writes itself (``run.*``, ``llm.call``).
        """
        if type in LIFECYCLE_EVENTS:
            raise ValueError(f"{type!r} events are written by the ledger itself (start_run/record_call/finish_run)")
        now = utcnow()
        self._write(lambda db: _insert_event(db, run_id, type, payload, now))

    def record_patterns(self, run_id: str, hits: list[PatternHit]) -> None:
        """Store the patterns retrieved for a run (rank, score, whether used).

        ``hits`` may be PatternHit or anything with ``pattern_id``, ``rank``, ``score``, ``used``.
        """
        rows = [[run_id, h.pattern_id, int(h.rank), h.score, bool(h.used)] for h in hits]
        if rows:
            self._write(lambda db: db.executemany("INSERT INTO pattern_usage VALUES (?, ?, ?, ?, ?)", rows))

    def record_workflow(
        self,
        run_id: str,
        *,
        yaml_text: str,
        app_mode: str | None,
        valid: bool,
        errors: int,
        warnings: int,
        name: str | None = None,
    ) -> int:
        """Store one produced DSL version of a run.

        Returns:
            The version number (1 for the run's first workflow).
        """
        text = redact_dsl(yaml_text) or ""  # secret values masked; the document's structure kept
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        now = utcnow()

        def write(db: duckdb.DuckDBPyConnection) -> int:
            version = db.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM workflows WHERE run_id = ?", [run_id]
            ).fetchone()[0]
            db.execute(
                "INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, version, text, digest, app_mode, bool(valid), int(errors), int(warnings), name, now],
            )
            return int(version)

        return self._write(write)

    def record_test_run(self, run_id: str | None, report: Any, *, workflow_version: int | None = None) -> int:
        """Store one test run in Dify's engine (a ``core.testrun.TestRunReport``) and its node trace.

        Returns:
            The test run's id.
        """
        now = utcnow()
        warnings = sum(f.severity == "warning" for f in report.findings)
        head = [run_id, workflow_version, report.status, report.engine, report.provider, bool(report.live_http),
                len(report.runs), len(report.node_status()), len(report.errors), warnings, int(report.tokens),
                float(report.elapsed_ms), redact_json(report.inputs), json.dumps(report.synthesized),
                json.dumps(report.stubbed), json.dumps(report.uncovered),
                redact(json.dumps([f.to_dict() for f in report.findings], ensure_ascii=False)), now]
        nodes = [[branch, seq, run.label, n.node_id, n.node_type, n.title, n.status, bool(n.stub), n.parent_id,
                  float(n.elapsed_ms), _json_or_none(n.inputs), _json_or_none(n.outputs), redact(n.error)]
                 for branch, run in enumerate(report.runs) for seq, n in enumerate(run.nodes)]

        def write(db: duckdb.DuckDBPyConnection) -> int:
            test_run_id = db.execute(
                "INSERT INTO test_runs (run_id, workflow_version, status, engine, provider, live_http, branch_runs, "
                "nodes_reached, errors, warnings, tokens, duration_ms, inputs, synthesized, stubbed, uncovered, "
                "findings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                head,
            ).fetchone()[0]
            if nodes:
                db.executemany("INSERT INTO test_run_nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               [[test_run_id, *row] for row in nodes])
            return int(test_run_id)

        return self._write(write)

    def test_runs(self, run_id: str) -> pd.DataFrame:
        """A run's test runs, oldest first (one row each; findings as JSON text)."""
        return self.query("SELECT * FROM test_runs WHERE run_id = ? ORDER BY id", [run_id])

    def test_run_nodes(self, test_run_id: int) -> pd.DataFrame:
        """The node trace of one test run, by branch run and order."""
        return self.query("SELECT * FROM test_run_nodes WHERE test_run_id = ? ORDER BY branch, seq", [test_run_id])

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        error_category: str | None = None,
        error_message: str | None = None,
        quality_score: float | None = None,
        errors: int = 0,
        warnings: int = 0,
        app_mode: str | None = None,
        app_name: str | None = None,
    ) -> None:
        """Close a running run and write its one terminal event (``run.completed`` / ``run.failed``).

        Raises:
            ValueError: ``status`` is not ``succeeded`` or ``failed``.
            RunNotFound: no running run with that id (unknown, or already finished).
        """
        if status not in FINISH_STATUSES:
            raise ValueError(f"status must be one of {FINISH_STATUSES}, not {status!r}")
        now = utcnow()
        message = redact(error_message)

        def write(db: duckdb.DuckDBPyConnection) -> None:
            row = db.execute("SELECT status, started_at FROM runs WHERE id = ?", [run_id]).fetchone()
            if row is None:
                raise RunNotFound(f"No run {run_id!r} in the ledger.")
            if row[0] != "running":
                raise RunNotFound(f"Run {run_id} is already {row[0]}; it cannot be finished again.")
            duration_ms = (now - row[1]).total_seconds() * 1000
            db.execute(
                """UPDATE runs SET status = ?, error_category = ?, error_message = ?, quality_score = ?,
                   validation_errors = ?, validation_warnings = ?, finished_at = ?, duration_ms = ?,
                   mode = coalesce(?, mode), app_name = coalesce(?, app_name)
                   WHERE id = ?""",
                [status, error_category, message, quality_score, int(errors), int(warnings), now, duration_ms,
                 app_mode, app_name, run_id],
            )
            totals = _totals(db, run_id)
            payload = {"status": status, "error_category": error_category, "duration_ms": duration_ms, **totals}
            _insert_event(db, run_id, TERMINAL_EVENTS[status], payload, now)

        self._write(write)

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything recorded for it (calls, events, patterns, workflows)."""

        def write(db: duckdb.DuckDBPyConnection) -> None:
            db.execute("DELETE FROM test_run_nodes WHERE test_run_id IN (SELECT id FROM test_runs WHERE run_id = ?)",
                       [run_id])
            for table in ("llm_calls", "events", "pattern_usage", "workflows", "test_runs"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            db.execute("DELETE FROM runs WHERE id = ?", [run_id])

        self._write(write)

    # -- prompt-version comparisons ---------------------------------------------------------------

    def start_comparison(self, *, version_a: str, version_b: str, eval_name: str, eval_sha256: str,
                         cases: list[dict], provider: str, model: str, concurrency: int) -> str:
        """Record a new ``running`` comparison of two prompt versions on an eval set.

        Args:
            cases: ``[{"id", "requirement"}]`` in file order: what both versions are to run.
            provider: the provider kind (a string, never a ProviderConfig).

        Returns:
            The comparison id (its runs are recorded with :meth:`record_comparison_run`).
        """
        _require_str("provider", provider)
        _require_str("model", model)
        comparison_id = str(uuid.uuid4())
        pid = os.getpid()
        row = [comparison_id, version_a, version_b, eval_name, eval_sha256, redact_json(cases), provider, model,
               int(concurrency), "running", utcnow(), _HOST, pid, process_marker(pid)]
        self._write(lambda db: db.execute(
            """INSERT INTO comparisons (id, version_a, version_b, eval_name, eval_sha256, cases, provider, model,
               concurrency, status, started_at, writer_host, writer_pid, writer_started)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", row))
        return comparison_id

    def record_comparison_run(self, comparison_id: str, *, arm: str, case_id: str, run_id: str | None, passed: bool,
                              valid: bool, failed: list[str], node_types: list[str], test_run: str | None = None,
                              message: str | None = None) -> None:
        """Store how one case of one arm (``A`` or ``B``) of a comparison scored, and which run made it.

        ``test_run`` is the status of the workflow's test run in Dify's engine (None: no workflow).
        """
        if arm not in ("A", "B"):
            raise ValueError(f"arm must be 'A' or 'B', not {arm!r}")
        row = [comparison_id, arm, case_id, run_id, bool(passed), bool(valid), json.dumps(failed, ensure_ascii=False),
               json.dumps(node_types), test_run, redact(message), utcnow()]
        self._write(lambda db: db.execute("INSERT INTO comparison_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row))

    def finish_comparison(self, comparison_id: str, *, status: str) -> None:
        """Close a running comparison as ``completed`` or ``interrupted`` (a no-op when already closed)."""
        if status not in ("completed", "interrupted"):
            raise ValueError(f"status must be 'completed' or 'interrupted', not {status!r}")
        self._write(lambda db: db.execute(
            "UPDATE comparisons SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'",
            [status, utcnow(), comparison_id]))

    def recompute_costs(self) -> int:
        """Re-price every stored call from its stored tokens (e.g. after a price update).

        Returns:
            How many calls' cost or pricing source changed.
        """

        def write(db: duckdb.DuckDBPyConnection) -> int:
            combos = db.execute(
                """SELECT DISTINCT provider, model, prompt_tokens, completion_tokens, cached_tokens
                   FROM llm_calls"""
            ).fetchall()
            priced = [(*combo, *_price_tuple(price_call(*combo))) for combo in combos]
            if not priced:
                return 0
            new = pd.DataFrame(
                priced,
                columns=["provider", "model", "prompt_tokens", "completion_tokens", "cached_tokens", "cost", "source"],
            )
            new["cost"] = new["cost"].astype(object)
            db.register("new_prices", new)
            changed = db.execute(
                """UPDATE llm_calls c SET cost_usd = n.cost::DECIMAL(18, 10), pricing_source = n.source
                   FROM new_prices n
                   WHERE c.provider = n.provider AND c.model = n.model AND c.prompt_tokens = n.prompt_tokens
                     AND c.completion_tokens = n.completion_tokens AND c.cached_tokens = n.cached_tokens
                     AND (c.cost_usd IS DISTINCT FROM n.cost::DECIMAL(18, 10) OR c.pricing_source <> n.source)"""
            ).fetchone()[0]
            db.unregister("new_prices")
            return int(changed)

        return self._write(write)

    # -- reads ----------------------------------------------------------------------------------

    def spend_today(self) -> float:
        """USD spent on priced calls since midnight UTC, across all runs (unknown prices count as 0)."""
        midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        value = self.read(
            lambda db: db.execute(
                "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE called_at >= ?", [midnight]
            ).fetchone()[0]
        )
        return float(value)

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run with its derived totals (columns of ``runs_v``).

        Raises:
            RunNotFound: no such run.
        """
        df = self.query("SELECT * FROM runs_v WHERE id = ?", [run_id])
        if df.empty:
            raise RunNotFound(f"No run {run_id!r} in the ledger.", hint="List runs with `python -m core runs list`.")
        return {k: _plain(v) for k, v in df.iloc[0].to_dict().items()}

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame (for the analytics module and tests)."""
        return self.read(lambda db: db.execute(sql, params or []).df())

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(cursor)`` with a read cursor on the ledger (for the analytics module)."""
        return self._db.read(fn, timeout_s=self.lock_timeout_s)

    def _write(self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, transaction: bool = True) -> T:
        return self._db.write(fn, transaction=transaction, timeout_s=self.lock_timeout_s)


# -- helpers ------------------------------------------------------------------------------------


def _json_or_none(value: Any) -> str | None:
    """A traced value as JSON text with key-like strings masked (``None`` stays ``None``)."""
    if value is None:
        return None
    return redact(json.dumps(value, ensure_ascii=False, default=str))


def _require_str(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a string (e.g. provider.kind / provider.model), not {type(value).__name__}; "
            "the ledger never takes a ProviderConfig, so no API key can reach it"
        )


def _insert_event(db: duckdb.DuckDBPyConnection, run_id: str, type: str, payload: dict | None, at: datetime) -> None:
    db.execute("INSERT INTO events (run_id, type, occurred_at, payload) VALUES (?, ?, ?, ?)", [run_id, type, at, redact_json(payload)])


def _totals(db: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    row = db.execute(
        "SELECT calls, prompt_tokens, completion_tokens, cached_tokens, cost_usd FROM run_totals WHERE run_id = ?",
        [run_id],
    ).fetchone()
    calls, prompt, completion, cached, cost = row
    return {"calls": calls, "prompt_tokens": prompt, "completion_tokens": completion, "cached_tokens": cached,
            "cost_usd": None if cost is None else str(cost)}


def _price_tuple(price: Price) -> tuple[str | None, str]:
    return (None if price.cost_usd is None else str(price.cost_usd), price.source)


def _plain(value: Any) -> Any:
    """pandas/numpy scalars -> plain Python (NaN/NaT -> None) for get_run's dict."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def _mark_dead_runs_interrupted(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs left ``running`` by a process of this host that has ended -> ``interrupted``."""
    rows = db.execute(
        "SELECT id, writer_host, writer_pid, writer_started, started_at FROM runs WHERE status = 'running'"
    ).fetchall()
    now = utcnow()
    dead = []
    for run_id, host, pid, started_marker, started_at in rows:
        if host not in (None, _HOST):
            continue  # another machine's process: we cannot tell whether it lives
        if pid is not None and started_marker is not None and process_marker(pid) == started_marker:
            continue  # its writer is alive
        dead.append(run_id)
        duration_ms = (now - started_at).total_seconds() * 1000
        db.execute(
            """UPDATE runs SET status = 'interrupted', finished_at = ?, duration_ms = ?,
               error_message = 'The process writing this run ended before the run finished.'
               WHERE id = ? AND status = 'running'""",
            [now, duration_ms, run_id],
        )
        totals = _totals(db, run_id)
        _insert_event(db, run_id, "run.interrupted", {"writer_pid": pid, **totals}, now)
    return dead


def ledger_health(settings: Settings) -> tuple[bool, str]:
    """Whether the ledger can be opened, and a one-line message for the app's sidebar.

    Returns:
        ``(True, "Run ledger OK: <path>, N runs")`` or ``(False, <what is wrong and what to do>)``.
    """
    try:
        ledger = Ledger.open(settings, lock_timeout_s=3.0)
        runs = ledger.read(lambda db: db.execute("SELECT count(*) FROM runs").fetchone()[0])
    except LedgerUnavailable as exc:
        return False, str(exc)
    return True, f"Run ledger OK: {settings.ledger_path}, {runs} run(s)."


__all__ = ["Ledger", "PatternHit", "RunNotFound", "ledger_health", "utcnow"]
