"""The validator accepts every real Dify export in the corpus, and YAML io round-trips them."""

from __future__ import annotations

import pytest
import yaml

from core.dsl import dump_dsl, load_dsl, validate


@pytest.fixture(scope="session")
def corpus_texts(corpus_files) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in corpus_files}


def test_no_error_on_any_corpus_file(corpus_texts):
    false_errors = {
        name: [f"{f.code} {f.node_id} {f.path}: {f.message}" for f in validate(text).errors]
        for name, text in corpus_texts.items()
    }
    assert {name: errs for name, errs in false_errors.items() if errs} == {}


def test_corpus_reports_mode_and_version(corpus_texts):
    modes = {validate(text).app_mode for text in corpus_texts.values()}
    assert modes == {"workflow", "advanced-chat"}


def test_loader_equals_safe_load_on_corpus(corpus_texts):
    for name, text in corpus_texts.items():
        assert load_dsl(text) == yaml.safe_load(text), name


def test_round_trip_load_dump_load(corpus_texts):
    for name, text in corpus_texts.items():
        doc = load_dsl(text)
        again = load_dsl(dump_dsl(doc))
        assert again == doc, name
