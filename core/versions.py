"""DSL versions of a run (repair rounds, and the workflow a refinement started from) and the diff between two."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from core.ledger import Ledger, RunNotFound
from core.ledger.analytics import run_trace


@dataclass(frozen=True)
class VersionDiff:
    """A unified diff of two YAML texts and how many lines it adds and removes."""

    text: str
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        """Whether the two texts have the same lines."""
        return not self.added and not self.removed

    def summary(self) -> str:
        """``identical`` or ``+A / -R lines``."""
        return "identical" if self.identical else f"+{self.added} / -{self.removed} lines"


def diff_versions(old: str, new: str, *, old_label: str = "old", new_label: str = "new",
                  context: int = 3) -> VersionDiff:
    """Unified diff of two workflow YAML texts.

    Args:
        old: the earlier YAML text.
        new: the later YAML text.
        old_label: the name shown for ``old`` in the diff header (e.g. ``v1``).
        new_label: the name shown for ``new``.
        context: unchanged lines shown around each change.

    Returns:
        The diff text (empty when identical) and the counts of added and removed lines.
    """
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label,
                                      lineterm="", n=context))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return VersionDiff("\n".join(lines), added, removed)


@dataclass(frozen=True)
class WorkflowVersion:
    """One DSL version a user can compare: which run produced it, its number there, and its YAML."""

    run_id: str
    version: int
    yaml_text: str
    name: str | None = None
    from_parent: bool = False

    @property
    def label(self) -> str:
        """``v2`` for this run's versions; ``parent v3 (run 1a2b3c4d)`` for the refined run's."""
        return f"parent v{self.version} (run {self.run_id[:8]})" if self.from_parent else f"v{self.version}"


def _versions_of(workflows, run_id: str, *, from_parent: bool) -> list[WorkflowVersion]:
    return [WorkflowVersion(run_id, int(row.version), str(row.yaml_text),
                            row.name if isinstance(row.name, str) and row.name else None, from_parent)
            for row in workflows.itertuples()]


def run_versions(ledger: Ledger, run_id: str) -> list[WorkflowVersion]:
    """Every DSL version worth comparing for a run, oldest first.

    A run records one version per repair round; a refined run is compared with the workflow it
    refined, so the parent run's final version comes first when the run has a parent.

    Args:
        ledger: the run ledger.
        run_id: the run.

    Returns:
        The parent's last version (if any), then each of the run's own versions. The last two are
        the natural pair to diff: the latest repair, or what the refinement changed.

    Raises:
        RunNotFound: no such run.
    """
    trace = run_trace(ledger, run_id)
    own = _versions_of(trace.workflows, run_id, from_parent=False)
    parent_id = trace.run.get("parent_run_id")
    if not parent_id:
        return own
    try:
        parent = run_trace(ledger, str(parent_id)).workflows
    except RunNotFound:  # the parent run was deleted: compare within the run only
        return own
    return _versions_of(parent.tail(1), str(parent_id), from_parent=True) + own
