"""Compare two prompt versions on an eval set: both run as batch runs, recorded and grouped by a comparison id.

``run_comparison`` generates every case of an eval file once with version A and once with version B
(each a real run with source ``compare`` and its ``prompt_version``), scores each workflow against
the case's expectations (``core.evaluation.score_case``) and records the score beside the run id in
``comparison_runs``. ``load_comparison`` reads everything back from the ledger, so the figures it
shows are the ledger's: tokens, cost and latency come from the runs themselves. A comparison cut off
half-way keeps the runs it made; the result lists the cases that never ran.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from functools import partial
from pathlib import Path

import pandas as pd

from core.agents.prompt_store import PromptStore
from core.batch import EVAL_FILE, MAX_BATCH_BYTES, MAX_CONCURRENCY, BatchItem, BatchRowResult, run_batch
from core.config import Settings
from core.dsl import load_dsl
from core.errors import ERROR_CATEGORIES, InputError
from core.evaluation import EvalCase, load_cases, score_case
from core.ledger import Ledger
from core.ledger.store import process_marker
from core.versions import diff_versions

log = logging.getLogger(__name__)

ARMS = ("A", "B")
SOURCE = "compare"
MODEL_FAILURES = frozenset(ERROR_CATEGORIES) - {"invalid_output"}
"""Error categories that mean the model endpoint failed (rather than the prompt producing a bad answer)."""


@dataclass(frozen=True)
class CaseDone:
    """One case of one arm has finished (live progress)."""

    arm: str
    version: str
    case_id: str
    done: int
    """Cases finished so far, over both arms."""
    total: int
    """Cases to run, over both arms."""
    passed: bool
    status: str
    run_id: str | None
    seconds: float
    message: str | None = None


@dataclass
class ArmSummary:
    """The figures of one version over the comparison's cases (read from the ledger)."""

    arm: str
    version: str
    cases: int
    """Cases in the eval set."""
    ran: int
    """Cases with a recorded result for this arm."""
    passed: int
    """Met every expectation with no error-level finding."""
    valid: int
    succeeded: int
    test_runs_ok: int
    """Workflows whose test run in Dify's engine succeeded (every covered branch ran to an end)."""
    test_runs: int
    """Workflows that were test-run (runs that produced one)."""
    quality_mean: float | None
    tokens: int
    cost_usd: Decimal | None
    """None when any run's cost is unknown (an unpriced model)."""
    known_cost_usd: Decimal
    unknown_cost_runs: int
    p50_s: float | None
    p95_s: float | None
    failures: dict[str, int] = field(default_factory=dict)
    """Why cases did not pass: a run's error category, ``missed expectations``, or ``not run``."""


@dataclass
class CaseRow:
    """One case side by side."""

    case_id: str
    requirement: str
    a: dict | None
    """The A result (run_id, passed, valid, failed, node_types, message, status, ...) or None (not run)."""
    b: dict | None

    @property
    def winner(self) -> str:
        """``A``, ``B``, ``both``, ``neither`` or ``missing``."""
        if self.a is None or self.b is None:
            return "missing"
        pa, pb = self.a["passed"], self.b["passed"]
        return "both" if pa and pb else "A" if pa else "B" if pb else "neither"

    def node_diff(self) -> tuple[list[str], list[str]]:
        """Node types only A's workflow has, and only B's has (with multiplicity)."""
        a = list((self.a or {}).get("node_types") or [])
        b = list((self.b or {}).get("node_types") or [])
        only_a, rest = [], list(b)
        for t in a:
            if t in rest:
                rest.remove(t)
            else:
                only_a.append(t)
        return sorted(only_a), sorted(rest)


