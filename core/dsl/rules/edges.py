"""DSL2xx: edges: endpoints, branch handles, direction rules, container boundaries, duplicates."""

from __future__ import annotations

from collections.abc import Iterator

from core.dsl.graph import raw_edges
from core.dsl.models import ENTRY_TYPES
from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule


def allowed_handles(data: dict) -> set[str] | None:
    """The `sourceHandle` values a node accepts (DSL_SPEC §4.2); ``None`` means any handle."""
    node_type = data.get("type")
    if node_type == "human-input":
        return None
    if node_type == "if-else":
        cases = data.get("cases")
        if isinstance(cases, list):
            handles = {
                c.get("case_id") for c in cases if isinstance(c, dict) and isinstance(c.get("case_id"), str)
            }
        else:
            handles = {"true"}
        handles.add("false")
    elif node_type == "question-classifier":
        classes = data.get("classes")
        handles = (
            {str(c.get("id")) for c in classes if isinstance(c, dict)} if isinstance(classes, list) else set()
        )
    else:
        handles = {"source"}
    if data.get("error_strategy") == "fail-branch":
        handles |= {"source", "fail-branch", "success-branch"}
    return handles


def _edge_issue(
    ctx: Context,
    index: int,
    edge: dict,
    message: str,
    suffix: str = "",
    hint: str | None = None,
    node_key: str = "source",
) -> Issue:
    node_id = edge.get(node_key)
    return Issue(
        message,
        f"$.workflow.graph.edges[{index}]{suffix}",
        node_id if isinstance(node_id, str) and node_id in ctx.graph.by_id else None,
        hint,
    )


@rule("DSL200", "error")
def edge_malformed(ctx: Context) -> Iterator[Issue]:
    """An edge is not a mapping with string `source` and `target`.

    What it does: checks each edge's shape.
    Why is this bad: Dify silently skips such edges, so the branch they should connect never runs.
    Example: `{source: 1718000000000, target: llm}` (the unquoted id is a number).
    Fix: quote node ids; every edge needs `source`, `target`, `sourceHandle`, `targetHandle`.
    """
    for i, edge in enumerate(raw_edges(ctx.mapping) if ctx.checks_graph else ()):
        if not isinstance(edge, dict):
            yield Issue(f"Edge {i} is not a mapping.", f"$.workflow.graph.edges[{i}]", hint="Remove it.")
            continue
        for key in ("source", "target"):
            if not isinstance(edge.get(key), str):
                yield Issue(
                    f"Edge {i} has {key} {edge.get(key)!r}; it must be a node id string (Dify skips "
                    "the edge).",
                    f"$.workflow.graph.edges[{i}].{key}",
                    hint="Quote the node id.",
                )
        handle = edge.get("sourceHandle", "source")
        if not isinstance(handle, str):
            yield Issue(
                f"Edge {i} has sourceHandle {handle!r}; it must be a string (Dify skips the edge).",
                f"$.workflow.graph.edges[{i}].sourceHandle",
                hint='Use sourceHandle: "source".',
            )


@rule("DSL201", "error")
def edge_source_missing(ctx: Context) -> Iterator[Issue]:
    """An edge starts at a node that does not exist.

    What it does: checks every edge `source` names an existing node.
    Why is this bad: the engine fails with MISSING_NODE; the editor drops the edge.
    Example: `source: "1718000000001"` after that node was deleted.
    Fix: point the edge at an existing node or delete it.
    """
    graph = ctx.graph
    for index, edge in graph.edges:
        if edge["source"] not in graph.by_id and edge["source"] not in graph.notes:
            yield Issue(
                f"Edge source {edge['source']!r} is not a node.",
                f"$.workflow.graph.edges[{index}].source",
                edge["target"] if edge["target"] in graph.by_id else None,
                hint="Connect the edge to an existing node or remove it.",
            )


