"""The validator's rules: every check, registered by code in ``RULES`` (see docs/rules.md).

Codes are grouped by area: DSL0xx document, DSL1xx nodes and fields, DSL2xx edges and handles,
DSL3xx graph (entry, cycles, reachability), DSL4xx containers, DSL5xx references, DSL6xx app modes.
A code never changes meaning.
"""

from __future__ import annotations

from core.dsl.rules import checks, containers, document, edges, graph, modes, nodes, references  # noqa: F401 - registers
from core.dsl.rules._context import Context
from core.dsl.rules._registry import RULES, Issue, Rule, rule

__all__ = ["RULES", "Rule", "Issue", "Context", "rule"]
