"""The pattern library: built-in and user patterns, kept in sync with their Chroma index, searched and ranked.

Recommendation score (weights kept simple on purpose)::

    score = 0.55 * closeness + 0.30 * capability_match + 0.15 * mode_match

``closeness`` places the requirement's cosine similarity to the pattern's document (multilingual
E5, so a Chinese or Japanese requirement is compared with the English pattern text directly) among
the candidates: ``(similarity - lowest) / max(highest - lowest, MIN_SPREAD)``, 1 for the closest
pattern (unless all are within noise of each other) and 0 for the farthest. E5 cosines are
compressed (related texts ~0.85-0.9, unrelated ~0.75-0.8), so raw cosines would let the capability
term decide almost alone; on our en/zh/ja queries closeness took the top-3 hit rate of recommend()
from 17/18, 16/18, 18/18 to 18/18 in each language (``benchmarks/bench_patterns.py``).
``capability_match`` is the share of the requirement's checkable capabilities the pattern's node
types cover (see :mod:`core.patterns.capabilities`; its cue words cover English, Chinese and
Japanese), ``mode_match`` 1 when the pattern's app mode is the wanted one. When the requirement has
no checkable capability the capability term is left out and the other two weights are rescaled to
sum to 1, so scores stay on the same 0..1 scale.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx
from chromadb.api.models.Collection import Collection
from chromadb.errors import ChromaError

from core.config import PATTERNS_DIR, Settings, load_settings
from core.errors import InputError, PatternError
from core.patterns import index
from core.patterns.capabilities import detect_capabilities, detect_mode, match_capabilities
from core.patterns.embedding import embed
from core.patterns.model import (
    Pattern,
    Recommendation,
    SearchHit,
    Source,
    SyncFailure,
    SyncReport,
    document_text,
    parse_pattern,
)

W_SIMILARITY, W_CAPABILITY, W_MODE = 0.55, 0.30, 0.15
CANDIDATES = 50
"""How many nearest patterns ``recommend`` re-ranks (all of them in a library this size)."""
MIN_SPREAD = 0.08
"""Closeness divides by at least this cosine spread, so candidates that differ only by noise stay close."""
PATTERN_SUFFIXES = (".yaml", ".yml")
log = logging.getLogger(__name__)


class PatternLibrary:
    """Built-in patterns (``patterns/``) and user patterns (``<data_dir>/user_patterns/``) with their index.

    Open it with :meth:`open`; the first query syncs it when :meth:`sync` has not run yet.
    """

    def __init__(
        self,
        collection: Collection,
        *,
        builtin_dir: Path,
        user_dir: Path,
        target_version: str = "0.6.0",
        recovered: str | None = None,
        server_url: str | None = None,
    ) -> None:
        self._collection = collection
        self.server_url = server_url
        """The Chroma server's URL when the index lives on one (``None``: a local folder)."""
        self.builtin_dir = builtin_dir
        self.user_dir = user_dir
        self.target_version = target_version
        self.recovered = recovered
        """Set when the index folder was broken and rebuilt on open: what happened (shown once by sync)."""
        self._patterns: dict[str, Pattern] | None = None
        self._lock = threading.RLock()

    @classmethod
    def open(cls, settings: Settings | None = None, *, patterns_dir: Path | None = None) -> PatternLibrary:
        """Open the index (fast; does not sync).

        A local index folder that cannot be opened is moved aside to ``chroma.broken-<timestamp>``
        and rebuilt; :attr:`recovered` says so and the next :class:`SyncReport` carries it.

        Args:
            settings: where the data lives; ``load_settings()`` when omitted.
            patterns_dir: the built-in patterns folder (the project's ``patterns/`` by default).

        Raises:
            PatternError: the index could not be opened nor rebuilt, or the Chroma server is unreachable.
        """
        settings = settings or load_settings()
        if settings.chroma_url:
            collection, recovered = index.open_remote(settings.chroma_url), None
        else:
            collection, recovered = index.open_local_recovering(settings.chroma_path)
        return cls(
            collection,
            builtin_dir=patterns_dir or PATTERNS_DIR,
            user_dir=settings.user_patterns_dir,
            target_version=settings.target_dsl_version,
            recovered=recovered,
            server_url=settings.chroma_url or None,
        )

    @contextmanager
    def _server_calls(self):
        """A failed or timed-out request to a Chroma server becomes a PatternError saying so."""
        try:
            yield
        except (httpx.HTTPError, ChromaError, OSError, ValueError) as exc:
            if self.server_url is None:
                raise
            raise index.server_error(self.server_url, exc) from exc

    # -- sync ---------------------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Bring the index in line with the pattern files: embed new and changed ones, delete removed ones.

        Unchanged files (same content hash as indexed) are neither validated nor embedded again.
        A file that cannot be read, parsed or validated, or repeats an id, is reported and skipped.
        """
        with self._lock:
            report = SyncReport(recovered=self.recovered)
            self.recovered = None
            stored = self._stored_hashes()
            patterns: dict[str, Pattern] = {}
            to_embed: list[Pattern] = []
            for source, path in self._pattern_files():
                pattern = self._load_file(path, source, patterns, report)
                if pattern is None:
                    continue
                if stored.get(pattern.id) == pattern.content_hash:
                    report.unchanged.append(pattern.id)
                elif (failure := self._check(pattern)) is not None:
                    report.failed.append(failure)
                    continue
                else:
                    (report.updated if pattern.id in stored else report.loaded).append(pattern.id)
                    to_embed.append(pattern)
                patterns[pattern.id] = pattern
            report.removed = sorted(set(stored) - set(patterns))
            self._write_index(to_embed, report.removed)
            self._patterns = patterns
            return report

    def _stored_hashes(self) -> dict[str, str]:
        with self._server_calls():
            got = self._collection.get(include=["metadatas"])
        return {
            i: str((m or {}).get("content_hash", ""))
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
        }

    def _pattern_files(self) -> list[tuple[Source, Path]]:
        files: list[tuple[Source, Path]] = []
        for source, folder in (("builtin", self.builtin_dir), ("user", self.user_dir)):
            if folder.is_dir():
                files += [(source, p) for p in sorted(folder.iterdir()) if p.suffix in PATTERN_SUFFIXES]
        return files

    def _load_file(
        self, path: Path, source: Source, seen: dict[str, Pattern], report: SyncReport
    ) -> Pattern | None:
        try:
            pattern = parse_pattern(path.read_bytes(), source=source, path=path)
        except OSError as exc:
            report.failed.append(SyncFailure(str(path), f"{path} cannot be read: {exc.strerror or exc}."))
            return None
        except PatternError as exc:
            report.failed.append(SyncFailure(str(path), str(exc)))
            return None
        if pattern.id in seen:
            first = seen[pattern.id]
            report.failed.append(
                SyncFailure(
                    str(path),
                    f"{path}: duplicate pattern id {pattern.id!r}, already used by {first.path} "
                    f"({first.source}). Give this pattern another id.",
                )
            )
            return None
        return pattern

    def _check(self, pattern: Pattern) -> SyncFailure | None:
        errors = _validation_errors(pattern, self.target_version)
        if not errors:
            return None
        first = errors[0]
        message = (
            f"{pattern.path or pattern.id}: the DSL has {len(errors)} validator error(s), first "
            f"{first.code} at {first.path}: {first.message}"
        )
        return SyncFailure(str(pattern.path or pattern.id), message, list(errors))

    def _write_index(self, patterns: list[Pattern], removed: list[str]) -> None:
        # delete then add (rather than upsert, which merges metadata and would keep stale flags)
        stale = removed + [p.id for p in patterns]
        with self._server_calls():
            if stale:
                self._collection.delete(ids=stale)
            for start in range(0, len(patterns), 256):
                batch = patterns[start : start + 256]
                self._collection.add(
                    ids=[p.id for p in batch],
                    documents=[document_text(p) for p in batch],
                    metadatas=[index.record_metadata(p) for p in batch],
                )

    def _loaded(self) -> dict[str, Pattern]:
        if self._patterns is None:
            report = self.sync()
            for failure in report.failed:
                log.warning("pattern skipped: %s", failure.message)
        assert self._patterns is not None
        return self._patterns

    # -- reading --------------------------------------------------------------------------------

    def list(
        self,
        *,
        mode: str | None = None,
        complexity: str | None = None,
        tags: list[str] | None = None,
        node_types: list[str] | None = None,
        source: str | None = None,
    ) -> list[Pattern]:
        """The patterns, filtered (every given tag and node type must be present), built-ins first, by id."""
        wanted_tags = {t.lower() for t in tags or []}
        wanted_nodes = set(node_types or [])
        found = [
            p
            for p in self._loaded().values()
            if (mode is None or p.mode == mode)
            and (complexity is None or p.complexity == complexity)
            and (source is None or p.source == source)
            and wanted_tags <= set(p.tags)
            and wanted_nodes <= set(p.node_types)
        ]
        return sorted(found, key=lambda p: (p.source != "builtin", p.id))

    def get(self, pattern_id: str) -> Pattern:
        """One pattern by id.

        Raises:
            PatternError: no pattern has this id.
        """
        pattern = self._loaded().get(pattern_id)
        if pattern is None:
            raise PatternError(
                f"There is no pattern with id {pattern_id!r}.",
                hint="List them with 'python -m core patterns list'.",
            )
        return pattern

    def search(
        self,
        text: str,
        *,
        k: int = 5,
        mode: str | None = None,
        complexity: str | None = None,
        tags: list[str] | None = None,
        node_types: list[str] | None = None,
    ) -> list[SearchHit]:
        """The ``k`` patterns closest in meaning to ``text`` among those passing the filters.

        Raises:
            InputError: the text is empty or ``k`` is not positive.
        """
        where = index.where_filter(mode=mode, complexity=complexity, tags=tags, node_types=node_types)
        return [SearchHit(p, round(s, 4)) for p, s in self._nearest(text, k, where)]

    def _nearest(self, text: str, k: int, where: dict | None) -> list[tuple[Pattern, float]]:
        if not text or not text.strip():
            raise InputError("The search text is empty.", hint="Describe what the workflow should do.")
        if k < 1:
            raise InputError(f"k must be at least 1, not {k}.")
        patterns = self._loaded()
        if not patterns:
            return []
        vector = embed([text.strip()], query=True)
        with self._server_calls():
            result = self._collection.query(
                query_embeddings=vector, n_results=min(k, len(patterns)), where=where, include=["distances"]
            )
        pairs = zip(result["ids"][0], (result["distances"] or [[]])[0], strict=True)
        return [(patterns[i], 1.0 - float(d)) for i, d in pairs if i in patterns]

    def recommend(
        self,
        requirement: str,
        *,
        k: int = 3,
        capabilities: set[str] | None = None,
        mode: str | None = None,
    ) -> list[Recommendation]:
        """The ``k`` best patterns to build ``requirement`` from, each with its score explained.

        Args:
            requirement: the plain-language requirement.
            k: how many to return.
            capabilities: the requirement's capabilities; detected from its wording when omitted.
            mode: the wanted app mode; detected from the capabilities when omitted.

        Raises:
            InputError: the requirement is empty or ``k`` is not positive.
        """
        caps = detect_capabilities(requirement or "") if capabilities is None else set(capabilities)
        wanted_mode = mode or detect_mode(requirement or "", caps)
        nearest = self._nearest(requirement, max(CANDIDATES, k), None)
        sims = [s for _, s in nearest]
        low = min(sims, default=0.0)
        spread = max(max(sims, default=0.0) - low, MIN_SPREAD)
        ranked = [
            self._score(pattern, similarity, caps, wanted_mode, (similarity - low) / spread)
            for pattern, similarity in nearest
        ]
        ranked.sort(key=lambda r: (-r.score, r.pattern.id))
        return ranked[:k]

    @staticmethod
    def _score(pattern: Pattern, similarity: float, caps: set[str], wanted_mode: str,
               closeness: float = 1.0) -> Recommendation:
        match = match_capabilities(caps, pattern.node_types, pattern.mode)
        mode_ok = pattern.mode == wanted_mode
        if match.total:
            score = W_SIMILARITY * closeness + W_CAPABILITY * match.ratio + W_MODE * mode_ok
            covers = f"covers {len(match.covered)}/{match.total} capabilities"
            covers += f" ({', '.join(match.covered)})" if match.covered else ""
            covers += f"; lacks {', '.join(match.missing)}" if match.missing else ""
        else:
            score = (W_SIMILARITY * closeness + W_MODE * mode_ok) / (W_SIMILARITY + W_MODE)
            covers = "no node-level capabilities to match"
        mode_text = (
            f"mode matches ({wanted_mode})"
            if mode_ok
            else f"mode differs ({pattern.mode}, wanted {wanted_mode})"
        )
        return Recommendation(
            pattern=pattern,
            score=round(score, 4),
            similarity=round(similarity, 4),
            capability_match=round(match.ratio, 4),
            explanation=f"similarity {similarity:.2f} (closeness {closeness:.2f} among the candidates); {covers}; {mode_text}",
            closeness=round(closeness, 4),
        )

    def stats(self) -> dict:
        """Counts of patterns: total, by source, mode, complexity, node type and tag."""
        patterns = list(self._loaded().values())

        def count(values) -> dict[str, int]:
            return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))

        return {
            "total": len(patterns),
            "by_source": count(p.source for p in patterns),
            "by_mode": count(p.mode for p in patterns),
            "by_complexity": count(p.complexity for p in patterns),
            "by_node_type": count(t for p in patterns for t in p.node_types),
            "by_tag": count(t for p in patterns for t in p.tags),
        }

    # -- user patterns --------------------------------------------------------------------------

    def add_user_pattern(self, yaml_text: str) -> Pattern:
        """Validate a pattern and keep it as a user pattern (replacing a user pattern with the same id).

        Raises:
            PatternError: it does not parse, its DSL has validator errors (``findings`` carries them),
                or its id is a built-in pattern's.
        """
        with self._lock:
            patterns = self._loaded()
            pattern = parse_pattern(yaml_text, source="user")
            existing = patterns.get(pattern.id)
            if existing is not None and existing.source == "builtin":
                raise PatternError(
                    f"The id {pattern.id!r} belongs to a built-in pattern.",
                    hint="Give your pattern another id.",
                )
            if (failure := self._check(pattern)) is not None:
                raise PatternError(
                    failure.message,
                    hint="Fix the DSL errors listed and add it again.",
                    findings=failure.findings,
                )
            path = (
                existing.path
                if existing is not None and existing.path
                else self.user_dir / f"{pattern.id}.yaml"
            )
            _write_atomically(path, pattern.yaml_text)
            pattern.path = path
            self._write_index([pattern], [])
            patterns[pattern.id] = pattern
            return pattern

    def remove_user_pattern(self, pattern_id: str) -> None:
        """Delete a user pattern (its file and its index entry).

        Raises:
            PatternError: unknown id, or a built-in pattern.
        """
        with self._lock:
            pattern = self.get(pattern_id)
            if pattern.source == "builtin":
                raise PatternError(
                    f"{pattern_id!r} is a built-in pattern and cannot be removed.",
                    hint="Only user patterns can be removed; built-in ones live in the project's patterns/ folder.",
                )
            if pattern.path is not None:
                pattern.path.unlink(missing_ok=True)
            with self._server_calls():
                self._collection.delete(ids=[pattern_id])
            del self._loaded()[pattern_id]


def _validation_errors(pattern: Pattern, target_version: str) -> list:
    from core.dsl import validate  # imported late: only new or changed patterns need the validator

    return list(validate(pattern.dsl, target_version=target_version).errors)


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise PatternError(
            f"The user pattern cannot be saved to {path}: {exc}.", hint="Check the data folder."
        ) from exc
