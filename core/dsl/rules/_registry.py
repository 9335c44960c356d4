"""The rule registry: each rule is a generator of ``Issue``s registered under a stable ``DSL###`` code."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.dsl.findings import Severity


@dataclass(frozen=True)
class Issue:
    """What a rule yields; ``iter_findings`` turns it into a ``Finding`` with the rule's code.

    Attributes:
        message: what is wrong.
        path: JSON path of the offending value.
        node_id: the node concerned, if any.
        hint: how to fix it.
        severity: overrides the rule's default severity (e.g. a version rule that is sometimes info).
    """

    message: str
    path: str = "$"
    node_id: str | None = None
    hint: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    """A registered check.

    Attributes:
        code: stable code (``DSL0xx`` document, ``1xx`` nodes, ``2xx`` edges, ``3xx`` graph,
            ``4xx`` containers, ``5xx`` references, ``6xx`` app-mode rules).
        name: the check's function name (kebab-cased), e.g. ``dangling-edge-source``.
        severity: default severity of its findings.
        check: the generator ``check(ctx) -> Iterator[Issue]``.
    """

    code: str
    name: str
    severity: Severity
    check: Callable[..., Iterator[Issue]]

    @property
    def doc(self) -> str:
        """The rule's docstring (What it does / Why is this bad? / Example / Fix)."""
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def title(self) -> str:
        """First line of the docstring."""
        return self.doc.splitlines()[0] if self.doc else self.name


RULES: dict[str, Rule] = {}
"""Every rule by code, in code order once all rule modules are imported."""


def rule(code: str, severity: Severity) -> Callable:
    """Register a check under ``code``; the function's name becomes the rule name."""

    def register(check: Callable[..., Iterator[Issue]]) -> Callable[..., Iterator[Issue]]:
        if code in RULES:
            raise ValueError(f"rule code {code} registered twice")
        RULES[code] = Rule(code=code, name=check.__name__.replace("_", "-"), severity=severity, check=check)
        return check

    return register
