"""``python -m core validate PATH...``: check Dify DSL files and print a readable or JSON report."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from packaging.version import InvalidVersion, Version

from core.dsl import ValidationReport
from core.dsl.graph import nodes_by_id
from core.dsl.validator import unreadable, validate_file
from core.errors import InputError

SUFFIXES = (".yml", ".yaml")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` command to the CLI."""
    parser = subparsers.add_parser(
        "validate",
        help="check Dify DSL files (workflow / advanced-chat)",
        description="Check Dify DSL files. Exit status: 0 no errors, 1 some file has an error, 2 usage or I/O problem.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="DSL files, or folders searched for *.yml / *.yaml")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--target-version", default="0.6.0", metavar="V",
                        help="DSL version of the Dify you import into (default: 0.6.0; 0.7.0 accepted)")
    parser.set_defaults(func=run)


def collect_files(paths: list[str]) -> Iterator[Path]:
    """Expand the given paths lazily: files as they are, folders to their *.yml / *.yaml entries.

    Every entry with a DSL suffix is yielded whatever it is (a FIFO, a symlink loop, an unreadable
    file), so that it gets a report saying so; only folders are descended into.

    Raises:
        InputError: a path does not exist.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path)
        elif os.path.lexists(path):
            yield path
        else:
            raise InputError(f"{raw}: no such file or folder.", hint="Check the path.")


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):  # symlink loops, dangling links and FIFOs are among the names
            if Path(name).suffix.lower() in SUFFIXES:
                yield Path(root, name)


def _title(report: ValidationReport, node_id: str | None) -> str:
    if node_id is None:
        return "document"
    node = nodes_by_id(report.doc).get(node_id) if report.doc else None
    title = node["data"].get("title") if node else None
    return f"{title} ({node_id})" if isinstance(title, str) and title else node_id


def format_text(path: Path, report: ValidationReport) -> str:
    """A summary line for the file, then its findings, most severe first, with the node's title."""
    status = "valid" if report.valid else "INVALID"
    counts = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), {len(report.infos)} info"
    lines = [f"{path}: {status} [{report.app_mode or '?'} {report.version or 'no version'}] {counts}"]
    for finding in report.sorted():
        lines.append(f"  {finding.severity:7s} {finding.code} {_title(report, finding.node_id)}: {finding.message}")
        lines.append(f"          at {finding.path}" + (f"; fix: {finding.hint}" if finding.hint else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate every file, one report at a time as it is checked.

    Returns 0 (no errors), 1 (some file has an error) or 2 (usage or I/O problem: a path is missing,
    or some file could not be read; every other file is still reported).
    """
    try:
        Version(args.target_version)
    except InvalidVersion:
        print(f"error: --target-version {args.target_version!r} is not a version such as 0.6.0.", file=sys.stderr)
        return 2
    files = collect_files(args.paths)
    first = next(files, None)
    if first is None:
        raise InputError("No *.yml or *.yaml files found in the given folders.", hint="Pass DSL files or folders.")
    checked = invalid = unread = 0
    as_json = args.format == "json"
    if as_json:
        sys.stdout.write("[")
    for path in itertools.chain([first], files):
        report = validate_file(path, target_version=args.target_version)
        if as_json:
            text = json.dumps(report.to_dict(file=str(path)), ensure_ascii=False, indent=2)
            sys.stdout.write(("," if checked else "") + "\n" + textwrap.indent(text, "  "))
        else:
            print(format_text(path, report), flush=True)
        checked += 1
        invalid += not report.valid
        unread += unreadable(report)
    if as_json:
        print("\n]")
    else:
        print(f"\n{checked} file(s) checked, {invalid} with errors.")
    if unread:
        print(f"error: {unread} file(s) could not be read (see DSL005 above).", file=sys.stderr)
        return 2
    return 1 if invalid else 0
