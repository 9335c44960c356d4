"""``python -m core patterns``: build, list, search, show, add, remove and count the workflow patterns."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import load_settings
from core.errors import PatternError, UserFacingError

if TYPE_CHECKING:  # the library pulls in chromadb and onnxruntime: import it only when a command runs
    from core.patterns import Pattern, PatternLibrary, SyncReport


def register(subparsers) -> None:
    """Add ``patterns`` and its sub-commands to the ``python -m core`` parser."""
    parser = subparsers.add_parser("patterns", help="the workflow pattern library and its index")
    _add_commands(parser)


def _add_commands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="patterns_command", required=True, metavar="ACTION")
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    fmt.add_argument(
        "--patterns-dir",
        type=Path,
        default=None,
        help="the built-in patterns folder (default: the project's patterns/)",
    )
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--mode", choices=("workflow", "advanced-chat"))
    filters.add_argument("--complexity", choices=("simple", "moderate", "complex"))
    filters.add_argument(
        "--tag", action="append", dest="tags", metavar="TAG", help="repeatable; all must match"
    )
    filters.add_argument(
        "--node-type",
        action="append",
        dest="node_types",
        metavar="TYPE",
        help="repeatable; all must be present",
    )

    sub.add_parser("init", parents=[fmt], help="sync the index with the pattern files").set_defaults(
        func=_init
    )
    p = sub.add_parser("list", parents=[fmt, filters], help="list patterns")
    p.add_argument("--source", choices=("builtin", "user"))
    p.set_defaults(func=_list)
    p = sub.add_parser("search", parents=[fmt, filters], help="semantic search")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    p.set_defaults(func=_search)
    p = sub.add_parser("show", parents=[fmt], help="one pattern, with its DSL")
    p.add_argument("id")
    p.set_defaults(func=_show)
    p = sub.add_parser("add", parents=[fmt], help="add a user pattern from a YAML file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=_add)
    p = sub.add_parser("remove", parents=[fmt], help="remove a user pattern")
    p.add_argument("id")
    p.set_defaults(func=_remove)
    sub.add_parser("stats", parents=[fmt], help="counts by source, mode, complexity, node type").set_defaults(
        func=_stats
    )


def _open(args) -> PatternLibrary:
    from core.patterns import PatternLibrary

    if args.patterns_dir is not None and not args.patterns_dir.is_dir():
        raise UserFacingError(
            f"{args.patterns_dir} is not a folder.", hint="Give the folder of pattern YAML files."
        )
    return PatternLibrary.open(load_settings(), patterns_dir=args.patterns_dir)


def _summary(pattern: Pattern) -> dict:
    return {
        "id": pattern.id,
        "name": pattern.name,
        "description": pattern.description,
        "mode": pattern.mode,
        "complexity": pattern.complexity,
        "tags": pattern.tags,
        "node_types": pattern.node_types,
        "use_cases": pattern.use_cases,
        "source": pattern.source,
        "path": str(pattern.path) if pattern.path else None,
    }


def _finding(finding) -> dict | str:
    return dataclasses.asdict(finding) if dataclasses.is_dataclass(finding) else str(finding)


def _emit(args, data, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.format == "json" else text)


def _line(pattern: Pattern) -> str:
    nodes = ", ".join(t for t in pattern.node_types if t not in ("start", "end", "answer"))
    return f"{pattern.id:<36} {pattern.mode:<13} {pattern.complexity:<9} {pattern.source:<7} {nodes}"


def _report_text(report: SyncReport) -> str:
    lines = []
    if report.recovered:
        lines.append(f"recovered: {report.recovered}")
    for label, ids in (("loaded", report.loaded), ("updated", report.updated), ("removed", report.removed)):
        lines.append(f"{label}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
    lines.append(f"unchanged: {len(report.unchanged)}")
    lines.append(f"failed: {len(report.failed)}")
    for failure in report.failed:
        lines.append(f"  {failure.message}")
        lines += [
            f"    {getattr(f, 'code', '')} {getattr(f, 'path', '')}: {getattr(f, 'message', f)}"
            for f in failure.findings
        ]
    return "\n".join(lines)


def _init(args) -> int:
    report = _open(args).sync()
    data = {
        **{k: getattr(report, k) for k in ("loaded", "updated", "removed", "unchanged")},
        "failed": [
            {"source": f.source, "message": f.message, "findings": [_finding(x) for x in f.findings]}
            for f in report.failed
        ],
        "recovered": report.recovered,
    }
    _emit(args, data, _report_text(report))
    return 0 if report.ok else 1


def _list(args) -> int:
    patterns = _open(args).list(
        mode=args.mode,
        complexity=args.complexity,
        tags=args.tags,
        node_types=args.node_types,
        source=args.source,
    )
    _emit(args, [_summary(p) for p in patterns], "\n".join(_line(p) for p in patterns) or "no patterns match")
    return 0


def _search(args) -> int:
    hits = _open(args).search(
        args.text,
        k=args.k,
        mode=args.mode,
        complexity=args.complexity,
        tags=args.tags,
        node_types=args.node_types,
    )
    data = [{"score": h.score, **_summary(h.pattern)} for h in hits]
    _emit(args, data, "\n".join(f"{h.score:.3f}  {_line(h.pattern)}" for h in hits) or "no patterns match")
    return 0


def _show(args) -> int:
    pattern = _open(args).get(args.id)
    text = "\n".join(
        [
            f"{pattern.name} ({pattern.id}, {pattern.source})",
            pattern.description,
            f"mode: {pattern.mode}; complexity: {pattern.complexity}; tags: {', '.join(pattern.tags)}",
            f"node types: {', '.join(pattern.node_types)}",
            "use cases:",
            *[f"  - {u}" for u in pattern.use_cases],
            f"file: {pattern.path}",
        ]
    )
    _emit(args, {**_summary(pattern), "yaml_text": pattern.yaml_text}, text)
    return 0


def _add(args) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserFacingError(
            f"Cannot read {args.file}: {exc}.", hint="Give the path of a pattern YAML file."
        ) from exc
    try:
        pattern = _open(args).add_user_pattern(text)
    except PatternError as exc:
        return _refused(args, exc)
    _emit(args, _summary(pattern), f"added user pattern {pattern.id} ({pattern.path})")
    return 0


def _remove(args) -> int:
    library = _open(args)
    pattern = library.get(args.id)  # unknown id: a usage error (2)
    try:
        library.remove_user_pattern(pattern.id)
    except PatternError as exc:
        return _refused(args, exc)
    _emit(args, {"removed": pattern.id}, f"removed user pattern {pattern.id}")
    return 0


def _refused(args, exc: PatternError) -> int:
    data = {"error": exc.message, "hint": exc.hint, "findings": [_finding(f) for f in exc.findings]}
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(f"refused: {exc}", file=sys.stderr)
        for f in exc.findings:
            print(
                f"  {getattr(f, 'code', '')} {getattr(f, 'path', '')}: {getattr(f, 'message', f)}",
                file=sys.stderr,
            )
    return 1


def _stats(args) -> int:
    stats = _open(args).stats()
    lines = [f"total: {stats['total']}"]
    for key in ("by_source", "by_mode", "by_complexity", "by_node_type"):
        lines.append(
            f"{key.removeprefix('by_').replace('_', ' ')}: "
            + ", ".join(f"{k} {v}" for k, v in stats[key].items())
        )
    _emit(args, stats, "\n".join(lines))
    return 0
