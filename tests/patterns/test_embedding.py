"""The offline embedding model: meaningful, multilingual, unit-length, 384-d vectors; a well-behaved Chroma embedding function."""

from __future__ import annotations

import warnings

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from core.patterns import embedding
from core.patterns.embedding import DIMENSIONS, E5EmbeddingFunction, embed


def test_similar_sentences_score_higher_than_unrelated():
    pdf, document, weather = embed(["summarize a PDF", "summarise a document file", "weather API"])
    assert pdf @ document > pdf @ weather + 0.05
    assert pdf @ document > document @ weather + 0.05


def test_a_chinese_or_japanese_query_is_closest_to_the_english_text_that_means_it():
    docs = embed(["Translate a text into several languages.", "Summarize an uploaded PDF report.",
                  "Classify support tickets and draft a reply for each category.",
                  "Call a weather API for a city and explain the forecast."])
    for query, best in [("把这篇文章翻译成多种语言", 0), ("上传的PDF报告生成摘要", 1), ("問い合わせを分類して返信を作る", 2),
                        ("都市の天気予報をAPIで取得して説明する", 3), ("调用天气接口查询城市天气", 3)]:
        scores = docs @ embed([query], query=True)[0]
        assert int(np.argmax(scores)) == best, (query, scores)


def test_vectors_are_unit_length_with_384_dimensions():
    vectors = embed(["one", "a somewhat longer sentence about workflows", "", "一段中文", "日本語の文"])
    assert vectors.shape == (5, DIMENSIONS) == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_queries_and_passages_are_embedded_differently():
    """E5 reads 'query:' and 'passage:' prefixes: the same text gives two different vectors."""
    as_passage, as_query = embed(["classify support tickets"])[0], embed(["classify support tickets"], query=True)[0]
    assert float(as_passage @ as_query) < 0.999


def test_a_text_embeds_the_same_alone_in_a_batch_and_from_the_cache(monkeypatch):
    short = "classify support tickets"
    monkeypatch.setattr(embedding, "_cache", type(embedding._cache)())
    alone = embed([short])[0]
    monkeypatch.setattr(embedding, "_cache", type(embedding._cache)())
    beside = embed(["a much longer text " * 20, short, short])
    assert np.array_equal(alone, beside[1]) and np.array_equal(beside[1], beside[2])
    assert np.array_equal(embed([short])[0], alone)  # now from the cache


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(embedding, "_cache", type(embedding._cache)())
    monkeypatch.setattr(embedding, "CACHE_SIZE", 3)
    embed([f"text number {i}" for i in range(5)])
    assert len(embedding._cache) == 3


def test_long_text_is_read_past_the_first_window():
    head = "word " * 520
    a = embed([head + "quantum chromodynamics lattice simulation"])[0]
    b = embed([head + "chocolate cake baking recipe"])[0]
    assert float(a @ b) < 0.9999
    assert embed(["token " * 700]).shape == (1, 384)


def test_empty_input_gives_an_empty_matrix():
    assert embed([]).shape == (0, 384)


def test_chroma_reopens_a_persisted_collection_without_warnings(tmp_path):
    settings = ChromaSettings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=str(tmp_path / "c"), settings=settings)
    client.get_or_create_collection(
        "reopen-test",
        embedding_function=E5EmbeddingFunction(),
        configuration={"hnsw": {"space": "cosine"}},
    ).add(ids=["a", "b"], documents=["hello world", "tax return deadline"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = client.get_collection("reopen-test", embedding_function=E5EmbeddingFunction())
        assert again.configuration_json["embedding_function"]["name"] == E5EmbeddingFunction.name()
        assert again.configuration_json["hnsw"]["space"] == "cosine"
        hit = again.query(query_texts=["你好，世界"], n_results=1)  # queries go through embed_query
    assert hit["ids"] == [["a"]]
    assert not E5EmbeddingFunction().is_legacy()
