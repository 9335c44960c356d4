"""YAML in and out for Dify DSL: a fast loader with ``yaml.safe_load`` semantics, and Dify's export shape.

``load_dsl`` builds Python objects straight from libyaml's event stream (the C scanner and parser) and
resolves plain scalars with PyYAML's own YAML 1.1 implicit resolvers, behind a cache and a first-character
fast path. The result equals ``yaml.safe_load`` (Dify's loader); anything unusual (merge keys ``<<``,
explicit collection tags such as ``!!set``) is handed to PyYAML's own ``CSafeLoader``. Before that hand-off,
and while building, the expanded size of aliases is counted so that an alias bomb is refused instead of
being expanded.
"""

from __future__ import annotations

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from core.errors import InputError

try:  # libyaml bindings; present in our environment, optional elsewhere
    from yaml._yaml import CParser as _CParser

    _SafeLoader = yaml.CSafeLoader
except ImportError:  # pragma: no cover - exercised only without libyaml
    _CParser = None
    _SafeLoader = yaml.SafeLoader

__all__ = ["MAX_DSL_BYTES", "MAX_EXPANDED_NODES", "MAX_NESTING", "DSLLoadError", "load_dsl", "dump_dsl"]

MAX_DSL_BYTES = 10 * 1024 * 1024
"""Dify refuses DSL content over 10 MB (``DSL_MAX_SIZE`` in ``app_dsl_service.py``)."""

MAX_EXPANDED_NODES = 1_000_000
"""Most YAML nodes a document may stand for once aliases are expanded (real exports have ~2 000)."""

MAX_NESTING = 1000
"""Deepest nesting of mappings and lists accepted (real exports nest ~20 deep; libyaml slows down
quadratically with depth, so refusing early keeps hostile input cheap)."""

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_IMPLICIT = Resolver.yaml_implicit_resolvers  # first char -> [(tag, regexp)], PyYAML's YAML 1.1 rules
_CONSTRUCTOR = SafeConstructor()
_PLAIN_CACHE: dict[str, object] = {}
_PLAIN_CACHE_MAX = 100_000


class DSLLoadError(InputError):
    """The text is not loadable DSL YAML.

    Attributes:
        kind: ``size`` (over 10 MB), ``bomb`` (alias bomb), ``nesting`` (absurdly deep) or ``syntax``.
    """

    def __init__(self, message: str, *, hint: str | None = None, kind: str = "syntax") -> None:
        super().__init__(message, hint=hint)
        self.kind = kind


class _Fallback(Exception):
    """The document uses a YAML feature the fast path leaves to PyYAML (merge keys, exotic tags)."""


def _resolve_plain(value: str) -> object:
    """Resolve a plain (unquoted, untagged) scalar exactly as PyYAML's ``SafeLoader`` does."""
    cached = _PLAIN_CACHE.get(value, _PLAIN_CACHE)
    if cached is not _PLAIN_CACHE:
        return cached
    resolvers = _IMPLICIT.get(value[:1] if value else "")
    result: object = value
    if resolvers:
        for tag, regexp in resolvers:
            if regexp.match(value):
                if tag == _MERGE_TAG:
                    raise _Fallback
                result = _construct_tagged(tag, value)
                break
    if len(_PLAIN_CACHE) < _PLAIN_CACHE_MAX:
        _PLAIN_CACHE[value] = result
    return result


def _construct_tagged(tag: str, value: str) -> object:
    """Build a scalar of a known tag with PyYAML's own ``SafeConstructor`` (ints, floats, dates, ...)."""
    if tag == _STR_TAG:
        return value
    constructor = _CONSTRUCTOR.yaml_constructors.get(tag)
    if constructor is None:
        raise _Fallback  # unknown or unsupported tag: let PyYAML produce its own answer or error
    return constructor(_CONSTRUCTOR, yaml.ScalarNode(tag, value))


def _check_size(text: str | bytes) -> None:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DSL_BYTES:
        raise DSLLoadError(
            f"DSL content is {size / 1024 / 1024:.1f} MB, over Dify's 10 MB limit.",
            hint="Split the workflow or remove large embedded values before importing.",
            kind="size",
        )


def _bomb_error(expanded: int) -> DSLLoadError:
    return DSLLoadError(
        f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (at least {expanded:,}): "
        "this looks like an alias bomb.",
        hint="Remove the anchors (&) and aliases (*); Dify exports never use them.",
        kind="bomb",
    )


def _nesting_error() -> DSLLoadError:
    return DSLLoadError(
        f"YAML nests mappings or lists more than {MAX_NESTING} levels deep.",
        hint="This is not a Dify export; flatten the structure.",
        kind="nesting",
    )


def _fast_load(text: str | bytes) -> object:
    """Build the document from libyaml events; raise ``_Fallback`` for features left to PyYAML."""
    parser = _CParser(text)
    try:
        return _build(parser)
    finally:
        parser.dispose()