@dataclass
class Comparison:
    """A comparison as recorded: its setup, both arms' figures and every case side by side."""

    id: str
    version_a: str
    version_b: str
    eval_name: str
    provider: str
    model: str
    concurrency: int
    status: str
    """``running``, ``completed`` or ``interrupted`` (also when its process died mid-way)."""
    started_at: object
    finished_at: object
    arms: dict[str, ArmSummary]
    cases: list[CaseRow]

    @property
    def missing(self) -> list[tuple[str, str]]:
        """``(arm, case_id)`` of every case that has no result yet."""
        return [(arm, row.case_id) for row in self.cases for arm, r in (("A", row.a), ("B", row.b)) if r is None]

    def model_problems(self) -> list[str]:
        """Plain sentences about runs the model endpoint failed (rate limits, timeouts, auth, ...)."""
        out = []
        for arm in ARMS:
            results = [r for row in self.cases for r in [row.a if arm == "A" else row.b] if r is not None]
            broken = [r for r in results if r.get("error_category") in MODEL_FAILURES]
            if broken:
                cats = sorted({r["error_category"] for r in broken})
                first = next((r.get("message") for r in broken if r.get("message")), "")
                out.append(f"The model failed on {len(broken)} of {len(results)} {arm} run(s) of "
                           f"{self.arms[arm].version} ({', '.join(cats)}): {first[:200]}")
        return out

    def summary_line(self) -> str:
        """A sentence a person can quote: "B passes 7 more cases, costs 12% more, 0.4 s slower p50"."""
        a, b = self.arms["A"], self.arms["B"]
        delta = b.passed - a.passed
        if delta > 0:
            parts = [f"B ({b.version}) passes {delta} more case{'s' if delta != 1 else ''} than A ({a.version})"]
        elif delta < 0:
            parts = [f"B ({b.version}) passes {-delta} fewer case{'s' if delta != -1 else ''} than A ({a.version})"]
        else:
            parts = [f"B ({b.version}) passes as many cases as A ({a.version})"]
        parts[0] += f" ({b.passed} vs {a.passed} of {a.cases})"
        parts.append(_cost_phrase(a.cost_usd, b.cost_usd))
        if a.p50_s is not None and b.p50_s is not None:
            gap = b.p50_s - a.p50_s
            parts.append(f"{abs(gap):.1f} s {'slower' if gap > 0 else 'faster'} p50" if round(gap, 1)
                         else "the same p50 latency")
        line = ", ".join(parts)
        if self.missing:
            line += f" ({len(self.missing)} case run(s) missing: the comparison is incomplete)"
        return line

    def to_dict(self) -> dict:
        """Everything, ready for JSON (costs as strings, None when unknown)."""
        arms = {}
        for arm, s in self.arms.items():
            d = asdict(s)
            d["cost_usd"] = None if s.cost_usd is None else str(s.cost_usd)
            d["known_cost_usd"] = str(s.known_cost_usd)
            arms[arm] = d
        return {"id": self.id, "version_a": self.version_a, "version_b": self.version_b, "eval": self.eval_name,
                "provider": self.provider, "model": self.model, "concurrency": self.concurrency,
                "status": self.status, "started_at": str(self.started_at), "finished_at": str(self.finished_at),
                "summary": self.summary_line(), "model_problems": self.model_problems(), "arms": arms,
                "missing": [{"arm": arm, "case_id": c} for arm, c in self.missing],
                "cases": [{"case_id": r.case_id, "winner": r.winner, "A": r.a, "B": r.b,
                           "only_in_a": r.node_diff()[0], "only_in_b": r.node_diff()[1]} for r in self.cases]}


def _cost_phrase(a: Decimal | None, b: Decimal | None) -> str:
    if a is None or b is None:
        return "cost unknown (an unpriced model)"
    if a == 0 and b == 0:
        return "costs the same ($0)"
    if a == 0:
        return f"costs ${b:.4f} more"
    pct = float((b - a) / a * 100)
    if round(pct) == 0:
        return "costs the same"
    return f"costs {abs(pct):.0f}% {'more' if pct > 0 else 'less'}"


# -- running ----------------------------------------------------------------------------------------


def check_versions(store: PromptStore, version_a: str, version_b: str) -> None:
    """Refuse a comparison that cannot tell anything apart.

    Raises:
        InputError: an unknown version, the same version twice, or two versions with identical prompts.
    """
    store.get(version_a)
    store.get(version_b)
    if version_a == version_b:
        raise InputError(f"A and B are both {version_a}; a comparison needs two different prompt versions.",
                         hint="Pick another version for B.")
    if store.same_prompts(version_a, version_b):
        raise InputError(f"{version_a} and {version_b} give every agent the same prompt, so both columns would "
                         "measure the same thing.", hint="Compare versions whose prompts differ.")


def check_provider(settings: Settings) -> None:
    """Refuse the offline brain: it does not use the agent prompts.

    Raises:
        InputError: the provider is offline.
    """
    if settings.provider.kind == "offline":
        raise InputError("The offline brain does not use the agent prompts, so both versions would produce the "
                         "same workflows.", hint="Compare on a model: configure an OpenAI-compatible endpoint "
                                                 "(Settings page, or --provider openai --base-url ... --model ...).")


