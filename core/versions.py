"""DSL versions of a run (repair rounds, and the workflow a refinement started from) and the diff between two."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import yaml

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


# -- what changed between two workflows, node by node --------------------------------------------------

NOISE_KEYS = frozenset({
    "position", "positionAbsolute", "width", "height", "selected", "dragging", "zIndex", "sourcePosition",
    "targetPosition", "icon", "icon_background", "icon_type", "provider_icon", "temperature",
})
"""Keys that move, recolour or re-sample a node without changing what it does: not reported as changes."""


@dataclass(frozen=True)
class NodeChange:
    """One node that was added, removed or changed between two workflow versions."""

    kind: str
    """``added``, ``removed`` or ``changed``."""
    node_id: str
    title: str
    type: str
    fields: tuple[str, ...] = ()
    """For ``changed``: the settings that differ (e.g. ``prompt_template``, ``classes``)."""

    def describe(self) -> str:
        """``Draft reply (llm)``, with the changed settings for a change."""
        what = f"{self.title} ({self.type})"
        return f"{what}: {', '.join(self.fields)}" if self.fields else what


@dataclass(frozen=True)
class GraphChanges:
    """Which nodes and connections differ between two workflows, layout and icons aside."""

    added: tuple[NodeChange, ...] = ()
    removed: tuple[NodeChange, ...] = ()
    changed: tuple[NodeChange, ...] = ()
    edges_added: tuple[str, ...] = ()
    """New connections as ``Source → Target``."""
    edges_removed: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    """Top-level sections outside the graph that differ (e.g. ``app.name``)."""

    @property
    def none(self) -> bool:
        """Whether nothing but layout, icons or sampling temperature differs."""
        return not (self.added or self.removed or self.changed or self.edges_added or self.edges_removed or self.other)

    def lines(self) -> list[str]:
        """One readable line per kind of change, nodes first; empty when nothing changed."""
        out = []
        for label, items in (("Added", self.added), ("Removed", self.removed), ("Changed", self.changed)):
            if items:
                out.append(f"{label}: " + "; ".join(c.describe() for c in items))
        if self.edges_added:
            out.append("New connections: " + ", ".join(self.edges_added))
        if self.edges_removed:
            out.append("Removed connections: " + ", ".join(self.edges_removed))
        if self.other:
            out.append("Also changed: " + ", ".join(self.other))
        return out

    def summary(self) -> str:
        """A short count, e.g. ``1 node added, 1 changed`` or ``no change to the nodes``."""
        parts = [f"{len(items)} {word}" for items, word in ((self.added, "added"), (self.removed, "removed"),
                                                           (self.changed, "changed")) if items]
        if not parts:
            return "no change to the nodes" if self.none else "same nodes, " + "; ".join(self.lines())
        return f"{len(self.added) + len(self.removed) + len(self.changed)} node(s): " + ", ".join(parts)


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in NOISE_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _graph_of(doc) -> tuple[dict[str, dict], list[dict]]:
    graph = ((doc or {}).get("workflow") or {}).get("graph") or {} if isinstance(doc, dict) else {}
    nodes = {str(n["id"]): n for n in graph.get("nodes") or [] if isinstance(n, dict) and n.get("id") is not None
             and n.get("type") != "custom-note"}
    return nodes, [e for e in graph.get("edges") or [] if isinstance(e, dict)]


def _title(node: dict) -> str:
    data = node.get("data") or {}
    return str(data.get("title") or node.get("id"))


def _type(node: dict) -> str:
    return str((node.get("data") or {}).get("type") or "unknown")


def graph_changes(old: dict | str, new: dict | str) -> GraphChanges:
    """What differs between two workflows, node by node, ignoring layout, icons and temperature.

    Nodes are matched by id, then the unmatched ones by type and title (a regenerated workflow may
    renumber its nodes).

    Args:
        old: the earlier workflow, parsed or as YAML text.
        new: the later one.

    Returns:
        The added, removed and changed nodes (with the settings that changed), connections added and
        removed, and other top-level sections that changed. Unreadable YAML counts as an empty graph.
    """
    old_doc, new_doc = _parsed(old), _parsed(new)
    before, old_edges = _graph_of(old_doc)
    after, new_edges = _graph_of(new_doc)
    pairs = {nid: nid for nid in before if nid in after}
    loose_new = {(_type(n), _title(n)): nid for nid, n in after.items() if nid not in pairs.values()}
    for nid, node in before.items():
        if nid not in pairs and (_type(node), _title(node)) in loose_new:
            pairs[nid] = loose_new.pop((_type(node), _title(node)))
    removed = tuple(NodeChange("removed", nid, _title(n), _type(n)) for nid, n in before.items() if nid not in pairs)
    matched = set(pairs.values())
    added = tuple(NodeChange("added", nid, _title(n), _type(n)) for nid, n in after.items() if nid not in matched)
    changed = []
    for old_id, new_id in pairs.items():
        a, b = _clean(before[old_id].get("data") or {}), _clean(after[new_id].get("data") or {})
        fields = tuple(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
        if fields:
            changed.append(NodeChange("changed", new_id, _title(after[new_id]), _type(after[new_id]), fields))
    rename = {new_id: old_id for old_id, new_id in pairs.items()}

    def edge_set(edges, nodes, ids) -> dict[tuple, str]:
        out = {}
        for e in edges:
            s, t = str(e.get("source")), str(e.get("target"))
            if s in nodes and t in nodes:
                key = (ids(s), ids(t), str(e.get("sourceHandle") or "source"))
                out[key] = f"{_title(nodes[s])} → {_title(nodes[t])}"
        return out

    old_set = edge_set(old_edges, before, lambda i: i)
    new_set = edge_set(new_edges, after, lambda i: rename.get(i, i))
    other = tuple(name for section in ("app", "kind", "version") for name in _section_diff(old_doc, new_doc, section))
    return GraphChanges(added, removed, tuple(changed),
                        tuple(v for k, v in new_set.items() if k not in old_set),
                        tuple(v for k, v in old_set.items() if k not in new_set), other)


def _parsed(doc: dict | str):
    if isinstance(doc, dict):
        return doc
    try:
        return yaml.safe_load(doc) if doc else None
    except yaml.YAMLError:
        return None


def _section_diff(old, new, section: str) -> list[str]:
    a = _clean((old or {}).get(section)) if isinstance(old, dict) else None
    b = _clean((new or {}).get(section)) if isinstance(new, dict) else None
    if isinstance(a, dict) and isinstance(b, dict):
        return [f"{section}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return [] if a == b else [section]
