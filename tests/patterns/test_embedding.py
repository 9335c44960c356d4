"""The offline embedding model: meaningful, unit-length, 384-d vectors; a well-behaved Chroma embedding function."""

from __future__ import annotations

import warnings

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from core.patterns.embedding import DIMENSIONS, MiniLMEmbeddingFunction, embed


def test_similar_sentences_score_higher_than_unrelated():
    pdf, document, weather = embed(["summarize a PDF", "summarise a document file", "weather API"])
    assert pdf @ document > 0.5
    assert pdf @ document > pdf @ weather + 0.3
    assert document @ weather < 0.2


def test_vectors_are_unit_length_with_384_dimensions():
    vectors = embed(["one", "a somewhat longer sentence about workflows", ""])
    assert vectors.shape == (3, DIMENSIONS) == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_a_vector():
    """Pad-to-longest with mask pooling: a short text embeds the same alone and beside a long one."""
    short = "classify support tickets"
    alone = embed([short])[0]
    beside = embed([short, "a much longer text " * 20])[0]
    assert float(alone @ beside) > 0.9999


def test_text_past_128_tokens_still_counts_up_to_256():
    """The shipped tokenizer truncated at 128; ours reads on to 256 tokens."""
    head = "word " * 150
    a = embed([head + "quantum chromodynamics lattice simulation"])[0]
    b = embed([head + "chocolate cake baking recipe"])[0]
    assert float(a @ b) < 0.9999
    very_long = embed(["token " * 2000])
    assert very_long.shape == (1, 384)


def test_empty_input_gives_an_empty_matrix():
    assert embed([]).shape == (0, 384)


def test_chroma_reopens_a_persisted_collection_without_warnings(tmp_path):
    settings = ChromaSettings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=str(tmp_path / "c"), settings=settings)
    client.get_or_create_collection(
        "reopen-test",
        embedding_function=MiniLMEmbeddingFunction(),
        configuration={"hnsw": {"space": "cosine"}},
    ).add(ids=["a"], documents=["hello world"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = client.get_collection("reopen-test", embedding_function=MiniLMEmbeddingFunction())
        assert again.configuration_json["embedding_function"]["name"] == MiniLMEmbeddingFunction.name()
        assert again.configuration_json["hnsw"]["space"] == "cosine"
        hit = again.query(query_texts=["hello there world"], n_results=1)
    assert hit["ids"] == [["a"]]
    assert not MiniLMEmbeddingFunction().is_legacy()