def _build(parser) -> object:  # noqa: C901 - one tight loop on purpose: it is the hot path
    anchors: dict[str, tuple[object, int]] = {}  # anchor -> (object, expanded node count)
    anchor_starts: list[tuple[str, int]] = []  # open anchored collections: (anchor, counter at start)
    stack: list[list] = []  # open collections: [container, is_map, pending_key, has_key, anchor]
    expanded = 0
    documents = 0
    root: object = None
    get = parser.get_event
    cache = _PLAIN_CACHE
    cache_get = cache.get
    scalar_cls, map_cls, seq_cls = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    end_cls = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    while True:
        event = get()
        cls = type(event)
        if cls is scalar_cls:
            expanded += 1
            tag = event.tag
            if tag is None or tag == "!":
                value = event.value
                if event.implicit[0]:
                    cached = cache_get(value, cache)  # inlined fast path of _resolve_plain
                    value = _resolve_plain(value) if cached is cache else cached
            else:
                value = _construct_tagged(tag, event.value)
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
        elif cls is map_cls or cls is seq_cls:
            expanded += 1
            if event.tag not in (_MAP_TAGS if cls is map_cls else _SEQ_TAGS):
                raise _Fallback
            container: object = {} if cls is map_cls else []
            if event.anchor is not None:
                anchor_starts.append((event.anchor, expanded))
            stack.append([container, cls is map_cls, None, False, event.anchor])
            if len(stack) > MAX_NESTING:
                raise _nesting_error()
            continue
        elif cls in end_cls:
            container, _, _, _, anchor = stack.pop()
            value = container
            if anchor is not None:
                name, started = anchor_starts.pop()
                anchors[name] = (container, expanded - started + 1)
        elif cls is yaml.AliasEvent:
            if event.anchor not in anchors:
                raise _Fallback  # undefined alias: PyYAML reports it
            value, size = anchors[event.anchor]
            expanded += size
            if expanded > MAX_EXPANDED_NODES:
                raise _bomb_error(expanded)
        elif cls is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Fallback  # several documents: PyYAML reports it
            continue
        elif cls is yaml.StreamEndEvent:
            return root
        else:  # StreamStart, DocumentEnd
            continue
        if not stack:
            root = value
            continue
        frame = stack[-1]
        if not frame[1]:
            frame[0].append(value)
        elif frame[3]:
            frame[0][frame[2]] = value  # TypeError for unhashable keys, handled by the caller
            frame[3] = False
        else:
            frame[2] = value
            frame[3] = True


def _count_alias_expansion(text: str | bytes) -> None:
    """Walk the events only, counting alias expansion; refuse a bomb before PyYAML builds anything."""
    parser = _CParser(text) if _CParser else yaml.SafeLoader(text)
    sizes: dict[str, int] = {}
    starts: list[tuple[str | None, int]] = []
    expanded = 0
    try:
        while True:
            event = parser.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.AliasEvent):
                expanded += sizes.get(event.anchor, 1)
            elif isinstance(event, yaml.NodeEvent):
                expanded += 1
                if isinstance(event, yaml.CollectionStartEvent):
                    starts.append((event.anchor, expanded))
                    if len(starts) > MAX_NESTING:
                        raise _nesting_error()
                elif event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, started = starts.pop()
                if anchor is not None:
                    sizes[anchor] = expanded - started + 1
            if expanded > MAX_EXPANDED_NODES:
                raise _bomb_error(expanded)
    finally:
        parser.dispose()


def _yaml_error(exc: Exception) -> DSLLoadError:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return DSLLoadError(
        f"Not valid YAML{where}: {problem}.",
        hint="Export the app again from Dify, or fix the YAML syntax at that position.",
    )


_TAG_ERRORS = (TypeError, ValueError, UnicodeError, RecursionError, KeyError, AttributeError, IndexError,
               OverflowError)
"""What PyYAML's constructors raise for a value that does not fit its explicit tag (``!!bool right``,
``!!timestamp 688``) or for an unhashable key: bad content, never a bug of ours."""


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError | AttributeError | IndexError):  # the constructor's lookup failed on the value
        return "a value does not fit its explicit tag (such as `!!bool right` or `!!timestamp 688`)"
    return str(exc)


def load_dsl(text: str | bytes) -> object:
    """Parse DSL YAML into plain Python objects, exactly as ``yaml.safe_load`` would.

    Args:
        text: the YAML content, as text or UTF-8/UTF-16 bytes.

    Returns:
        The parsed document (a dict for a real export, but any YAML value is returned as is).

    Raises:
        DSLLoadError: the content is over 10 MB, is not YAML, or is an alias bomb.
    """
    _check_size(text)
    try:
        if _CParser is not None:
            try:
                return _fast_load(text)
            except _Fallback:
                pass
        _count_alias_expansion(text)
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except DSLLoadError:
        raise
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from exc
    except _TAG_ERRORS as exc:
        raise DSLLoadError(
            f"The YAML cannot be turned into data: {_describe(exc)}.",
            hint="Check the file is a Dify DSL export (UTF-8 text, mapping keys that are plain values).",
        ) from exc


class _ExportDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter is ~10x faster
    """PyYAML's dumper with Dify's settings; never writes anchors for repeated objects."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump_dsl(doc: dict) -> str:
    """Write a document the way Dify exports it: ``yaml.dump(doc, allow_unicode=True)``.

    Keys come out sorted (PyYAML's default, as in Dify's exports), block style, unicode kept.

    Args:
        doc: the DSL document.

    Returns:
        The YAML text.
    """
    return yaml.dump(doc, Dumper=_ExportDumper, allow_unicode=True, sort_keys=True)
