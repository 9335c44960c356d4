"""Validate a Dify DSL document: run every registered rule and collect its findings in one report."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from core.dsl.findings import Finding, ValidationReport
from core.dsl.io import MAX_DSL_BYTES, DSLLoadError, load_dsl
from core.dsl.rules import RULES, Context

SUPPORTED_TARGETS = ("0.6.0", "0.7.0")
INTERNAL_ERROR = "DSL999"


def _context(source: object, target_version: str) -> Context:
    if isinstance(source, str | bytes):
        try:
            return Context(load_dsl(source), target_version)
        except DSLLoadError as exc:
            return Context(None, target_version, exc.message, "syntax" if exc.kind == "nesting" else exc.kind, exc.hint)
    return Context(source, target_version)


def iter_findings(ctx: Context) -> Iterator[Finding]:
    """Run every rule, in code order, and yield its findings.

    A rule that crashes on some odd input does not stop the others: its crash becomes a ``DSL999``
    error finding (a bug to report), so ``validate`` never raises.
    """
    for code in sorted(RULES):
        entry = RULES[code]
        try:
            for issue in entry.check(ctx):
                yield Finding(
                    code,
                    issue.severity or entry.severity,
                    issue.message,
                    issue.node_id,
                    issue.path,
                    issue.hint,
                )
        except Exception as exc:  # noqa: BLE001 - the validator must never raise on any input
            yield Finding(
                INTERNAL_ERROR,
                "error",
                f"Rule {code} ({entry.name}) could not check this document: {type(exc).__name__}: {exc}.",
                None,
                "$",
                "This is a validator bug; please report it with the file.",
            )


def validate(source: str | bytes | dict, *, target_version: str = "0.6.0") -> ValidationReport:
    """Check a Dify DSL document and report every problem found, in one pass.

    Args:
        source: YAML text or bytes (parsed with ``load_dsl``), or an already parsed document.
        target_version: the DSL version of the Dify you import into (``0.6.0`` or ``0.7.0``).

    Returns:
        A ``ValidationReport``; ``report.valid`` is False when any finding is an error. Never raises:
        unreadable input becomes a finding (DSL001 not YAML, DSL002 over 10 MB, DSL003 alias bomb,
        DSL004 not a mapping).
    """
    ctx = _context(source, target_version)
    findings = list(iter_findings(ctx))
    version = ctx.mapping.get("version")
    return ValidationReport(
        findings=findings,
        app_mode=ctx.mode,
        version=None if version is None else str(version),
        doc=ctx.doc if isinstance(ctx.doc, dict) else None,
    )


def _not_readable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a DSL file (a FIFO, a symlink loop, a folder...), or None."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path} is a symlink loop (it points, in the end, to itself)."
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return f"{path} is a symlink that points to nothing ({os.readlink(path)})."
        return f"{path} cannot be read ({exc.strerror or exc})."
    mode = info.st_mode
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return f"{path} is {what}, not a regular file."
    return None


def validate_file(path: str | Path, *, target_version: str = "0.6.0") -> ValidationReport:
    """Validate one file: what it is and how big is checked before a byte is read; never raises.

    A FIFO, socket, device, symlink loop or dangling symlink, or a file that cannot be opened, gives
    a DSL005 finding; a file over 10 MB gives DSL002 from its size alone (its content is not read).
    """
    path = Path(path)
    problem = _not_readable(path)
    if problem is None:
        size = os.stat(path).st_size
        if size > MAX_DSL_BYTES:
            return _report(Context(None, target_version, f"{path} is {size / 1024 / 1024:.1f} MB, over Dify's 10 MB "
                                   "limit; it was not read.", "size",
                                   "Split the workflow or remove large embedded values before importing."))
        try:
            with open(path, "rb") as fh:  # a regular file; read at most one byte past the limit
                data = fh.read(MAX_DSL_BYTES + 1)
        except OSError as exc:
            problem = f"{path} cannot be read ({exc.strerror or exc})."
        else:
            return validate(data, target_version=target_version)
    return _report(Context(None, target_version, problem, "unreadable",
                           "Pass regular DSL files (a Dify export saved as .yml)."))


def _report(ctx: Context) -> ValidationReport:
    return ValidationReport(findings=list(iter_findings(ctx)), app_mode=None, version=None, doc=None)


def unreadable(report: ValidationReport) -> bool:
    """Whether the report says the file itself could not be read (DSL005)."""
    return any(f.code == UNREADABLE for f in report.findings)


UNREADABLE = "DSL005"

__all__ = ["validate", "validate_file", "unreadable", "iter_findings", "MAX_DSL_BYTES", "SUPPORTED_TARGETS"]