@rule("DSL202", "error")
def edge_target_missing(ctx: Context) -> Iterator[Issue]:
    """An edge ends at a node that does not exist.

    What it does: checks every edge `target` names an existing node.
    Why is this bad: the engine fails with MISSING_NODE; the branch leads nowhere.
    Example: `target: "answer"` when no node has id `answer`.
    Fix: point the edge at an existing node or delete it.
    """
    graph = ctx.graph
    for index, edge in graph.edges:
        if edge["target"] not in graph.by_id and edge["target"] not in graph.notes:
            yield _edge_issue(
                ctx,
                index,
                edge,
                f"Edge target {edge['target']!r} is not a node.",
                ".target",
                "Connect the edge to an existing node or remove it.",
            )


@rule("DSL203", "error")
def edge_touches_note(ctx: Context) -> Iterator[Issue]:
    """An edge connects to a note.

    What it does: reports edges whose source or target is a sticky note.
    Why is this bad: notes are dropped before the graph is built; the edge dangles.
    Example: an edge from an LLM node to a `custom-note`.
    Fix: delete the edge.
    """
    graph = ctx.graph
    for index, edge in graph.edges:
        for key in ("source", "target"):
            if edge[key] in graph.notes:
                yield _edge_issue(
                    ctx,
                    index,
                    edge,
                    f"Edge {key} {edge[key]!r} is a note; notes cannot be connected.",
                    f".{key}",
                    "Delete the edge.",
                    node_key="target" if key == "source" else "source",
                )


@rule("DSL204", "error")
def source_handle_invalid(ctx: Context) -> Iterator[Issue]:
    """An edge's `sourceHandle` is not a branch its source node has.

    What it does: checks handles: `source` for most nodes; if-else case ids plus `false`;
    question-classifier class ids; `fail-branch` for nodes with `error_strategy: fail-branch`.
    Why is this bad: the branch is never taken (or the edge is skipped), so downstream nodes never run.
    Example: an if-else edge with `sourceHandle: "else"` (the ELSE branch is `false`).
    Fix: use one of the handles listed in the message.
    """
    graph = ctx.graph
    for index, edge in graph.live_edges:
        handle = edge.get("sourceHandle", "source")
        if not isinstance(handle, str):
            continue
        allowed = allowed_handles(graph.by_id[edge["source"]]["data"])
        if allowed is not None and handle not in allowed:
            yield _edge_issue(
                ctx,
                index,
                edge,
                f"sourceHandle {handle!r} is not a branch of the "
                f"{graph.type_of(edge['source'])} node (allowed: {', '.join(sorted(allowed)) or 'none'}).",
                ".sourceHandle",
                "Use one of the allowed handles.",
            )


@rule("DSL205", "warning")
def target_handle_invalid(ctx: Context) -> Iterator[Issue]:
    """An edge's `targetHandle` is not `target`.

    What it does: checks `targetHandle`, which is always `target` in Dify.
    Why is this bad: the editor cannot draw the edge's end.
    Example: `targetHandle: source`.
    Fix: `targetHandle: target`.
    """
    for index, edge in ctx.graph.edges:
        if edge.get("targetHandle", "target") != "target":
            yield _edge_issue(
                ctx,
                index,
                edge,
                f"targetHandle is {edge.get('targetHandle')!r}, not 'target'.",
                ".targetHandle",
                "Use targetHandle: target.",
                node_key="target",
            )


@rule("DSL206", "error")
def edge_into_entry(ctx: Context) -> Iterator[Issue]:
    """An edge leads into a start or trigger node.

    What it does: reports edges whose target is `start` or a trigger.
    Why is this bad: the editor refuses the connection; old engines fail to find the root node.
    Example: an edge from `answer` back to `start`.
    Fix: delete the edge.
    """
    graph = ctx.graph
    for index, edge in graph.live_edges:
        if graph.type_of(edge["target"]) in ENTRY_TYPES:
            yield _edge_issue(
                ctx,
                index,
                edge,
                f"Edge leads into the {graph.type_of(edge['target'])} node "
                f"{edge['target']!r}; nothing may connect into an entry node.",
                ".target",
                "Delete the edge.",
                node_key="target",
            )


