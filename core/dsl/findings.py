"""Validator results as data: one ``Finding`` per problem, gathered in a ``ValidationReport``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One problem the validator found.

    Attributes:
        code: stable rule code such as ``DSL201``; a code never changes meaning.
        severity: ``error`` (breaks an import or a run), ``warning`` (works but is probably wrong),
            or ``info``.
        message: what is wrong, in plain words.
        node_id: the node concerned, or ``None`` for document-level findings.
        path: JSON path of the offending value, e.g. ``$.workflow.graph.nodes[3].data.model``.
        hint: what to do about it.
    """

    code: str
    severity: Severity
    message: str
    node_id: str | None = None
    path: str = "$"
    hint: str | None = None

    def to_dict(self) -> dict:
        """The finding as a JSON-ready dict (the CLI's ``--format json`` shape)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "node_id": self.node_id,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


def relevance(finding: Finding) -> tuple:
    """Sort key ranking findings jsonschema-style: worst severity, most basic area, shallowest path first."""
    return (
        SEVERITY_RANK[finding.severity],
        finding.code[:4],
        finding.path.count(".") + finding.path.count("["),
    )


@dataclass
class ValidationReport:
    """Everything ``validate`` found in one document.

    Attributes:
        findings: every finding, in the order the rules produced them.
        app_mode: ``app.mode`` when the document has one.
        version: the DSL ``version`` as written (stringified), when present.
        doc: the parsed document when it parsed into a mapping, else ``None``.
    """

    findings: list[Finding] = field(default_factory=list)
    app_mode: str | None = None
    version: str | None = None
    doc: dict | None = None

    @property
    def valid(self) -> bool:
        """True when no finding is an error."""
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "info"]

    def sorted(self) -> list[Finding]:
        """Findings ordered by relevance (see ``relevance``); stable for equal keys."""
        return sorted(self.findings, key=relevance)

    def headline(self) -> Finding | None:
        """The single most relevant finding, or ``None`` when there is none.

        Like jsonschema's ``best_match``: the result does not depend on the order findings came in,
        because ties are broken by the finding's own content.
        """
        if not self.findings:
            return None
        return min(self.findings, key=lambda f: (relevance(f), f.code, f.path, f.message))

    def to_dict(self, file: str | None = None) -> dict:
        """The report as a JSON-ready dict: ``{file, valid, app_mode, version, findings}``."""
        return {
            "file": file,
            "valid": self.valid,
            "app_mode": self.app_mode,
            "version": self.version,
            "findings": [f.to_dict() for f in self.findings],
        }


__all__ = ["Finding", "ValidationReport", "Severity", "SEVERITY_RANK", "relevance"]
