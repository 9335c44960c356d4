"""Test runs in Dify's own engine (graphon): execute a workflow with offline stand-ins and report it.

``test_run(dsl, inputs, *, model, http, ...) -> TestRunReport`` is the entry point. graphon is
imported on first use (it costs ~0.5 s), so importing ``core.testrun`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.testrun.api import test_run
    from core.testrun.report import BranchRun, NodeTrace, TestRunReport

__all__ = ["test_run", "TestRunReport", "BranchRun", "NodeTrace"]


def __getattr__(name: str) -> Any:
    if name == "test_run":
        from core.testrun.api import test_run

        return test_run
    if name in ("TestRunReport", "BranchRun", "NodeTrace"):
        from core.testrun import report

        return getattr(report, name)
    raise AttributeError(name)
