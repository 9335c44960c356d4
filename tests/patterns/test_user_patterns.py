"""User patterns: added after checks, kept across restarts, removable; built-ins protected."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.errors import PatternError
from core.patterns import PatternLibrary

from .conftest import FIXTURES, INVALID


def user_yaml(pattern_id: str = "my-stock-poller") -> str:
    text = (FIXTURES / "http-digest.yaml").read_text(encoding="utf-8")
    return text.replace("id: fixture-http-digest", f"id: {pattern_id}").replace(
        "name: Web page digest", "name: Stock price poller"
    )


def reopen(tmp_path) -> PatternLibrary:
    return PatternLibrary.open(Settings(data_dir=tmp_path / "data"), patterns_dir=tmp_path / "patterns")


def test_an_added_pattern_is_kept_searchable_and_survives_a_restart(library, tmp_path):
    added = library.add_user_pattern(user_yaml())
    assert added.source == "user"
    assert added.path == tmp_path / "data" / "user_patterns" / "my-stock-poller.yaml"
    assert added.path.read_text(encoding="utf-8") == user_yaml()
    assert library.search("stock price poller", k=1)[0].pattern.id == "my-stock-poller"
    assert library._collection.get(ids=["my-stock-poller"])["metadatas"][0]["source"] == "user"

    again = reopen(tmp_path)
    report = again.sync()
    assert "my-stock-poller" in report.unchanged and not report.loaded
    assert again.get("my-stock-poller").source == "user"
    assert [p.id for p in again.list(source="user")] == ["my-stock-poller"]
    assert again.stats()["by_source"] == {"builtin": 3, "user": 1}


def test_adding_the_same_id_again_replaces_the_user_pattern(library):
    library.add_user_pattern(user_yaml())
    library.add_user_pattern(user_yaml().replace("Stock price poller", "Crypto price poller"))
    assert library.get("my-stock-poller").name == "Crypto price poller"
    assert len(library.list(source="user")) == 1


def test_an_id_of_a_built_in_pattern_is_refused(library, tmp_path):
    with pytest.raises(PatternError, match="belongs to a built-in pattern"):
        library.add_user_pattern(user_yaml("fixture-doc-summary"))
    assert not (tmp_path / "data" / "user_patterns").exists()


def test_a_broken_pattern_is_refused_with_a_clear_message(library):
    with pytest.raises(PatternError, match="not valid YAML"):
        library.add_user_pattern((INVALID / "broken-yaml.yaml").read_text())
    with pytest.raises(PatternError, match="bad metadata"):
        library.add_user_pattern((INVALID / "bad-metadata.yaml").read_text())


def test_a_pattern_with_validator_errors_is_refused_with_findings(library):
    with pytest.raises(PatternError) as info:
        library.add_user_pattern((INVALID / "dsl-errors.yaml").read_text())
    assert info.value.findings and all(f.severity == "error" for f in info.value.findings)
    with pytest.raises(PatternError):
        library.get("fixture-dsl-errors")


def test_removing_a_user_pattern_deletes_file_and_index_entry(library, tmp_path):
    added = library.add_user_pattern(user_yaml())
    library.remove_user_pattern("my-stock-poller")
    assert not added.path.exists()
    assert library._collection.get(ids=["my-stock-poller"])["ids"] == []
    with pytest.raises(PatternError):
        library.get("my-stock-poller")
    assert "my-stock-poller" not in {p.id for p in reopen(tmp_path).list()}


def test_a_built_in_pattern_cannot_be_removed(library, tmp_path):
    with pytest.raises(PatternError, match="built-in pattern and cannot be removed") as info:
        library.remove_user_pattern("fixture-doc-summary")
    assert "Only user patterns" in info.value.hint
    assert (tmp_path / "patterns" / "doc-summary.yaml").exists()
    assert library.get("fixture-doc-summary")


def test_a_user_file_repeating_a_built_in_id_is_reported_at_sync(library, tmp_path):
    user_dir = tmp_path / "data" / "user_patterns"
    user_dir.mkdir(parents=True)
    (user_dir / "copy.yaml").write_text(user_yaml("fixture-http-digest"), encoding="utf-8")
    report = library.sync()
    (failure,) = report.failed
    assert "duplicate pattern id 'fixture-http-digest'" in failure.message and "(builtin)" in failure.message
    assert library.get("fixture-http-digest").source == "builtin"
