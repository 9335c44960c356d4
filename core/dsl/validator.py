"""Validate a Dify DSL document: run every registered rule and collect its findings in one report."""

from __future__ import annotations

from collections.abc import Iterator

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


__all__ = ["validate", "iter_findings", "MAX_DSL_BYTES", "SUPPORTED_TARGETS"]