def unique_cases(cases: list[EvalCase]) -> list[EvalCase]:
    """The cases with ids made unique (a repeated id gets ``#2``, ``#3``...), so each has one row per arm."""
    seen: dict[str, int] = {}
    out = []
    for case in cases:
        n = seen.get(case.id, 0) + 1
        seen[case.id] = n
        out.append(case if n == 1 else EvalCase(f"{case.id}#{n}", case.requirement, case.expect))
    return out


def public_eval_files() -> list[Path]:
    """The eval files beside the project (``shared/eval/*.yaml``), sorted by name; empty when there are none."""
    folder = EVAL_FILE.parent
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def save_eval_upload(settings: Settings, name: str, content: bytes) -> Path:
    """Keep an uploaded eval file in the data folder (so the comparison can name it) and check it has cases.

    Raises:
        InputError: too big, or not an eval file with cases (the message says what is wrong).
    """
    if len(content) > MAX_BATCH_BYTES:
        raise InputError(f"{name} is {len(content) / 1024 / 1024:.1f} MB; an eval file may be at most "
                         f"{MAX_BATCH_BYTES // 1024 // 1024} MB.")
    safe = re.sub(r"[^\w.\-]+", "-", Path(name).name).strip("-.") or "eval.yaml"
    target = settings.data_dir / "eval_uploads" / f"{hashlib.sha256(content).hexdigest()[:10]}-{safe}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    try:
        load_cases(target)
    except InputError as exc:
        target.unlink(missing_ok=True)
        raise InputError(str(exc.message).replace(str(target), name), hint=exc.hint) from exc
    return target


def run_comparison(
    version_a: str,
    version_b: str,
    eval_path: str | Path,
    *,
    settings: Settings,
    ledger: Ledger | None = None,
    library=None,
    concurrency: int = 2,
    on_case: Callable[[CaseDone], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    eval_name: str | None = None,
) -> str:
    """Run every case of ``eval_path`` with version A, then with version B, and record it all.

    Args:
        version_a: the baseline prompt version.
        version_b: the candidate.
        eval_path: an eval file (``cases: [{id, requirement, expect}]``).
        settings: provider and model (not offline), budgets; its prompt_version is replaced per arm, and
            the rules never stand in for a model workflow (each arm is scored on its own prompts' work).
        ledger: where to record; opened from ``settings`` when None.
        library: the pattern library (opened by the pipeline when None).
        concurrency: runs in flight at once within an arm.
        on_case: called in the caller's thread as each case of each arm finishes.
        on_start: called with the comparison id once it is recorded (before any run).
        eval_name: the eval set's name to record (default: the file's name; an upload's own name).

    Returns:
        The comparison id; read the result with :func:`load_comparison`.

    Raises:
        InputError: offline provider, unknown or identical versions, an eval file without cases, or
            concurrency out of range. Interrupted (KeyboardInterrupt, a stopped page): the comparison
            is closed as ``interrupted`` and the exception propagates; its runs stay recorded.
    """
    check_provider(settings)
    store = PromptStore(settings.data_dir)
    check_versions(store, version_a, version_b)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"Concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}.")
    path = Path(eval_path)
    cases = unique_cases(load_cases(path))
    ledger = ledger or Ledger.open(settings)
    comparison_id = ledger.start_comparison(
        version_a=version_a, version_b=version_b, eval_name=eval_name or path.name,
        eval_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        cases=[{"id": c.id, "requirement": c.requirement} for c in cases],
        provider=settings.provider.kind, model=settings.provider.model, concurrency=concurrency)
    if on_start:
        on_start(comparison_id)
    done = 0
    total = 2 * len(cases)

    made: dict[str, tuple] = {}  # run id -> (GenerationResult, its test-run status), filled by the workers

    def record(arm: str, version: str, row: BatchRowResult) -> None:
        nonlocal done
        case = cases[row.row - 1]
        result, tested = made.pop(row.run_id, (None, None)) if row.run_id else (None, None)
        dsl = result.dsl if result is not None else _parse(row.yaml_text)
        score = score_case(case, dsl, valid=bool(row.valid), result=result)
        ledger.record_comparison_run(comparison_id, arm=arm, case_id=case.id, run_id=row.run_id,
                                     passed=score.passed and row.status == "succeeded", valid=bool(row.valid),
                                     failed=score.failed, node_types=score.node_types, test_run=tested,
                                     message=row.message)
        done += 1
        if on_case:
            on_case(CaseDone(arm, version, case.id, done, total, score.passed and row.status == "succeeded",
                             row.status, row.run_id, row.duration_s, row.message))

    items = [BatchItem(i, case.requirement, case.id) for i, case in enumerate(cases, start=1)]
    try:
        for arm, version in (("A", version_a), ("B", version_b)):
            arm_settings = replace(settings, prompt_version=version, rules_stand_in=False)  # the prompts' own work
            one = partial(_generate_one, made, settings=arm_settings, ledger=ledger, library=library)
            run_batch(items, one, concurrency=concurrency, on_result=partial(record, arm, version))
    except BaseException:
        ledger.finish_comparison(comparison_id, status="interrupted")
        raise
    ledger.finish_comparison(comparison_id, status="completed")
    return comparison_id


