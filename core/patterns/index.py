"""The Chroma side of the library: open (or recover) the collection, and turn patterns into records."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI, ServerAPI
from chromadb.api.client import Client as ChromaClient
from chromadb.api.client import SharedSystemClient
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError

from core.errors import PatternError
from core.patterns.embedding import E5EmbeddingFunction
from core.patterns.model import Pattern

COLLECTION = "difyforge_patterns_e5"
"""One collection per embedding model: vectors of different models never share an index."""
LEGACY_COLLECTIONS = ("difyforge_patterns",)
"""Collections of earlier models (all-MiniLM-L6-v2), dropped when found: the library re-embeds into ``COLLECTION``."""
SERVER_TIMEOUT = 10.0
"""Seconds any one request to a Chroma server may take (connect, send, wait for the answer)."""
TAG_PREFIX = "tag:"
NODE_PREFIX = "node:"
log = logging.getLogger(__name__)

_OPEN_ERRORS = (ChromaError, OSError, ValueError, RuntimeError)


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False)


class _BoundedClient(ChromaClient):
    """Chroma's client with every HTTP request bounded by ``SERVER_TIMEOUT``.

    Chroma's FastAPI client builds its ``httpx.Client`` with ``timeout=None`` and talks to the server
    while it is being constructed (identity, tenant, database). Its system is reached through this
    property before the first request, so the timeout is set there.
    """

    @property
    def _system(self):
        system = SharedSystemClient._identifier_to_system[self._identifier]
        session = getattr(system.instance(ServerAPI), "_session", None)
        if not isinstance(session, httpx.Client):  # a Chroma release that changed its internals
            raise PatternError("This Chroma version's HTTP client cannot be given a timeout.",
                               hint="Install the chromadb version pinned in requirements.txt.")
        session.timeout = httpx.Timeout(SERVER_TIMEOUT)
        return system


def _get_collection(client: ClientAPI) -> Collection:
    for legacy in LEGACY_COLLECTIONS:
        if legacy in {c.name for c in client.list_collections()}:
            log.info("dropping the pattern index %r of an earlier embedding model", legacy)
            client.delete_collection(legacy)
    collection = client.get_or_create_collection(
        COLLECTION,
        embedding_function=E5EmbeddingFunction(),
        configuration={"hnsw": {"space": "cosine"}},
    )
    collection.count()  # touches the storage: a corrupt folder fails here rather than later
    return collection


def open_remote(url: str) -> Collection:
    """The collection on a Chroma server (``settings.chroma_url``).

    Raises:
        PatternError: the server cannot be reached or refused the request.
    """
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PatternError(
            f"DIFYFORGE_CHROMA_URL {url!r} is not an http(s) URL.", hint="Use http://host:port."
        )
    settings = _chroma_settings()
    settings.chroma_api_impl = "chromadb.api.fastapi.FastAPI"
    settings.chroma_server_host = parts.hostname
    settings.chroma_server_http_port = parts.port or (443 if parts.scheme == "https" else 8000)
    settings.chroma_server_ssl_enabled = parts.scheme == "https"
    try:
        return _get_collection(_BoundedClient(settings=settings))
    except Exception as exc:  # an unreachable server surfaces as httpx, ValueError or Chroma errors
        raise server_error(url, exc) from exc


def server_error(url: str, exc: BaseException) -> PatternError:
    """The message for a failed request to the Chroma server at ``url``: a timeout says so."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:  # Chroma may wrap httpx's error in its own
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    timeout = next((e for e in chain if isinstance(e, (httpx.TimeoutException, TimeoutError))), None)
    if timeout is not None:
        what = f"did not answer within {SERVER_TIMEOUT:g} s ({type(timeout).__name__})"
    else:
        what = f"cannot be used: {str(exc).rstrip('.?! ') or type(exc).__name__}"
    return PatternError(
        f"The Chroma server at {url} {what}.",
        hint="Check that the server is running and reachable, or unset DIFYFORGE_CHROMA_URL to use the local folder.",
    )


def open_local(path: Path) -> Collection:
    """The collection in a local folder.

    Raises:
        PatternError: the folder is unreadable, corrupt or from an incompatible Chroma version.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        return _get_collection(client)
    except _OPEN_ERRORS as exc:
        _forget_system(path)
        raise PatternError(
            f"The pattern index at {path} cannot be opened ({type(exc).__name__}: {exc}); it is unreadable, "
            "corrupt, or was written by an incompatible Chroma version.",
            hint=f"Delete or move the folder {path} and run 'python -m core patterns init' to rebuild it.",
        ) from exc


def _forget_system(path: Path) -> None:
    """Drop Chroma's cached system for this folder, which a failed open leaves behind and would reuse."""
    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        try:
            system.stop()
        except (*_OPEN_ERRORS, AttributeError):  # a half-started system may lack parts it would stop
            log.debug("stopping the failed Chroma system for %s failed", path, exc_info=True)


def open_local_recovering(path: Path) -> tuple[Collection, str | None]:
    """Open the local collection; when that fails, move the folder aside and build a fresh one.

    Returns:
        The collection, and a message saying what was recovered (``None`` when nothing was).

    Raises:
        PatternError: the folder could not even be moved aside or rebuilt.
    """
    try:
        return open_local(path), None
    except PatternError as first:
        aside = path.with_name(f"{path.name}.broken-{datetime.now():%Y%m%d-%H%M%S-%f}")
        try:
            shutil.move(str(path), str(aside))
        except OSError as exc:
            raise PatternError(
                f"{first.message} Moving it aside to {aside} failed too: {exc}.", hint=first.hint
            ) from exc
        log.warning("pattern index at %s could not be opened; moved to %s and rebuilt", path, aside)
        collection = open_local(path)
        return collection, f"{first.message} It was moved to {aside} and the index was rebuilt."


def record_metadata(pattern: Pattern) -> dict[str, str | bool]:
    """Chroma metadata of a pattern: scalars only; tags and node types also as boolean flags to filter on."""
    meta: dict[str, str | bool] = {
        "id": pattern.id,
        "name": pattern.name,
        "mode": pattern.mode,
        "complexity": pattern.complexity,
        "tags": "|" + "|".join(pattern.tags) + "|",
        "node_types": "|" + "|".join(pattern.node_types) + "|",
        "source": pattern.source,
        "content_hash": pattern.content_hash,
    }
    meta.update({TAG_PREFIX + t: True for t in pattern.tags})
    meta.update({NODE_PREFIX + t: True for t in pattern.node_types})
    return meta


def where_filter(
    *,
    mode: str | None = None,
    complexity: str | None = None,
    tags: list[str] | None = None,
    node_types: list[str] | None = None,
    source: str | None = None,
) -> dict | None:
    """A Chroma ``where`` clause: every given condition must hold (each tag and node type present)."""
    clauses: list[dict] = []
    for key, value in (("mode", mode), ("complexity", complexity), ("source", source)):
        if value:
            clauses.append({key: value})
    clauses += [{TAG_PREFIX + t.lower(): True} for t in tags or []]
    clauses += [{NODE_PREFIX + t: True} for t in node_types or []]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
