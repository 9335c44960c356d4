"""Pattern records: the dataclasses of the public API and the reading of one pattern file."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import PatternError

Source = Literal["builtin", "user"]
Complexity = Literal["simple", "moderate", "complex"]
Mode = Literal["workflow", "advanced-chat"]
MAX_PATTERN_BYTES = 2 * 1024 * 1024
DOCUMENT_RECIPE = "v2"
"""Bumped whenever :func:`document_text` changes, so every pattern is re-embedded once."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PatternMetadata(BaseModel):
    """The ``metadata`` block of a pattern file."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    use_cases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    complexity: Complexity
    mode: Mode

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        return [t.strip().lower() for t in tags if t and t.strip()]


@dataclass
class Pattern:
    """One workflow pattern: its metadata and its complete Dify DSL."""

    id: str
    name: str
    description: str
    use_cases: list[str]
    tags: list[str]
    complexity: str
    mode: str
    node_types: list[str]
    """The distinct ``data.type`` of the graph's nodes (notes skipped), in order of appearance."""
    source: Source
    dsl: dict = field(repr=False)
    yaml_text: str = field(repr=False)
    path: Path | None = None
    content_hash: str = ""
    """sha256 of the file bytes, the source and the document recipe: what the index compares."""


@dataclass(frozen=True)
class SyncFailure:
    """A pattern file that could not be loaded, and why."""

    source: str
    """The file path."""
    message: str
    findings: list = field(default_factory=list)
    """Validator findings (``core.dsl.Finding``) when the DSL had errors."""

    def __iter__(self):  # lets callers unpack ``(source, message, findings)``
        return iter((self.source, self.message, self.findings))


@dataclass
class SyncReport:
    """What a sync did: pattern ids embedded anew, re-embedded, deleted, left alone; files that failed."""

    loaded: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[SyncFailure] = field(default_factory=list)
    recovered: str | None = None
    """Set when a broken index folder was moved aside and rebuilt: what happened."""

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class SearchHit:
    pattern: Pattern
    score: float
    """Cosine similarity of the query and the pattern's document, in [-1, 1]."""


@dataclass(frozen=True)
class Recommendation:
    pattern: Pattern
    score: float
    similarity: float
    """Cosine similarity of the requirement and the pattern's document."""
    capability_match: float
    """Share of the requirement's (mappable) capabilities the pattern covers, in [0, 1]."""
    explanation: str
    closeness: float = 1.0
    """The similarity placed among the candidates: 1 for the closest pattern, 0 for the farthest."""


def content_hash(raw: bytes, source: Source) -> str:
    """The hash the index stores per pattern: file bytes + source + document recipe."""
    digest = hashlib.sha256(raw)
    digest.update(f"\0{source}\0{DOCUMENT_RECIPE}".encode())
    return digest.hexdigest()


def node_types_of(dsl: dict) -> list[str]:
    """The distinct node types of a DSL's graph, skipping editor notes."""
    graph = ((dsl.get("workflow") or {}).get("graph") or {}) if isinstance(dsl, dict) else {}
    seen: dict[str, None] = {}
    for node in graph.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") == "custom-note":
            continue
        node_type = (node.get("data") or {}).get("type")
        if isinstance(node_type, str) and node_type:
            seen.setdefault(node_type, None)
    return list(seen)


def parse_pattern(raw: bytes | str, *, source: Source, path: Path | None = None) -> Pattern:
    """Read a pattern file's text into a :class:`Pattern` (structure only; no DSL validation).

    Raises:
        PatternError: not YAML, not a mapping, or metadata/dsl missing or malformed.
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    where = str(path) if path else "the pattern"
    if len(data) > MAX_PATTERN_BYTES:
        raise PatternError(
            f"{where} is larger than {MAX_PATTERN_BYTES // 1024} KB.", hint="Is it a pattern file?"
        )
    try:
        text = data.decode("utf-8")
        doc = yaml.load(text, Loader=_Loader)
    except UnicodeDecodeError as exc:
        raise PatternError(f"{where} is not UTF-8 text.", hint="Save it as UTF-8 YAML.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PatternError(f"{where} is not valid YAML{at}: {problem}.", hint="Fix the YAML syntax.") from exc
    if not isinstance(doc, dict):
        raise PatternError(
            f"{where} is not a YAML mapping.", hint="A pattern has two keys: metadata and dsl."
        )
    meta = _read_metadata(doc.get("metadata"), where)
    dsl = doc.get("dsl")
    if not isinstance(dsl, dict) or not isinstance(dsl.get("app"), dict):
        raise PatternError(
            f"{where} has no 'dsl' mapping with an 'app' section.", hint="Put the Dify export under 'dsl'."
        )
    dsl_mode = dsl["app"].get("mode")
    if dsl_mode != meta.mode:
        raise PatternError(
            f"{where}: metadata.mode is {meta.mode!r} but dsl.app.mode is {dsl_mode!r}.",
            hint="Make them the same.",
        )
    return Pattern(
        id=meta.id,
        name=meta.name,
        description=meta.description,
        use_cases=meta.use_cases,
        tags=meta.tags,
        complexity=meta.complexity,
        mode=meta.mode,
        node_types=node_types_of(dsl),
        source=source,
        dsl=dsl,
        yaml_text=text,
        path=path,
        content_hash=content_hash(data, source),
    )


def _read_metadata(meta: Any, where: str) -> PatternMetadata:
    if not isinstance(meta, dict):
        raise PatternError(
            f"{where} has no 'metadata' mapping.", hint="Add metadata: {id, name, description, ...}."
        )
    try:
        return PatternMetadata.model_validate(meta)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'metadata'}: {err['msg']}" for err in exc.errors()
        )
        raise PatternError(f"{where} has bad metadata: {problems}.", hint="Fix the metadata block.") from exc


def document_text(pattern: Pattern) -> str:
    """The text embedded for a pattern: what it is for, in words a requirement would use.

    The name, the description's first sentence (all of it when there are no use cases), the use
    cases, which are phrased like requirements, and the tags. The rest of the description (how the
    nodes are wired) is left out: on our en/zh/ja queries it did not change a top-3 hit, and it made
    the text ~2.5x longer to embed. Node types are matched by the capability term, not embedded.
    """
    description = pattern.description.strip()
    if pattern.use_cases:
        description = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", description, maxsplit=1)[0]
    parts = [f"{pattern.name}. {description}"]
    if pattern.use_cases:
        parts.append("Use cases: " + "; ".join(pattern.use_cases) + ".")
    if pattern.tags:
        parts.append("Tags: " + ", ".join(pattern.tags) + ".")
    return " ".join(parts)
