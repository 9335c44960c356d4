"""DSL4xx: iteration and loop containers: parent links, start nodes, what may sit inside."""

from __future__ import annotations

from collections.abc import Iterator

from core.dsl.graph import CONTAINER_TYPES
from core.dsl.models import TRIGGER_TYPES
from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule

FORBIDDEN_INSIDE = frozenset({"iteration", "loop", "end", "human-input", "start"}) | TRIGGER_TYPES
MARKERS = {"iteration": ("isInIteration", "iteration_id"), "loop": ("isInLoop", "loop_id")}
START_CHILD = {
    "iteration": ("iteration-start", "custom-iteration-start"),
    "loop": ("loop-start", "custom-loop-start"),
}
OWN_CONTAINER = {"iteration-start": "iteration", "loop-start": "loop", "loop-end": "loop"}


@rule("DSL400", "error")
def parent_invalid(ctx: Context) -> Iterator[Issue]:
    """A node's `parentId` is not an existing iteration or loop node.

    What it does: checks that `parentId` names an iteration or loop.
    Why is this bad: the child belongs to no container; it is orphaned and never runs.
    Example: `parentId: "1718000000000"` naming an llm node, or a deleted iteration.
    Fix: set `parentId` to the container's id, or remove it for a top-level node.
    """
    graph = ctx.graph
    for child, parent in graph.parent.items():
        if graph.type_of(parent) not in CONTAINER_TYPES:
            what = "does not exist" if parent not in graph.by_id else f"is a {graph.type_of(parent)} node"
            yield Issue(
                f"parentId {parent!r} {what}; only iteration and loop nodes hold children.",
                ctx.node_path(child, ".parentId"),
                child,
                hint="Point parentId at the container or remove it.",
            )


@rule("DSL401", "error")
def container_link_mismatch(ctx: Context) -> Iterator[Issue]:
    """`data.iteration_id` / `data.loop_id` disagrees with `parentId`.

    What it does: requires a node claiming a container (`iteration_id`/`loop_id`, `isInIteration`/`isInLoop`)
    to have that container as `parentId`, and vice versa.
    Why is this bad: Dify collects a container's children by `iteration_id`/`loop_id` but draws and runs
    them by `parentId`; a disagreement orphans the node.
    Example: `data.isInIteration: true, data.iteration_id: "17..."` with no `parentId`.
    Fix: make `parentId` and `iteration_id`/`loop_id` the same container id.
    """
    graph = ctx.graph
    for index, node in graph.nodes:
        data, parent = node["data"], graph.parent.get(node["id"])
        for flag, key in MARKERS.values():
            claimed = data.get(key)
            if data.get(flag) is True or (isinstance(claimed, str) and claimed):
                if parent is None:
                    yield Issue(
                        f"The node says it is inside {claimed!r} ({key}) but has no parentId.",
                        f"$.workflow.graph.nodes[{index}]",
                        node["id"],
                        hint=f"Add parentId: {claimed!r}.",
                    )
                elif claimed is not None and claimed != parent:
                    yield Issue(
                        f"data.{key} is {claimed!r} but parentId is {parent!r}.",
                        f"$.workflow.graph.nodes[{index}].data.{key}",
                        node["id"],
                        hint=f"Set {key} to {parent!r}.",
                    )


@rule("DSL402", "warning")
def container_flag_missing(ctx: Context) -> Iterator[Issue]:
    """A container child lacks `isInIteration` / `isInLoop` and its `iteration_id` / `loop_id`.

    What it does: checks the markers the editor writes on every child.
    Why is this bad: the editor uses them to offer the container's variables (item, index) in the child.
    Example: a child with `parentId` but no `data.isInIteration`.
    Fix: add `isInIteration: true` and `iteration_id: <parent>` (or the loop equivalents).
    """
    graph = ctx.graph
    for child, parent in graph.parent.items():
        container_type = graph.type_of(parent)
        if container_type not in MARKERS or graph.type_of(child) in ("iteration-start", "loop-start"):
            continue
        flag, key = MARKERS[container_type]
        data = graph.by_id[child]["data"]
        if data.get(flag) is not True and data.get(key) != parent:
            yield Issue(
                f"Child of {container_type} {parent!r} lacks data.{flag} / data.{key}.",
                ctx.node_path(child, ".data"),
                child,
                hint=f"Add {flag}: true and {key}: {parent!r}.",
            )


