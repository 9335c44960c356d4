"""Idempotent sync, bad pattern files, broken index folders, and no network use."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3

import pytest

from core.config import Settings
from core.errors import PatternError
from core.patterns import PatternLibrary, embedding
from core.patterns.index import open_local

from .conftest import INVALID, VALID_FILES, make_library

VALID_IDS = ["fixture-doc-summary", "fixture-http-digest", "fixture-support-chat"]


@pytest.fixture
def embed_calls(monkeypatch) -> list[int]:
    """Counts the pattern documents sent to be embedded (the real model still runs, or its cache answers)."""
    calls: list[int] = []
    real = embedding.embed

    def counting(texts, *, query=False):
        if not query:
            calls.append(len(texts))
        return real(texts, query=query)

    monkeypatch.setattr(embedding, "embed", counting)
    return calls


def test_first_sync_loads_every_valid_pattern(library):
    report = library.sync()
    assert sorted(report.loaded) == VALID_IDS
    assert report.updated == report.removed == report.unchanged == report.failed == []
    assert library._collection.count() == 3
    assert library.get("fixture-doc-summary").node_types == ["start", "document-extractor", "llm", "end"]


def test_second_sync_embeds_nothing_even_after_reopening(tmp_path, embed_calls):
    first = make_library(tmp_path)
    first.sync()
    assert sum(embed_calls) == 3
    reopened = PatternLibrary.open(Settings(data_dir=tmp_path / "data"), patterns_dir=tmp_path / "patterns")
    report = reopened.sync()
    assert sorted(report.unchanged) == VALID_IDS
    assert report.loaded == report.updated == report.removed == report.failed == []
    assert sum(embed_calls) == 3, "an unchanged sync ran the embedding model"
    assert reopened.get("fixture-support-chat").mode == "advanced-chat"  # objects still in memory


def test_changed_pattern_is_reembedded_and_removed_one_deleted(tmp_path, embed_calls):
    lib = make_library(tmp_path)
    lib.sync()
    changed = tmp_path / "patterns" / "http-digest.yaml"
    changed.write_text(
        changed.read_text().replace("Web page digest", "Stock ticker price alert poller"), encoding="utf-8"
    )
    (tmp_path / "patterns" / "doc-summary.yaml").unlink()
    embed_calls.clear()
    report = lib.sync()
    assert report.updated == ["fixture-http-digest"]
    assert report.removed == ["fixture-doc-summary"]
    assert report.unchanged == ["fixture-support-chat"]
    assert sum(embed_calls) == 1
    assert lib._collection.count() == 2
    assert lib.get("fixture-http-digest").name == "Stock ticker price alert poller"
    assert lib.search("stock price alerts", k=1)[0].pattern.id == "fixture-http-digest"
    with pytest.raises(PatternError, match="no pattern with id 'fixture-doc-summary'"):
        lib.get("fixture-doc-summary")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken-yaml.yaml", "is not valid YAML at line"),
        ("no-metadata.yaml", "has no 'metadata' mapping"),
        ("bad-metadata.yaml", "bad metadata: id: String should match pattern"),
        ("zz-duplicate-id.yaml", "duplicate pattern id 'fixture-http-digest'"),
    ],
)
def test_a_bad_file_is_reported_and_the_rest_load(tmp_path, name, expected):
    lib = make_library(tmp_path, VALID_FILES + [INVALID / name])
    report = lib.sync()
    assert sorted(report.loaded) == VALID_IDS
    assert len(report.failed) == 1
    source, message, _findings = report.failed[0]
    assert source.endswith(name)
    assert expected in message
    assert name in message  # says which file


def test_bad_metadata_names_every_problem(tmp_path):
    report = make_library(tmp_path, [INVALID / "bad-metadata.yaml"]).sync()
    message = report.failed[0].message
    assert "id:" in message and "complexity:" in message


def test_a_pattern_with_validator_errors_is_reported_with_findings(tmp_path):
    lib = make_library(tmp_path, VALID_FILES + [INVALID / "dsl-errors.yaml"])
    report = lib.sync()
    assert sorted(report.loaded) == VALID_IDS
    (failure,) = report.failed
    assert "validator error" in failure.message
    assert failure.findings and all(f.severity == "error" for f in failure.findings)
    assert "fixture-dsl-errors" not in {p.id for p in lib.list()}


def test_a_file_that_was_valid_and_broke_leaves_the_index(tmp_path):
    lib = make_library(tmp_path)
    lib.sync()
    (tmp_path / "patterns" / "doc-summary.yaml").write_text("metadata: [oops\n", encoding="utf-8")
    report = lib.sync()
    assert report.removed == ["fixture-doc-summary"]
    assert len(report.failed) == 1
    assert lib._collection.count() == 2


def test_the_first_query_syncs_an_unsynced_library(library):
    assert [h.pattern.id for h in library.search("summarize an uploaded PDF", k=1)] == ["fixture-doc-summary"]


def _assert_recovered(tmp_path):
    """Opening reported the broken folder, moved it aside, rebuilt the index; returns the moved folder."""
    lib = make_library(tmp_path)
    recovered = lib.recovered
    assert recovered and "cannot be opened" in recovered and "rebuilt" in recovered
    report = lib.sync()
    assert report.recovered == recovered
    assert sorted(report.loaded) == VALID_IDS
    assert lib.sync().recovered is None  # said once
    asides = [p for p in (tmp_path / "data").iterdir() if p.name.startswith("chroma.broken-")]
    assert len(asides) == 1 and str(asides[0]) in recovered
    assert lib.search("web page digest", k=1)[0].pattern.id == "fixture-http-digest"
    return asides[0]


def test_a_chroma_folder_of_garbage_is_moved_aside_and_rebuilt(tmp_path):
    chroma = tmp_path / "data" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(os.urandom(4096))
    (chroma / "junk.bin").write_bytes(b"not chroma")
    aside = _assert_recovered(tmp_path)
    assert (aside / "junk.bin").read_bytes() == b"not chroma"  # kept for inspection


def test_a_chroma_folder_from_an_incompatible_version_is_reported_then_rebuilt(tmp_path):
    chroma = tmp_path / "data" / "chroma"
    open_local(chroma).add(ids=["x"], documents=["x"])
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(chroma)).stop()
    db = sqlite3.connect(chroma / "chroma.sqlite3")
    with db:  # migration history that this Chroma version does not recognise
        db.execute("UPDATE migrations SET hash = 'from-another-version' WHERE version = 1")
    db.close()
    with pytest.raises(PatternError) as info:
        open_local(chroma)
    assert "incompatible Chroma version" in info.value.message
    assert "run 'python -m core patterns init'" in info.value.hint
    _assert_recovered(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 folder anyway")
def test_an_unreadable_chroma_folder_is_moved_aside_and_rebuilt(tmp_path):
    chroma = tmp_path / "data" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(b"")
    chroma.chmod(0)
    try:
        _assert_recovered(tmp_path)
    finally:
        for p in (tmp_path / "data").iterdir():
            p.chmod(0o755)


def test_indexing_and_search_open_no_network_connection(tmp_path, monkeypatch):
    attempts: list = []

    def refuse(self, address):
        attempts.append(address)
        raise ConnectionRefusedError(f"no connections in this test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    lib = make_library(tmp_path)
    assert not lib.sync().failed
    assert lib.search("chatbot over a knowledge base", k=1)[0].pattern.id == "fixture-support-chat"
    assert lib.recommend("answer questions from our product manual")[0].pattern.id == "fixture-support-chat"
    assert attempts == []


def test_the_remote_mode_refuses_a_bad_url_clearly(tmp_path):
    with pytest.raises(PatternError, match="not an http"):
        PatternLibrary.open(Settings(data_dir=tmp_path, chroma_url="ftp://example"))


def test_an_unreachable_chroma_server_is_reported_clearly(tmp_path):
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PatternError) as info:
        PatternLibrary.open(Settings(data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{port}"))
    assert f"Chroma server at http://127.0.0.1:{port} cannot be used" in info.value.message
    assert "unset DIFYFORGE_CHROMA_URL" in info.value.hint
    assert not (tmp_path / "chroma").exists()  # the local folder is not used in server mode


def test_copying_an_index_keeps_it_usable(tmp_path):
    """The index folder is self-contained: a copy opens with every pattern unchanged."""
    lib = make_library(tmp_path / "a")
    lib.sync()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    copy = PatternLibrary.open(
        Settings(data_dir=tmp_path / "b" / "data"), patterns_dir=tmp_path / "b" / "patterns"
    )
    assert sorted(copy.sync().unchanged) == VALID_IDS


def test_a_chroma_path_that_is_a_file_is_moved_aside_and_rebuilt(tmp_path):
    """The variant of an unusable folder that also holds when the tests run as root."""
    chroma = tmp_path / "data" / "chroma"
    chroma.parent.mkdir(parents=True)
    chroma.write_text("I am not a folder")
    aside = _assert_recovered(tmp_path)
    assert aside.read_text() == "I am not a folder"