@rule("DSL207", "error")
def edge_out_of_loop_end(ctx: Context) -> Iterator[Issue]:
    """An edge leaves a loop-end node.

    What it does: reports edges whose source is `loop-end`.
    Why is this bad: loop-end ends the loop body; the editor refuses outgoing connections.
    Example: `loop-end -> llm` inside a loop.
    Fix: connect the next step from the loop node itself.
    """
    graph = ctx.graph
    for index, edge in graph.live_edges:
        if graph.type_of(edge["source"]) == "loop-end":
            yield _edge_issue(
                ctx, index, edge, "Nothing may follow a loop-end node.", ".source", "Delete the edge."
            )


@rule("DSL208", "error")
def edge_crosses_container(ctx: Context) -> Iterator[Issue]:
    """An edge crosses an iteration or loop boundary.

    What it does: requires both ends of an edge to have the same `parentId`.
    Why is this bad: the editor refuses it; a container's child graph runs on its own.
    Example: an edge from a node inside an iteration to a node after it.
    Fix: connect from the container node itself, or move the node into the container.
    """
    graph = ctx.graph
    for index, edge in graph.live_edges:
        src, dst = graph.parent.get(edge["source"]), graph.parent.get(edge["target"])
        if src != dst:
            where = lambda p: f"inside {p!r}" if p else "at the top level"  # noqa: E731
            yield _edge_issue(
                ctx,
                index,
                edge,
                f"Edge connects a node {where(src)} to a node {where(dst)}; "
                "edges cannot cross a container boundary.",
                "",
                "Connect nodes within the same container only.",
                node_key="target",
            )


@rule("DSL209", "warning")
def edge_type_mismatch(ctx: Context) -> Iterator[Issue]:
    """An edge's `data.sourceType` / `data.targetType` do not match its nodes.

    What it does: compares the edge data types with the nodes' `data.type`.
    Why is this bad: the editor uses them to draw and check the edge; stale values confuse it.
    Example: `data.sourceType: llm` on an edge from a code node.
    Fix: set them to the nodes' types (or re-export).
    """
    graph = ctx.graph
    for index, edge in graph.live_edges:
        data = edge.get("data")
        if not isinstance(data, dict):
            continue
        for key, end in (("sourceType", "source"), ("targetType", "target")):
            if key in data and data[key] != graph.type_of(edge[end]):
                yield _edge_issue(
                    ctx,
                    index,
                    edge,
                    f"Edge data.{key} is {data[key]!r} but the {end} node is {graph.type_of(edge[end])!r}.",
                    f".data.{key}",
                    f"Set {key} to the node's type.",
                )


@rule("DSL210", "error")
def edge_duplicate(ctx: Context) -> Iterator[Issue]:
    """Two edges connect the same source handle to the same target.

    What it does: reports repeated `(source, sourceHandle, target)` triples.
    Why is this bad: the engine may run the target twice, or the editor shows overlapping edges.
    Example: the same `llm -> answer` edge listed twice.
    Fix: delete the duplicate.
    """
    seen: set[tuple] = set()
    for index, edge in ctx.graph.edges:
        key = (edge["source"], repr(edge.get("sourceHandle", "source")), edge["target"])
        if key in seen:
            yield _edge_issue(
                ctx,
                index,
                edge,
                f"Duplicate edge {key[0]!r} -> {key[2]!r} (handle {key[1]!r}).",
                "",
                "Delete the duplicate edge.",
            )
        seen.add(key)


@rule("DSL211", "warning")
def edge_id_duplicate(ctx: Context) -> Iterator[Issue]:
    """Two edges share an id.

    What it does: reports repeated edge ids.
    Why is this bad: the editor keys edges by id; one of them disappears when edited.
    Example: two edges with `id: a-source-b-target` but different targets.
    Fix: give each edge a unique id (`<source>-<handle>-<target>-target`).
    """
    seen: set[str] = set()
    for index, edge in ctx.graph.edges:
        edge_id = edge.get("id")
        if isinstance(edge_id, str):
            if edge_id in seen:
                yield _edge_issue(
                    ctx, index, edge, f"Duplicate edge id {edge_id!r}.", ".id", "Make the id unique."
                )
            seen.add(edge_id)