@rule("DSL403", "error")
def container_start_invalid(ctx: Context) -> Iterator[Issue]:
    """A container's `start_node_id` is missing, unknown, or not one of its children.

    What it does: checks `start_node_id` of every iteration and loop.
    Why is this bad: the container runs its child graph from that node; without it nothing inside runs.
    Example: `start_node_id: "1718000000000start"` when no such child exists.
    Fix: point it at the container's `*-start` child (by convention `<container id>start`).
    """
    graph = ctx.graph
    for index, node in graph.nodes:
        container_type = node["data"].get("type")
        if container_type not in CONTAINER_TYPES:
            continue
        start = node["data"].get("start_node_id")
        if not isinstance(start, str) or not start:
            continue  # a missing start_node_id is a missing required field (DSL106)
        if start not in graph.by_id:
            yield Issue(
                f"start_node_id {start!r} is not a node.",
                f"$.workflow.graph.nodes[{index}].data.start_node_id",
                node["id"],
                hint=f"Add a {START_CHILD[container_type][0]} child and point start_node_id at it.",
            )
        elif graph.parent.get(start) != node["id"]:
            yield Issue(
                f"start_node_id {start!r} is not a child of this {container_type}.",
                f"$.workflow.graph.nodes[{index}].data.start_node_id",
                node["id"],
                hint=f"Set the {START_CHILD[container_type][0]} child's parentId to {node['id']!r}.",
            )


@rule("DSL404", "warning")
def start_child_wrapper(ctx: Context) -> Iterator[Issue]:
    """An iteration-start / loop-start node has the wrong wrapper type.

    What it does: requires `custom-iteration-start` for iteration-start and `custom-loop-start` for
    loop-start, and those wrappers only on those nodes.
    Why is this bad: the editor renders the start child wrongly and lets it be moved or deleted.
    Example: `type: custom` on an `iteration-start` node.
    Fix: use the matching wrapper type.
    """
    graph = ctx.graph
    expected = dict(START_CHILD.values())
    for index, node in graph.nodes:
        node_type, wrapper = node["data"].get("type"), node.get("type", "custom")
        want = expected.get(node_type, "custom")
        if wrapper != want and (wrapper in expected.values() or node_type in expected):
            yield Issue(
                f"A {node_type} node should have wrapper type {want!r}, not {wrapper!r}.",
                f"$.workflow.graph.nodes[{index}].type",
                node["id"],
                hint=f"Set type: {want}.",
            )


@rule("DSL405", "error")
def forbidden_in_container(ctx: Context) -> Iterator[Issue]:
    """A node type that is not allowed inside an iteration or loop sits in one.

    What it does: forbids iteration, loop, end, human-input, start and triggers inside containers.
    Why is this bad: the editor does not offer them there; nested containers and end nodes break the run.
    Example: an `end` node with `parentId` set to an iteration.
    Fix: move the node out of the container.
    """
    graph = ctx.graph
    for child, parent in graph.parent.items():
        node_type = graph.type_of(child)
        if node_type in FORBIDDEN_INSIDE and graph.type_of(parent) in CONTAINER_TYPES:
            yield Issue(
                f"A {node_type} node is not allowed inside a {graph.type_of(parent)}.",
                ctx.node_path(child),
                child,
                hint="Move it out of the container.",
            )


@rule("DSL406", "error")
def start_child_misplaced(ctx: Context) -> Iterator[Issue]:
    """An iteration-start, loop-start or loop-end node is outside its kind of container.

    What it does: requires iteration-start inside an iteration, and loop-start / loop-end inside a loop.
    Why is this bad: those nodes only mean something in their container; elsewhere they break the graph.
    Example: a `loop-end` node at the top level.
    Fix: move it into the right container or delete it.
    """
    graph = ctx.graph
    for index, node in graph.nodes:
        node_type = node["data"].get("type")
        if (
            node_type in OWN_CONTAINER
            and graph.type_of(graph.parent.get(node["id"], "")) != OWN_CONTAINER[node_type]
        ):
            yield Issue(
                f"A {node_type} node must sit inside a {OWN_CONTAINER[node_type]}.",
                f"$.workflow.graph.nodes[{index}]",
                node["id"],
                hint="Move it into the container or delete it.",
            )
