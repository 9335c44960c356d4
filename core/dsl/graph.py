"""Graph helpers over a DSL document: nodes by id, edges, containers, and who is upstream of whom.

Everything here tolerates malformed input: nodes or edges that are not well formed are left out of
the index (the validator reports them separately), so callers can walk any parsed document.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

NOTE_WRAPPER = "custom-note"
CONTAINER_TYPES = frozenset({"iteration", "loop"})


def _graph(doc: object) -> dict:
    if not isinstance(doc, dict):
        return {}
    workflow = doc.get("workflow")
    graph = workflow.get("graph") if isinstance(workflow, dict) else None
    return graph if isinstance(graph, dict) else {}


def raw_nodes(doc: object) -> list:
    """``workflow.graph.nodes`` when it is a list, else ``[]``."""
    nodes = _graph(doc).get("nodes")
    return nodes if isinstance(nodes, list) else []


def raw_edges(doc: object) -> list:
    """``workflow.graph.edges`` when it is a list, else ``[]``."""
    edges = _graph(doc).get("edges")
    return edges if isinstance(edges, list) else []


def is_note(node: dict) -> bool:
    """True for editor sticky notes, which Dify drops before building the graph."""
    data = node.get("data")
    return node.get("type") == NOTE_WRAPPER or (isinstance(data, dict) and data.get("type") == "")


def _well_formed(node: object) -> bool:
    return isinstance(node, dict) and isinstance(node.get("id"), str) and isinstance(node.get("data"), dict)


def nodes_by_id(doc: object) -> dict[str, dict]:
    """Map node id -> node for every well-formed, non-note node (the first one wins on duplicate ids)."""
    found: dict[str, dict] = {}
    for node in raw_nodes(doc):
        if _well_formed(node) and not is_note(node):
            found.setdefault(node["id"], node)
    return found


def node_types(doc: object) -> list[str]:
    """The ``data.type`` of every non-note node, in document order."""
    return [
        n["data"].get("type")
        for n in raw_nodes(doc)
        if _well_formed(n) and not is_note(n) and isinstance(n["data"].get("type"), str)
    ]


@dataclass
class GraphIndex:
    """An index of the graph the rules share: built once per document.

    Attributes:
        nodes: ``(index, node)`` of every well-formed non-note node, in document order.
        notes: ids of note nodes.
        by_id: node id -> node (first one on duplicates).
        position: node id -> index in ``workflow.graph.nodes``.
        edges: ``(index, edge)`` of every edge whose source and target are strings.
        parent: child id -> container id, from ``parentId``.
    """

    nodes: list[tuple[int, dict]] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)
    by_id: dict[str, dict] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    edges: list[tuple[int, dict]] = field(default_factory=list)
    parent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, doc: object) -> GraphIndex:
        index = cls()
        for i, node in enumerate(raw_nodes(doc)):
            if not _well_formed(node):
                continue
            node_id = node["id"]
            node_type = node["data"].get("type")
            if node_type is not None and not isinstance(node_type, str):  # rules compare types as strings
                node = {**node, "data": {**node["data"], "type": repr(node_type)}}
            if is_note(node):
                index.notes.add(node_id)
                continue
            index.nodes.append((i, node))
            if node_id not in index.by_id:
                index.by_id[node_id] = node
                index.position[node_id] = i
                parent = node.get("parentId")
                if isinstance(parent, str) and parent:
                    index.parent[node_id] = parent
        for i, edge in enumerate(raw_edges(doc)):
            if (
                isinstance(edge, dict)
                and isinstance(edge.get("source"), str)
                and isinstance(edge.get("target"), str)
            ):
                index.edges.append((i, edge))
        return index

    def type_of(self, node_id: str) -> str | None:
        node = self.by_id.get(node_id)
        return node["data"].get("type") if node else None

    @cached_property
    def live_edges(self) -> list[tuple[int, dict]]:
        """Edges whose both ends are existing non-note nodes (what the engine would follow)."""
        return [(i, e) for i, e in self.edges if e["source"] in self.by_id and e["target"] in self.by_id]

    @cached_property
    def successors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for _, edge in self.live_edges:
            out[edge["source"]].append(edge["target"])
        return out

    @cached_property
    def predecessors(self) -> dict[str, list[str]]:
        inc: dict[str, list[str]] = defaultdict(list)
        for _, edge in self.live_edges:
            inc[edge["target"]].append(edge["source"])
        return inc

    @cached_property
    def children(self) -> dict[str, list[str]]:
        """Container id -> ids of its direct children (by ``parentId``)."""
        kids: dict[str, list[str]] = defaultdict(list)
        for child, parent in self.parent.items():
            kids[parent].append(child)
        return kids

    def edge_ancestors(self, node_id: str) -> set[str]:
        """Every node from which an edge path leads to ``node_id`` (not including itself unless on a cycle)."""
        cache = self._ancestor_cache
        if node_id in cache:
            return cache[node_id]
        seen: set[str] = set()
        stack = list(self.predecessors.get(node_id, ()))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self.predecessors.get(current, ()))
        cache[node_id] = seen
        return seen

    @cached_property
    def _ancestor_cache(self) -> dict[str, set[str]]:
        return {}

    def upstream(self, node_id: str) -> set[str]:
        """Nodes whose outputs ``node_id`` may use: edge ancestors in its own scope, its enclosing
        containers, and everything upstream of those containers. (Whole sets cost O(n) each: rules ask
        :meth:`is_upstream` for one pair instead.)"""
        cached = self._upstream_cache.get(node_id)
        if cached is not None:
            return cached
        result: set[str] = set()
        for current in self._scopes(node_id):
            result |= self.edge_ancestors(current)
            if current != node_id:
                result.add(current)
        self._upstream_cache[node_id] = result
        return result

    @cached_property
    def _upstream_cache(self) -> dict[str, set[str]]:
        return {}

    def _scopes(self, node_id: str) -> list[str]:
        """``node_id`` and its enclosing containers, innermost first (parentId chains are short)."""
        chain = [node_id]
        current = self.parent.get(node_id)
        while current is not None and current in self.by_id and len(chain) < 64 and current not in chain:
            chain.append(current)
            current = self.parent.get(current)
        return chain

    def is_upstream(self, node_id: str, head: str) -> bool:
        """Whether ``head``'s outputs exist when ``node_id`` runs: ``head in upstream(node_id)``, in time
        about linear in the graph over all the questions of one document."""
        for current in self._scopes(node_id):
            if current != node_id and current == head:
                return True
            if self._reaches(head, current):
                return True
        return False

    def _reaches(self, head: str, node_id: str) -> bool:
        """Whether an edge path leads from ``head`` to ``node_id``."""
        forward = self._forward_cache.get(head)
        if forward is not None:
            return node_id in forward
        asked = self._asked[head] = self._asked.get(head, 0) + 1
        if asked >= 4:  # a head many nodes read (the start node): one forward walk answers them all
            forward = self._forward_cache[head] = self._walk(head, self.successors)
            return node_id in forward
        order = self._topological
        floor = order.get(head)
        seen: set[str] = set()
        stack = list(self.predecessors.get(node_id, ()))
        while stack:
            current = stack.pop()
            if current == head:
                return True
            if current in seen:
                continue
            seen.add(current)
            rank = order.get(current)
            if floor is not None and rank is not None and rank < floor:
                continue  # earlier in a topological order than head: head cannot lead to it
            stack.extend(self.predecessors.get(current, ()))
        return False

    @staticmethod
    def _walk(start: str, links: dict[str, list[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(links.get(start, ()))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(links.get(current, ()))
        return seen

    @cached_property
    def _forward_cache(self) -> dict[str, set[str]]:
        return {}

    @cached_property
    def _asked(self) -> dict[str, int]:
        return {}

    @cached_property
    def _topological(self) -> dict[str, int]:
        """Node id -> rank in a topological order (Kahn); nodes on or after a cycle have none."""
        indegree = {node_id: 0 for node_id in self.by_id}
        for targets in self.successors.values():
            for target in targets:
                indegree[target] += 1
        ready = [n for n, d in indegree.items() if d == 0]
        rank: dict[str, int] = {}
        while ready:
            current = ready.pop()
            rank[current] = len(rank)
            for target in self.successors.get(current, ()):
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
        return rank

    def descendants(self, container_id: str) -> set[str]:
        """Every node nested (at any depth) in a container."""
        cached = self._descendant_cache.get(container_id)
        if cached is not None:
            return cached
        found: set[str] = set()
        stack = list(self.children.get(container_id, ()))
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(self.children.get(current, ()))
        self._descendant_cache[container_id] = found
        return found

    @cached_property
    def _descendant_cache(self) -> dict[str, set[str]]:
        return {}
