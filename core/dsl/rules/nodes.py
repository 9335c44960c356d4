"""DSL1xx: each node on its own: ids, wrapper types, node types, required fields, enums, field types."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from pydantic import ValidationError

from core.dsl.graph import raw_nodes
from core.dsl.models import NODE_DATA_MODELS, node_data_adapter, node_data_model
from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule

WRAPPER_TYPES = ("custom", "custom-note", "custom-iteration-start", "custom-loop-start")
ENUM_ERRORS = frozenset({"literal_error", "enum"})


def _data_path(data: object, loc: tuple) -> str:
    """Turn a pydantic error location into a JSON path, skipping union-member tags."""
    path, current = "", data
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            path, current = f"{path}.{part}", current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path, current = f"{path}[{part}]", current[part]
        elif i == len(loc) - 1 and isinstance(part, str) and isinstance(current, dict):
            path, current = f"{path}.{part}", None
    return path


def node_data_errors(ctx: Context) -> list[tuple[str, str, str, str, str]]:
    """Pydantic errors of every node's data: ``(node_id, kind, path, field, message)``, computed once.

    ``kind`` is ``missing``, ``enum`` or ``type``.
    """
    if "node_errors" in ctx.extra:
        return ctx.extra["node_errors"]
    found: list[tuple[str, str, str, str, str]] = []
    for index, node in ctx.graph.nodes:
        data = node["data"]
        model = node_data_model(data.get("type"), data.get("version"))
        if model is None:
            continue
        try:
            node_data_adapter(model).validate_python(data)
        except ValidationError as exc:
            seen: set[tuple[str, str]] = set()
            for error in exc.errors():
                kind = (
                    "missing"
                    if error["type"] == "missing"
                    else "enum"
                    if error["type"] in ENUM_ERRORS
                    else "type"
                )
                path = f"$.workflow.graph.nodes[{index}].data" + _data_path(data, error["loc"])
                if (kind, path) in seen:
                    continue
                seen.add((kind, path))
                field = ".".join(str(p) for p in error["loc"])
                found.append((node["id"], kind, path, field, error["msg"]))
    ctx.extra["node_errors"] = found
    return found


@rule("DSL100", "error")
def node_malformed(ctx: Context) -> Iterator[Issue]:
    """A node is not a mapping with an `id` and a `data` mapping.

    What it does: checks the React Flow wrapper of each node.
    Why is this bad: Dify reads `id` and `data` of every node; without them the graph cannot be built.
    Example: `nodes: [{id: "1", type: custom}]` (no `data`).
    Fix: every node needs `id`, `type: custom` and `data: {type: ..., title: ...}`.
    """
    for i, node in enumerate(raw_nodes(ctx.mapping) if ctx.checks_graph else ()):
        if not isinstance(node, dict):
            yield Issue(f"Node {i} is not a mapping.", f"$.workflow.graph.nodes[{i}]", hint="Remove it.")
        elif not isinstance(node.get("data"), dict):
            node_id = node.get("id") if isinstance(node.get("id"), str) else None
            yield Issue(
                f"Node {i} has no `data` mapping.",
                f"$.workflow.graph.nodes[{i}].data",
                node_id,
                hint="Add data: {type: <node type>, title: ...}.",
            )


@rule("DSL101", "error")
def node_id_invalid(ctx: Context) -> Iterator[Issue]:
    """A node id is missing, empty or not a string.

    What it does: requires every node to have a non-empty string `id`.
    Why is this bad: edges and variable references point at node ids.
    Example: `id: 1718000000000` written without quotes is an int.
    Fix: quote the id: `id: "1718000000000"`.
    """
    for i, node in enumerate(raw_nodes(ctx.mapping) if ctx.checks_graph else ()):
        if isinstance(node, dict) and not (isinstance(node.get("id"), str) and node["id"]):
            yield Issue(
                f"Node {i} has id {node.get('id')!r}; ids must be non-empty strings.",
                f"$.workflow.graph.nodes[{i}].id",
                hint="Give the node a unique string id.",
            )


@rule("DSL102", "error")
def node_id_duplicate(ctx: Context) -> Iterator[Issue]:
    """Two nodes share an id.

    What it does: requires node ids to be unique (notes included).
    Why is this bad: edges and references become ambiguous; the engine keeps only one of them.
    Example: two nodes with `id: llm`.
    Fix: give each node its own id and update its edges.
    """
    seen: set[str] = set()
    for i, node in enumerate(raw_nodes(ctx.mapping) if ctx.checks_graph else ()):
        node_id = node.get("id") if isinstance(node, dict) else None
        if isinstance(node_id, str) and node_id:
            if node_id in seen:
                yield Issue(
                    f"Duplicate node id {node_id!r}.",
                    f"$.workflow.graph.nodes[{i}].id",
                    node_id,
                    hint="Give this node a new unique id and reconnect its edges.",
                )
            seen.add(node_id)


@rule("DSL103", "error")
def wrapper_type_invalid(ctx: Context) -> Iterator[Issue]:
    """The node wrapper `type` is not a React Flow type Dify uses.

    What it does: requires `type` to be custom, custom-note, custom-iteration-start or custom-loop-start,
    and `custom-iteration-start` / `custom-loop-start` to wrap the matching `*-start` node.
    Why is this bad: the editor cannot render the node.
    Example: `type: llm` on the wrapper (the node type belongs in `data.type`).
    Fix: use `type: custom` and put the node type in `data.type`.
    """
    for i, node in enumerate(raw_nodes(ctx.mapping) if ctx.checks_graph else ()):
        if not isinstance(node, dict) or "type" not in node:
            continue
        wrapper = node["type"]
        node_id = node.get("id") if isinstance(node.get("id"), str) else None
        if wrapper not in WRAPPER_TYPES:
            yield Issue(
                f"Wrapper type {wrapper!r} is not one of {', '.join(WRAPPER_TYPES)}.",
                f"$.workflow.graph.nodes[{i}].type",
                node_id,
                hint="Use type: custom.",
            )


@rule("DSL104", "error")
def node_type_unknown(ctx: Context) -> Iterator[Issue]:
    """`data.type` is missing or not a node type Dify knows.

    What it does: checks `data.type` against the node types of DSL_SPEC §3.
    Why is this bad: the engine fails with "No class mapping found for node type".
    Example: `data: {type: gpt}`.
    Fix: use a Dify node type such as `llm`, `code`, `if-else`.
    """
    for index, node in ctx.graph.nodes:
        node_type = node["data"].get("type")
        if node_type not in NODE_DATA_MODELS:
            yield Issue(
                f"Unknown node type {node_type!r}.",
                f"$.workflow.graph.nodes[{index}].data.type",
                node["id"],
                hint="Use one of: " + ", ".join(sorted(NODE_DATA_MODELS)) + ".",
            )


@rule("DSL105", "warning")
def node_title_missing(ctx: Context) -> Iterator[Issue]:
    """A node has no `data.title`.

    What it does: requires a string title on every node.
    Why is this bad: Dify <= 1.12 requires it; the editor shows a blank block.
    Example: `data: {type: llm, model: ...}` without `title`.
    Fix: add `title: "Summarise"`.
    """
    for index, node in ctx.graph.nodes:
        if not isinstance(node["data"].get("title"), str):
            yield Issue(
                "The node has no title.",
                f"$.workflow.graph.nodes[{index}].data.title",
                node["id"],
                hint="Add a short title.",
            )


@rule("DSL106", "error")
def required_field_missing(ctx: Context) -> Iterator[Issue]:
    """A field the node type requires is missing.

    What it does: validates `data` against the node type's model; reports missing required fields.
    Why is this bad: the node's data fails Dify's pydantic validation at run time.
    Example: an `llm` node without `model`; a `code` node without `code_language`.
    Fix: add the field (see DSL_SPEC §3 for each node type).
    """
    for node_id, kind, path, field, _ in node_data_errors(ctx):
        if kind == "missing":
            node_type = ctx.graph.type_of(node_id)
            yield Issue(
                f"The {node_type} node is missing required field `{field}`.",
                path,
                node_id,
                hint=f"Add `{field.rsplit('.', 1)[-1]}` to the node's data.",
            )


@rule("DSL107", "error")
def enum_value_invalid(ctx: Context) -> Iterator[Issue]:
    """A field holds a value outside its allowed set.

    What it does: checks enum fields (code_language, method, retrieval_mode, comparison_operator, ...).
    Why is this bad: Dify's pydantic models reject the value at run time.
    Example: `code_language: python` (must be `python3`).
    Fix: use one of the allowed values given in the message.
    """
    for node_id, kind, path, field, message in node_data_errors(ctx):
        if kind == "enum":
            yield Issue(f"`{field}`: {message}.", path, node_id, hint="Use one of the allowed values.")


@rule("DSL108", "error")
def field_type_invalid(ctx: Context) -> Iterator[Issue]:
    """A field has the wrong type or an out-of-range value.

    What it does: reports data that fails the node model for any reason other than a missing field or
    an enum value (a string where a list is needed, a negative count, ...).
    Why is this bad: Dify's pydantic models reject it at run time.
    Example: `variables: "query"` on a code node (must be a list).
    Fix: write the value with the type given in the message.
    """
    for node_id, kind, path, field, message in node_data_errors(ctx):
        if kind == "type":
            yield Issue(f"`{field}`: {message}.", path, node_id, hint="Fix the value's type.")


def _incomplete(data: dict) -> Iterator[tuple[str, str]]:  # noqa: C901 - one table of per-type checks
    node_type = data.get("type")
    if node_type == "if-else":
        cases = data.get("cases")
        if isinstance(cases, list):
            if not cases and not data.get("conditions"):
                yield ".cases", "has no cases"
            for i, case in enumerate(cases):
                if isinstance(case, dict) and isinstance(case.get("conditions"), list):
                    yield from _conditions(case["conditions"], f".cases[{i}].conditions")
        elif isinstance(data.get("conditions"), list):
            yield from _conditions(data["conditions"], ".conditions")
        elif "cases" not in data and "conditions" not in data:
            yield ".cases", "has no cases (and no legacy conditions)"
    elif node_type == "question-classifier" and isinstance(data.get("classes"), list):
        if not data["classes"]:
            yield ".classes", "has no classes"
        ids = [c.get("id") for c in data["classes"] if isinstance(c, dict)]
        if len(ids) != len(set(ids)):
            yield ".classes", "has two classes with the same id"
    elif node_type == "code" and isinstance(data.get("code"), str) and not data["code"].strip():
        yield ".code", "has empty code"
    elif node_type == "answer" and isinstance(data.get("answer"), str) and not data["answer"].strip():
        yield ".answer", "has an empty answer"
    elif node_type == "knowledge-retrieval" and data.get("dataset_ids") == []:
        yield ".dataset_ids", "has no knowledge base selected"
    elif node_type == "parameter-extractor" and isinstance(data.get("parameters"), list):
        names = [p.get("name") for p in data["parameters"] if isinstance(p, dict)]
        for reserved in ("__reason", "__is_success"):
            if reserved in names:
                yield ".parameters", f"uses the reserved parameter name {reserved}"
    elif node_type == "end" and data.get("outputs") == []:
        yield ".outputs", "has no outputs"


def _conditions(conditions: list, path: str) -> Iterator[tuple[str, str]]:
    if not conditions:
        yield path, "has a case without conditions"
    for i, condition in enumerate(conditions):
        if not isinstance(condition, dict):
            continue
        selector = condition.get("variable_selector")
        if not selector and not condition.get("sub_variable_condition"):
            yield f"{path}[{i}].variable_selector", "has a condition without a variable"


@rule("DSL109", "warning")
def node_config_incomplete(ctx: Context) -> Iterator[Issue]:
    """A node's configuration is incomplete in a way the editor's checklist flags.

    What it does: checks what the editor's `checkValid` requires beyond types: an if-else case with
    conditions, a classifier with classes, non-empty code and answer, a selected knowledge base,
    end outputs, no reserved extractor parameter names.
    Why is this bad: the editor refuses to publish or run until it is fixed.
    Example: a `question-classifier` with `classes: []`.
    Fix: complete the node in the editor or in the DSL.
    """
    for index, node in ctx.graph.nodes:
        for suffix, problem in _incomplete(node["data"]):
            yield Issue(
                f"The {node['data'].get('type')} node {problem}.",
                f"$.workflow.graph.nodes[{index}].data{suffix}",
                node["id"],
                hint="Complete the node.",
            )


@rule("DSL110", "warning")
def end_output_duplicate(ctx: Context) -> Iterator[Issue]:
    """An End output name is repeated where the outputs can clash.

    What it does: reports a `outputs[].variable` name used twice in one End node, or by End nodes that
    can both run in one execution (they hang off parallel paths). End nodes on exclusive branches
    (different if-else cases or classifier classes) may share names: only one of them runs. One
    finding per name, with how many outputs use it.
    Why is this bad: newer editors' checklists refuse it and the workflow result has clashing keys
    (older Dify releases exported such files, so this is a warning).
    Example: two end nodes both writing `result` after a parallel split.
    Fix: rename one output.
    """
    uses: dict[str, list[tuple[int, int, str]]] = defaultdict(list)  # name -> (node index, output index, end id)
    for index, node in ctx.graph.nodes:
        outputs = node["data"].get("outputs") if node["data"].get("type") == "end" else None
        for i, output in enumerate(outputs if isinstance(outputs, list) else ()):
            name = output.get("variable") if isinstance(output, dict) else None
            if isinstance(name, str):
                uses[name].append((index, i, node["id"]))
    repeated = {name: where for name, where in uses.items() if len(where) > 1}
    if not repeated:
        return
    together = _ends_that_run_together(ctx, {end for where in repeated.values() for *_, end in where})
    for name, where in repeated.items():
        clashing = [w for w in where if any(
            other is not w and (other[2] == w[2] or frozenset((other[2], w[2])) in together) for other in where)]
        if len(clashing) > 1:
            index, i, end = clashing[1]
            yield Issue(
                f"End output name {name!r} is used by {len(clashing)} End outputs that can run in the same execution.",
                f"$.workflow.graph.nodes[{index}].data.outputs[{i}].variable",
                end,
                hint="Give each End output its own name.",
            )


def _ends_that_run_together(ctx: Context, ends: set[str]) -> set[frozenset[str]]:
    """Pairs of these End nodes reachable from two edges leaving one node by the same handle (a parallel split)."""
    order = sorted(ends)
    bit = {end: 1 << k for k, end in enumerate(order)}
    succ = ctx.graph.successors
    reach: dict[str, int] = {}

    def reaches(start: str) -> int:  # iterative DFS, memoised: a bitmask of the End nodes reachable
        if start in reach:
            return reach[start]
        stack, seen, found = [start], {start}, 0
        while stack:
            current = stack.pop()
            if current in reach:
                found |= reach[current]
                continue
            found |= bit.get(current, 0)
            for nxt in succ.get(current, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        reach[start] = found
        return found

    by_handle: dict[tuple[str, object], list[str]] = defaultdict(list)
    for _, edge in ctx.graph.live_edges:
        by_handle[(edge["source"], edge.get("sourceHandle") or "source")].append(edge["target"])
    pairs: set[frozenset[str]] = set()
    for targets in by_handle.values():
        if len(targets) < 2:
            continue
        masks = [reaches(t) for t in targets]
        for a in range(len(masks)):
            for b in range(a + 1, len(masks)):
                for x in order:
                    if masks[a] & bit[x]:
                        pairs |= {frozenset((x, y)) for y in order if y != x and masks[b] & bit[y]}
    return pairs