def _generate_one(made: dict, requirement: str, *, settings: Settings, ledger: Ledger, library):
    """One case run (source ``compare``); the pipeline test-runs the workflow in Dify's engine and records it."""
    from core.pipeline import generate

    result = generate(requirement, settings=settings, ledger=ledger, library=library, source=SOURCE)
    report = getattr(result, "test_run", None)
    if result.run_id:
        made[result.run_id] = (result, getattr(report, "status", None))
    return result


def _parse(yaml_text: str) -> dict | None:
    if not yaml_text:
        return None
    try:
        doc = load_dsl(yaml_text)
    except InputError:
        return None
    return doc if isinstance(doc, dict) else None


# -- reading ----------------------------------------------------------------------------------------


def list_comparisons(ledger: Ledger):
    """Every comparison, newest first, with how many case runs each has recorded.

    Columns: id, started_at, version_a, version_b, eval_name, provider, model, status, cases, recorded.
    """
    frame = ledger.query("""
        SELECT c.id, c.started_at, c.version_a, c.version_b, c.eval_name, c.provider, c.model, c.status,
               json_array_length(c.cases) AS cases, count(r.case_id) AS recorded,
               c.writer_host, c.writer_pid, c.writer_started
        FROM comparisons c LEFT JOIN comparison_runs r ON r.comparison_id = c.id
        GROUP BY ALL ORDER BY c.started_at DESC
    """)
    frame["status"] = [_status(s, h, p, m) for s, h, p, m in
                       zip(frame["status"], frame["writer_host"], frame["writer_pid"], frame["writer_started"],
                           strict=True)]
    return frame.drop(columns=["writer_host", "writer_pid", "writer_started"])


def _status(status: str, host, pid, marker) -> str:
    """``running`` only while the process that runs it lives; else ``interrupted``."""
    if status != "running" or host != socket.gethostname():
        return status
    alive = pid is not None and not _isna_any(pid) and process_marker(int(pid)) == marker
    return "running" if alive else "interrupted"


def load_comparison(ledger: Ledger, comparison_id: str) -> Comparison:
    """A comparison with both arms' figures and every case, all read from the ledger.

    Raises:
        InputError: no such comparison.
    """
    head = ledger.query("SELECT * FROM comparisons WHERE id = ?", [comparison_id])
    if head.empty:
        raise InputError(f"No comparison {comparison_id!r} in the ledger.",
                         hint="List them with `python -m core compare --list`.")
    c = head.iloc[0].to_dict()
    cases = json.loads(c["cases"])
    results = ledger.query("""
        SELECT cr.arm, cr.case_id, cr.run_id, cr.passed, cr.valid, cr.failed, cr.node_types, cr.message, cr.test_run,
               r.status, r.error_category, r.quality_score, r.duration_ms, r.total_tokens, r.cost_usd,
               r.prompt_version
        FROM comparison_runs cr LEFT JOIN runs_v r ON r.id = cr.run_id
        WHERE cr.comparison_id = ?
    """, [comparison_id])
    by_key: dict[tuple[str, str], dict] = {}
    for rec in results.to_dict("records"):
        run_id = rec["run_id"] if isinstance(rec["run_id"], str) else None
        by_key[(rec["arm"], rec["case_id"])] = {
            "run_id": run_id, "passed": bool(rec["passed"]), "valid": bool(rec["valid"]),
            "failed": json.loads(rec["failed"]), "node_types": json.loads(rec["node_types"]),
            "message": _text(rec["message"]), "status": _text(rec["status"]),
            "error_category": _text(rec["error_category"]), "quality_score": _num(rec["quality_score"]),
            "duration_ms": _num(rec["duration_ms"]), "tokens": int(_num(rec["total_tokens"]) or 0),
            "cost_usd": None if _isna_any(rec["cost_usd"]) else str(rec["cost_usd"]),
            "prompt_version": _text(rec["prompt_version"]),
            "test_run": _text(rec["test_run"]),
        }
    rows = [CaseRow(case["id"], case["requirement"], by_key.get(("A", case["id"])), by_key.get(("B", case["id"])))
            for case in cases]
    arms = {arm: _summarise(arm, c[f"version_{arm.lower()}"], rows) for arm in ARMS}
    status = _status(c["status"], c["writer_host"], c["writer_pid"], c["writer_started"])
    return Comparison(c["id"], c["version_a"], c["version_b"], c["eval_name"], c["provider"], c["model"],
                      int(c["concurrency"]), status, c["started_at"], None if _isna_any(c["finished_at"])
                      else c["finished_at"], arms, rows)


