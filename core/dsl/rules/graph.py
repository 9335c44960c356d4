"""DSL3xx: the graph as a whole: entry nodes, cycles, reachability and depth."""

from __future__ import annotations

from collections.abc import Iterator

from core.dsl.models import ENTRY_TYPES, TRIGGER_TYPES
from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule

MAX_TREE_DEPTH = 50


def _of_type(ctx: Context, types: frozenset[str]) -> list[tuple[int, dict]]:
    return [(i, n) for i, n in ctx.graph.nodes if n["data"].get("type") in types]


@rule("DSL300", "error")
def graph_empty(ctx: Context) -> Iterator[Issue]:
    """The graph has no nodes (notes do not count).

    What it does: requires at least one node besides notes.
    Why is this bad: the engine fails with "Graph must have at least one node".
    Example: `graph: {nodes: [], edges: []}`.
    Fix: add a start node and the steps of the app.
    """
    if (
        ctx.checks_graph
        and isinstance(ctx.workflow.get("graph"), dict)
        and not ctx.graph.nodes
        and isinstance(ctx.workflow["graph"].get("nodes"), list)
    ):
        yield Issue(
            "The graph has no nodes.", "$.workflow.graph.nodes", hint="Add a start node and the app's steps."
        )


@rule("DSL301", "error")
def entry_missing(ctx: Context) -> Iterator[Issue]:
    """There is no start node (nor, in workflow mode, a trigger).

    What it does: requires an entry node.
    Why is this bad: Dify fails with "Unable to determine default root node ID from workflow graph".
    Example: a graph that begins with an `llm` node.
    Fix: add a `start` node and connect it to the first step.
    """
    if ctx.graph.nodes and not _of_type(ctx, ENTRY_TYPES):
        yield Issue(
            "The graph has no start node" + (" or trigger" if ctx.mode == "workflow" else "") + ".",
            "$.workflow.graph.nodes",
            hint="Add a node with data.type: start and connect it to the first step.",
        )


@rule("DSL302", "error")
def start_duplicate(ctx: Context) -> Iterator[Issue]:
    """There is more than one start node.

    What it does: requires exactly one `start` node.
    Why is this bad: Dify only runs from the first; the others and their branches never run.
    Example: two `start` nodes, one left over from a copy-paste.
    Fix: keep one start node and connect its branches from it.
    """
    for index, node in _of_type(ctx, frozenset({"start"}))[1:]:
        yield Issue(
            "A second start node; a graph has exactly one.",
            f"$.workflow.graph.nodes[{index}]",
            node["id"],
            hint="Delete it and connect its branches from the first start node.",
        )


@rule("DSL303", "error")
def start_and_trigger(ctx: Context) -> Iterator[Issue]:
    """A start node and trigger nodes are both present.

    What it does: reports triggers next to a start node.
    Why is this bad: Dify refuses the draft: "Start node and trigger nodes cannot coexist in the same workflow".
    Example: `start` plus `trigger-schedule`.
    Fix: keep either the start node or the triggers.
    """
    if _of_type(ctx, frozenset({"start"})):
        for index, node in _of_type(ctx, TRIGGER_TYPES):
            yield Issue(
                "Start node and trigger nodes cannot coexist in the same workflow.",
                f"$.workflow.graph.nodes[{index}]",
                node["id"],
                hint="Remove the trigger or the start node.",
            )


