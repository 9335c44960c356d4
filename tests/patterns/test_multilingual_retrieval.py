"""Retrieval understands Chinese and Japanese: on queries written in en/zh/ja (tests/patterns/data),
the top 3 recommendations hold an expected pattern for most queries of every language."""

from __future__ import annotations

import pytest

from benchmarks.bench_patterns import QUALITY_FILE, hit_rates
from core.config import PATTERNS_DIR, Settings
from core.patterns import PatternLibrary

from .conftest import real_pattern_files

FLOOR = 0.8

pytestmark = pytest.mark.skipif(len(real_pattern_files()) < 20, reason="needs the real pattern library")


@pytest.fixture(scope="module")
def real_library(tmp_path_factory) -> PatternLibrary:
    library = PatternLibrary.open(Settings(data_dir=tmp_path_factory.mktemp("multilingual")), patterns_dir=PATTERNS_DIR)
    library.sync()
    return library


def test_every_language_has_its_queries():
    import yaml

    queries = yaml.safe_load(QUALITY_FILE.read_text(encoding="utf-8"))["queries"]
    assert set(queries) == {"en", "zh", "ja"} and all(len(items) >= 10 for items in queries.values())
    ids = {p.stem for p in real_pattern_files()}
    unknown = {i for items in queries.values() for item in items for i in item["expect"]} - ids
    assert not unknown, f"queries expect patterns that do not exist: {unknown}"


def test_top3_hit_rate_per_language(real_library):
    rates = hit_rates(real_library)
    print({lang: {m: f"{h}/{n}" for m, (h, n) in methods.items()} for lang, methods in rates.items()})
    for lang, methods in rates.items():
        for method, (hits, total) in methods.items():
            assert hits / total >= FLOOR, f"{lang} {method}: {hits}/{total} below {FLOOR:.0%}"


def test_a_chinese_and_a_japanese_requirement_find_the_pattern_an_english_one_finds(real_library):
    en = real_library.recommend("Translate a product description into several languages at once", k=1)[0]
    zh = real_library.recommend("把一段产品介绍一次翻译成好几种语言", k=1)[0]
    ja = real_library.recommend("商品説明を複数の言語へまとめて翻訳したい", k=1)[0]
    assert en.pattern.id == zh.pattern.id == ja.pattern.id