def _summarise(arm: str, version: str, rows: list[CaseRow]) -> ArmSummary:
    results = [r for row in rows for r in [row.a if arm == "A" else row.b] if r is not None]
    with_run = [r for r in results if r["run_id"]]
    costs = [r["cost_usd"] for r in with_run]
    durations = sorted(r["duration_ms"] for r in with_run if r["duration_ms"] is not None)
    scores = [r["quality_score"] for r in with_run if r["quality_score"] is not None]
    failures: dict[str, int] = {}
    for r in results:
        if r["passed"]:
            continue
        reason = r["error_category"] if r["status"] == "failed" and r["error_category"] else \
            "missed expectations" if r["status"] == "succeeded" else (r["error_category"] or r["status"] or "not started")
        failures[reason] = failures.get(reason, 0) + 1
    not_run = len(rows) - len(results)
    if not_run:
        failures["not run"] = not_run
    tested = [r["test_run"] for r in with_run if r["test_run"] is not None]
    return ArmSummary(
        arm=arm, version=version, cases=len(rows), ran=len(results), passed=sum(r["passed"] for r in results),
        valid=sum(r["valid"] for r in results), succeeded=sum(r["status"] == "succeeded" for r in results),
        test_runs_ok=sum(t == "succeeded" for t in tested), test_runs=len(tested),
        quality_mean=sum(scores) / len(scores) if scores else None,
        tokens=sum(r["tokens"] for r in with_run),
        cost_usd=None if any(c is None for c in costs) else sum((Decimal(c) for c in costs), Decimal(0)),
        known_cost_usd=sum((Decimal(c) for c in costs if c is not None), Decimal(0)),
        unknown_cost_runs=sum(c is None for c in costs),
        p50_s=_quantile(durations, 0.5), p95_s=_quantile(durations, 0.95), failures=failures)


def _quantile(sorted_ms: list[float], q: float) -> float | None:
    """Linear-interpolated quantile in seconds (as DuckDB's quantile_cont), None for no data."""
    if not sorted_ms:
        return None
    pos = (len(sorted_ms) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    value = sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (pos - lo)
    return value / 1000


def case_workflow_diff(ledger: Ledger, row: CaseRow) -> object | None:
    """The diff between A's and B's final workflow YAML for one case (a ``VersionDiff``), None when either is missing."""
    texts = []
    for result in (row.a, row.b):
        run_id = (result or {}).get("run_id")
        if not run_id:
            return None
        frame = ledger.query("SELECT yaml_text FROM workflows WHERE run_id = ? ORDER BY version DESC LIMIT 1",
                             [run_id])
        if frame.empty:
            return None
        texts.append(str(frame.iloc[0]["yaml_text"]))
    return diff_versions(texts[0], texts[1], old_label=f"A {row.case_id}", new_label=f"B {row.case_id}")


def _text(value) -> str | None:
    return None if _isna_any(value) else str(value)


def _num(value) -> float | None:
    return None if _isna_any(value) else float(value)


def _isna_any(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


__all__ = ["ArmSummary", "CaseDone", "CaseRow", "Comparison", "case_workflow_diff", "check_provider",
           "check_versions", "list_comparisons", "load_comparison", "public_eval_files", "run_comparison",
           "save_eval_upload"]