def _cycles(successors: dict[str, list[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan, iterative), in discovery order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in successors.get(node, ()):
                    found.append(component)
    return found


def cycles(ctx: Context) -> list[list[str]]:
    """Node-id groups that form cycles (computed once per document)."""
    if "cycles" not in ctx.extra:
        graph = ctx.graph
        ctx.extra["cycles"] = _cycles(graph.successors, [n["id"] for _, n in graph.nodes])
    return ctx.extra["cycles"]


@rule("DSL304", "error")
def graph_cycle(ctx: Context) -> Iterator[Issue]:
    """Edges form a cycle.

    What it does: finds cycles in the top-level graph and in every container's child graph.
    Why is this bad: the editor refuses edges that close a cycle and older engines reject the graph
    ("Node ... is connected to the previous node"); newer ones may loop forever. Use a loop node instead.
    Example: `llm -> code -> llm`.
    Fix: delete the edge that closes the cycle; repeat work with a loop or iteration node.
    """
    graph = ctx.graph
    for component in cycles(ctx):
        members = sorted(component, key=lambda n: graph.position.get(n, 0))
        for node_id in members:
            yield Issue(
                f"Node {node_id!r} is on a cycle ({' -> '.join(repr(m) for m in members)}).",
                ctx.node_path(node_id),
                node_id,
                hint="Remove the edge that leads back; use a loop node to repeat steps.",
            )


def reachable(ctx: Context) -> set[str]:
    """Nodes reached from the entry nodes along edges; a reached container brings all its children."""
    if "reachable" in ctx.extra:
        return ctx.extra["reachable"]
    graph = ctx.graph
    seen: set[str] = set()
    stack = [n["id"] for _, n in _of_type(ctx, ENTRY_TYPES)]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(graph.successors.get(current, ()))
        stack.extend(graph.children.get(current, ()))
    ctx.extra["reachable"] = seen
    return seen


@rule("DSL305", "error")
def node_unreachable(ctx: Context) -> Iterator[Issue]:
    """A node cannot be reached from the start node.

    What it does: walks edges from the start/trigger nodes (a reached iteration or loop brings its
    children) and reports every node left over. Notes are skipped.
    Why is this bad: the editor says "This step is not connected" and blocks publishing; the node never runs.
    Example: an `llm` node with no incoming edge.
    Fix: connect it from an upstream node, or delete it.
    """
    if not _of_type(ctx, ENTRY_TYPES):
        return
    seen = reachable(ctx)
    for index, node in ctx.graph.nodes:
        if node["id"] not in seen and node["id"] not in ctx.graph.parent:
            yield Issue(
                "This step is not connected: no path leads to it from the start node.",
                f"$.workflow.graph.nodes[{index}]",
                node["id"],
                hint="Connect it from an upstream node or delete it.",
            )


@rule("DSL306", "warning")
def child_unreachable(ctx: Context) -> Iterator[Issue]:
    """A node inside an iteration or loop is not reached from the container's start node.

    What it does: walks the child graph from the container's `start_node_id`.
    Why is this bad: the container runs its children from its start node along edges; this one never runs.
    Example: a code node inside an iteration with no incoming edge.
    Fix: connect it inside the container.
    """
    graph = ctx.graph
    for container, children in graph.children.items():
        node = graph.by_id.get(container)
        start = node["data"].get("start_node_id") if node else None
        if start not in children:
            continue
        seen: set[str] = set()
        stack = [start]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(graph.successors.get(current, ()))
        for child in children:
            if child not in seen:
                yield Issue(
                    f"Child {child!r} of {container!r} is not reached from the container's start node.",
                    ctx.node_path(child),
                    child,
                    hint="Connect it inside the container.",
                )


@rule("DSL307", "warning")
def graph_too_deep(ctx: Context) -> Iterator[Issue]:
    """A path through the graph is longer than 50 nodes.

    What it does: measures the longest edge path (on a graph without cycles).
    Why is this bad: newer editors enforce `MAX_TREE_DEPTH` (50); older Dify releases exported deeper
    graphs, so this is a warning.
    Example: a chain of 60 template nodes.
    Fix: merge steps, or move repeated work into an iteration or loop.
    """
    graph = ctx.graph
    if cycles(ctx) or len(graph.nodes) <= MAX_TREE_DEPTH:
        return
    depth: dict[str, int] = {}
    for start in [n["id"] for _, n in graph.nodes]:
        stack = [(start, False)]
        while stack:
            current, done = stack.pop()
            if done:
                depth[current] = 1 + max((depth[s] for s in graph.successors.get(current, ())), default=0)
            elif current not in depth:
                stack.append((current, True))
                stack.extend((s, False) for s in graph.successors.get(current, ()) if s not in depth)
    deepest = max(depth, key=depth.get)
    if depth[deepest] > MAX_TREE_DEPTH:
        yield Issue(
            f"A path from {deepest!r} is {depth[deepest]} nodes long; Dify allows {MAX_TREE_DEPTH}.",
            ctx.node_path(deepest),
            deepest,
            hint="Shorten the chain or use an iteration or loop.",
        )
