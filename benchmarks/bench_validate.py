"""Files per second validating the 46-file corpus in one process, YAML parsing included.

Each file's text is read once up front; a run times ``validate(text)`` (parse + every rule) over all
files. The figure is the median of several runs.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import yaml

from core.dsl import load_dsl, validate

CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "dify" / "corpus"
RUNS = 7
TARGET_FILES_PER_S = 300


def _rate(texts: list[str], fn) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for text in texts:
            fn(text)
        timings.append(time.perf_counter() - started)
    return len(texts) / statistics.median(timings)


def main() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.yml"))]
    size_kb = sum(len(t.encode("utf-8")) for t in texts) / 1024
    for text in texts:  # warm up: imports, pydantic validators, the scalar cache
        validate(text)
    full = _rate(texts, validate)
    print(f"   corpus: {len(texts)} files, {size_kb:.0f} KB; median of {RUNS} runs")
    print(f"   yaml.load CSafeLoader only : {_rate(texts, lambda t: yaml.load(t, Loader=yaml.CSafeLoader)):7.0f} files/s")
    print(f"   load_dsl only              : {_rate(texts, load_dsl):7.0f} files/s")
    print(f"   validate (parse + rules)   : {full:7.0f} files/s  (target >= {TARGET_FILES_PER_S})")
