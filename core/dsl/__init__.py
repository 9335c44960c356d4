"""The Dify DSL toolkit: typed models, YAML io, graph helpers and the strict validator."""

from core.dsl.findings import Finding, ValidationReport
from core.dsl.io import MAX_DSL_BYTES, DSLLoadError, dump_dsl, load_dsl
from core.dsl.validator import iter_findings, validate

__all__ = [
    "MAX_DSL_BYTES",
    "DSLLoadError",
    "Finding",
    "ValidationReport",
    "dump_dsl",
    "iter_findings",
    "load_dsl",
    "validate",
]
