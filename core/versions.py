"""Differences between two DSL versions of a run (or of two runs), as a unified diff with a summary."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class VersionDiff:
    """A unified diff of two YAML texts and how many lines it adds and removes."""

    text: str
    added: int
    removed: int

    @property
    def identical(self) -> bool:
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
