"""Retrieval quality on the evaluation set: the top 3 recommendations cover the node types a case needs."""

from __future__ import annotations

import pytest
import yaml

from core.config import PATTERNS_DIR, Settings
from core.patterns import PatternLibrary
from tests.conftest import EVAL_FILE

from .conftest import real_pattern_files

MIN_PATTERNS = 20
TARGET_RATE = 0.8

pytestmark = pytest.mark.skipif(
    len(real_pattern_files()) < MIN_PATTERNS,
    reason=f"needs the real library: fewer than {MIN_PATTERNS} files in patterns/ (they are being written)",
)


def cases_with_node_types() -> list[dict]:
    cases = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["cases"]
    return [c for c in cases if (c.get("expect") or {}).get("nodes_all")]


def test_top3_recommendations_cover_the_cases_node_types(tmp_path):
    library = PatternLibrary.open(Settings(data_dir=tmp_path / "data"), patterns_dir=PATTERNS_DIR)
    library.sync()
    cases = cases_with_node_types()
    assert cases, f"no case with expect.nodes_all in {EVAL_FILE}"
    misses = []
    for case in cases:
        needed = set(case["expect"]["nodes_all"])
        recs = library.recommend(case["requirement"], k=3)
        if not any(needed <= set(r.pattern.node_types) for r in recs):
            top = "; ".join(f"{r.pattern.id} [{r.explanation}] nodes={r.pattern.node_types}" for r in recs)
            misses.append(f"{case['id']}: needs {sorted(needed)}; got {top}")
    rate = 1 - len(misses) / len(cases)
    print(f"\nretrieval hit rate (top 3 cover nodes_all): {rate:.0%} of {len(cases)} cases")
    for miss in misses:
        print("  miss:", miss)
    assert rate >= TARGET_RATE, f"hit rate {rate:.0%} < {TARGET_RATE:.0%}; misses:\n" + "\n".join(misses)
