"""Test runs in Dify's engine (graphon): time per workflow over the 46 corpus exports and over what the
offline generator makes for both eval files, and offline generation including its test runs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "dify" / "corpus"
EVAL_FILES = [SHARED / "eval" / "requirements.yaml", SHARED / "eval" / "requirements_v2.yaml"]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _line(label: str, values: list[float], target: str) -> str:
    return (f"   {label}, {len(values)} workflows: p50 {_pct(values, 0.5):.0f} ms, p95 {_pct(values, 0.95):.0f} ms, "
            f"max {max(values):.0f} ms ({target})")


def _timed_run(dsl) -> tuple[float, str, int]:
    from core.testrun import test_run

    started = time.perf_counter()
    report = test_run(dsl)
    return (time.perf_counter() - started) * 1000, report.status, len(report.runs)


def main() -> None:
    import os

    print(f"   machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures grow with it)")
    from core.config import ProviderConfig, Settings
    from core.ledger import Ledger
    from core.patterns import PatternLibrary
    from core.pipeline import generate

    _timed_run((CORPUS / "simple-kimi.yml").read_bytes())  # import graphon, warm up
    corpus, statuses, branch_runs = [], {}, []
    for path in sorted(CORPUS.glob("*.yml")):
        ms, status, runs = _timed_run(path.read_bytes())
        corpus.append(ms)
        branch_runs.append(ms / max(runs, 1))
        statuses[status] = statuses.get(status, 0) + 1
    print(_line("test run per corpus export (all branches)", corpus, "target p50 < 150 ms"))
    print(_line("  per branch run", branch_runs, "for reference"))
    print(f"   corpus outcomes: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}")

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), provider=ProviderConfig(kind="offline"))
        ledger = Ledger.open(settings)
        library = PatternLibrary.open(settings)
        library.sync()
        requirements = [c["requirement"] for f in EVAL_FILES for c in yaml.safe_load(f.read_text("utf-8"))["cases"]]
        generate(requirements[0], settings=settings, ledger=ledger, library=library)  # warm up
        generation, inside, generated, outcomes = [], [], [], {}
        for text in requirements:
            started = time.perf_counter()
            result = generate(text, settings=settings, ledger=ledger, library=library, source="eval")
            generation.append((time.perf_counter() - started) * 1000)
            outcomes[result.status] = outcomes.get(result.status, 0) + 1
            spent = ledger.query("SELECT coalesce(sum(duration_ms), 0) AS ms FROM test_runs WHERE run_id = ?",
                                 [result.run_id])["ms"][0]
            inside.append(float(spent))
            if result.dsl is not None:
                generated.append(_timed_run(result.dsl)[0])
        ledger.close()
    print(_line("test run per generated workflow (both eval files)", generated, "target p50 < 150 ms"))
    print(_line("offline generation including its test runs", generation, "target p50 < 400 ms"))
    print(_line("  of which test runs (every repair round)", inside, "for reference"))
    print(f"   generation outcomes: {', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))}")


if __name__ == "__main__":
    main()
