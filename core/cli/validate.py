"""``python -m core validate PATH...``: check Dify DSL files and print a readable or JSON report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

from core.dsl import ValidationReport, validate
from core.dsl.graph import nodes_by_id
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


def collect_files(paths: list[str]) -> list[Path]:
    """Expand the given paths: files as they are, folders to their *.yml / *.yaml files, recursively.

    Raises:
        InputError: a path does not exist.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{raw}: no such file or folder.", hint="Check the path.")
    return files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).", hint="Check the file's permissions.") from exc


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
    """Validate every file; return 0 (no errors), 1 (some file has an error) or 2 (usage or I/O problem)."""
    try:
        Version(args.target_version)
    except InvalidVersion:
        print(f"error: --target-version {args.target_version!r} is not a version such as 0.6.0.", file=sys.stderr)
        return 2
    files = collect_files(args.paths)
    if not files:
        raise InputError("No *.yml or *.yaml files found in the given folders.", hint="Pass DSL files or folders.")
    results = [(path, validate(_read(path), target_version=args.target_version)) for path in files]
    if args.format == "json":
        print(json.dumps([report.to_dict(file=str(path)) for path, report in results], ensure_ascii=False, indent=2))
    else:
        print("\n".join(format_text(path, report) for path, report in results))
        invalid = sum(not report.valid for _, report in results)
        print(f"\n{len(results)} file(s) checked, {invalid} with errors.")
    return 1 if any(not report.valid for _, report in results) else 0
