"""DSL5xx: variable references: selectors and ``{{#node.var#}}`` templates must point at real, upstream values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule

TEMPLATE = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")
"""Dify's variable template regex (``variable_template_parser.py``)."""
LOOSE_TEMPLATE = re.compile(r"\{\{#([^#{}\s]{1,200})#\}\}")

SYS_BOTH = frozenset({"files", "user_id", "app_id", "workflow_id", "workflow_run_id"})
SYS_BY_MODE = {
    "advanced-chat": SYS_BOTH | {"query", "conversation_id", "dialogue_count"},
    "workflow": SYS_BOTH | {"timestamp"},
}
SYS_ALL = SYS_BY_MODE["advanced-chat"] | SYS_BY_MODE["workflow"]
SPECIAL_PLACEHOLDERS = frozenset({"context", "histories", "query"})
"""Dotless ``{{#...#}}`` placeholders Dify fills itself in LLM prompts (context, memory)."""
ERROR_OUTPUTS = frozenset({"error_message", "error_type"})
OPEN_OUTPUT_TYPES = frozenset(
    {"tool", "agent", "human-input", "trigger-webhook", "trigger-schedule", "trigger-plugin"}
)
FIXED_OUTPUTS: dict[str, frozenset[str]] = {
    "llm": frozenset({"text", "reasoning_content", "usage", "structured_output", "files"}),
    "knowledge-retrieval": frozenset({"result"}),
    "question-classifier": frozenset({"class_name", "class_label", "class_id", "usage"}),
    "if-else": frozenset({"result", "selected_case_id"}),
    "template-transform": frozenset({"output"}),
    "http-request": frozenset({"body", "status_code", "headers", "files"}),
    "document-extractor": frozenset({"text"}),
    "list-operator": frozenset({"result", "first_record", "last_record"}),
    "answer": frozenset({"answer", "files"}),
    "iteration": frozenset({"output"}),
    "loop": frozenset({"output"}),
}


@dataclass(frozen=True)
class Reference:
    """One variable reference inside a node: a selector list or a template's dotted path."""

    node_id: str
    path: str
    selector: object
    template: bool = False


def outputs_of(ctx: Context, node_id: str, *, inside: bool) -> frozenset[str] | None:
    """The variable names a node offers to others; ``None`` means open-ended (tools, agents).

    Args:
        ctx: the validation context.
        node_id: the referenced node.
        inside: the referencing node sits inside this node (a container's item/index/loop variables).
    """
    cache = ctx.extra.setdefault("outputs", {})
    if (node_id, inside) not in cache:
        cache[node_id, inside] = _outputs(ctx.graph.by_id[node_id]["data"], inside)
    return cache[node_id, inside]


def _outputs(data: dict, inside: bool) -> frozenset[str] | None:
    node_type = data.get("type")
    if node_type in OPEN_OUTPUT_TYPES:
        return None
    names: set[str] = set(FIXED_OUTPUTS.get(node_type, ())) | ERROR_OUTPUTS
    if node_type == "start":
        names |= _names(data.get("variables"), "variable")
    elif node_type == "code" and isinstance(data.get("outputs"), dict):
        names |= {k for k in data["outputs"] if isinstance(k, str)}
    elif node_type == "parameter-extractor":
        names |= _names(data.get("parameters"), "name")
        names |= {"__is_success", "__reason", "usage"}
    elif node_type in ("variable-aggregator", "variable-assigner"):
        names.add("output")
        settings = data.get("advanced_settings")
        if isinstance(settings, dict):
            names |= _names(settings.get("groups"), "group_name")
    elif node_type == "iteration" and inside:
        names |= {"item", "index"}
    elif node_type == "loop":
        names |= _names(data.get("loop_variables"), "label")
        if inside:
            names.add("index")
    return frozenset(n for n in names if isinstance(n, str))


def _names(items: object, key: str) -> set[str]:
    """The string values of ``key`` in a list of mappings (anything else is skipped)."""
    return {item[key] for item in _list(items) if isinstance(item, dict) and isinstance(item.get(key), str)}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _selector_fields(data: dict) -> Iterator[tuple[str, object]]:  # noqa: C901 - one table of node fields
    """``(path suffix, selector)`` for every selector field of a node's data (empty ones skipped)."""
    node_type = data.get("type")

    def items(key: str, inner: str) -> Iterator[tuple[str, object]]:
        for i, item in enumerate(_list(data.get(key))):
            if isinstance(item, dict):
                yield f".{key}[{i}].{inner}", item.get(inner)

    vision = _dict(data.get("vision"))
    if vision.get("enabled") is True and isinstance(vision.get("configs"), dict):
        yield ".vision.configs.variable_selector", vision["configs"].get("variable_selector")
    if node_type == "llm":
        context = _dict(data.get("context"))
        if context.get("enabled") is True:
            yield ".context.variable_selector", context.get("variable_selector")
        for i, item in enumerate(_list(_dict(data.get("prompt_config")).get("jinja2_variables"))):
            if isinstance(item, dict):
                yield f".prompt_config.jinja2_variables[{i}].value_selector", item.get("value_selector")
    elif node_type == "end":
        yield from items("outputs", "value_selector")
    elif node_type in ("knowledge-retrieval", "question-classifier"):
        if isinstance(data.get("query_variable_selector"), list):
            yield ".query_variable_selector", data["query_variable_selector"]
    elif node_type == "if-else":
        for i, case in enumerate(_list(data.get("cases"))):
            for j, cond in enumerate(_list(_dict(case).get("conditions"))):
                yield f".cases[{i}].conditions[{j}].variable_selector", _dict(cond).get("variable_selector")
        yield from items("conditions", "variable_selector")
    elif node_type in ("code", "template-transform"):
        yield from items("variables", "value_selector")
    elif node_type == "http-request":
        for i, item in enumerate(_list(_dict(data.get("body")).get("data"))):
            if isinstance(item, dict) and item.get("type") == "file":
                yield f".body.data[{i}].file", item.get("file")
    elif node_type in ("tool", "agent"):
        key = "tool_parameters" if node_type == "tool" else "agent_parameters"
        for name, param in _dict(data.get(key)).items():
            if isinstance(param, dict) and param.get("type") == "variable":
                yield f".{key}.{name}.value", param.get("value")
    elif node_type in ("variable-aggregator", "variable-assigner"):
        for i, selector in enumerate(_list(data.get("variables"))):
            yield f".variables[{i}]", selector
        advanced = _dict(data.get("advanced_settings"))
        groups = _list(advanced.get("groups")) if advanced.get("group_enabled") else []  # Dify ignores them when off
        for g, group in enumerate(groups):
            for i, selector in enumerate(_list(_dict(group).get("variables"))):
                yield f".advanced_settings.groups[{g}].variables[{i}]", selector
    elif node_type == "assigner":
        for key in ("assigned_variable_selector", "input_variable_selector"):
            yield f".{key}", data.get(key)
        for i, item in enumerate(_list(data.get("items"))):
            item = _dict(item)
            yield f".items[{i}].variable_selector", item.get("variable_selector")
            if item.get("input_type") == "variable":
                yield f".items[{i}].value", item.get("value")
    elif node_type == "parameter-extractor":
        yield ".query", data.get("query")
    elif node_type == "iteration":
        yield ".iterator_selector", data.get("iterator_selector")
        yield ".output_selector", data.get("output_selector")
    elif node_type == "loop":
        for i, cond in enumerate(_list(data.get("break_conditions"))):
            yield f".break_conditions[{i}].variable_selector", _dict(cond).get("variable_selector")
        for i, var in enumerate(_list(data.get("loop_variables"))):
            if _dict(var).get("value_type") == "variable":
                yield f".loop_variables[{i}].value", var.get("value")
    elif node_type == "document-extractor":
        yield ".variable_selector", data.get("variable_selector")
    elif node_type == "list-operator":
        yield ".variable", data.get("variable")


def _template_fields(data: dict) -> Iterator[tuple[str, object]]:
    """``(path suffix, text)`` of every string Dify renders ``{{#...#}}`` templates in."""
    node_type = data.get("type")
    if node_type == "answer":
        yield ".answer", data.get("answer")
    elif node_type == "llm":
        prompt = data.get("prompt_template")
        messages = prompt if isinstance(prompt, list) else [prompt]
        for i, message in enumerate(messages):
            message = _dict(message)
            if message.get("edition_type") != "jinja2":
                yield (
                    f".prompt_template[{i}].text" if isinstance(prompt, list) else ".prompt_template.text",
                    message.get("text"),
                )
    elif node_type in ("question-classifier", "parameter-extractor"):
        yield ".instruction", data.get("instruction")
    elif node_type == "http-request":
        for key in ("url", "headers", "params"):
            yield f".{key}", data.get(key)
        body = _dict(data.get("body")).get("data")
        if isinstance(body, str):
            yield ".body.data", body
        for i, item in enumerate(_list(body)):
            yield f".body.data[{i}].value", _dict(item).get("value")
    elif node_type in ("tool", "agent"):
        key = "tool_parameters" if node_type == "tool" else "agent_parameters"
        for name, param in _dict(data.get(key)).items():
            if isinstance(param, dict) and param.get("type") == "mixed":
                yield f".{key}.{name}.value", param.get("value")
    if node_type in ("llm", "question-classifier", "parameter-extractor"):
        yield ".memory.query_prompt_template", _dict(data.get("memory")).get("query_prompt_template")


def references(ctx: Context) -> list[Reference]:
    """Every selector and template reference in the graph (computed once)."""
    if "references" in ctx.extra:
        return ctx.extra["references"]
    found: list[Reference] = []
    for index, node in ctx.graph.nodes:
        data, base = node["data"], f"$.workflow.graph.nodes[{index}].data"
        for suffix, selector in _selector_fields(data):
            if selector is not None and selector != [] and selector != "":
                found.append(Reference(node["id"], base + suffix, selector))
        for suffix, text in _template_fields(data):
            if isinstance(text, str) and "{{#" in text:
                for match in LOOSE_TEMPLATE.finditer(text):
                    if match.group(1) in SPECIAL_PLACEHOLDERS:
                        continue
                    found.append(Reference(node["id"], base + suffix, match.group(1), template=True))
    ctx.extra["references"] = found
    return found


def _judge(ctx: Context, ref: Reference) -> tuple[str, str, str] | None:  # noqa: C901 - one decision table
    """Classify a reference: ``(code, message, hint)`` when it is wrong, else ``None``."""
    if ref.template:
        if not TEMPLATE.fullmatch("{{#" + ref.selector + "#}}"):
            return (
                "DSL507",
                f"{{{{#{ref.selector}#}}}} does not match Dify's template pattern, so it is printed "
                "literally instead of being replaced.",
                "Node ids in templates may only use letters, digits and "
                "_ (no '-'); use a node with such an id, or pass the value through a variable.",
            )
        selector = ref.selector.split(".")
    else:
        selector = ref.selector
        if not (
            isinstance(selector, list) and len(selector) >= 2 and all(isinstance(p, str) for p in selector)
        ):
            return (
                "DSL500",
                f"Selector {selector!r} must be a list of at least two strings [node_id, variable].",
                "Write it as [<node id>, <variable name>].",
            )
    head, name = selector[0], selector[1]
    graph = ctx.graph
    if head == "sys":
        if name not in SYS_ALL:
            return (
                "DSL504",
                f"sys.{name} is not a system variable.",
                f"Use one of {', '.join(sorted(SYS_ALL))}.",
            )
        if name not in SYS_BY_MODE.get(ctx.mode or "", SYS_ALL):
            return (
                "DSL504",
                f"sys.{name} is not available in {ctx.mode} apps.",
                "Take the value from a start variable instead."
                if name == "query"
                else "Remove the reference.",
            )
        return None
    if head == "env":
        if name not in ctx.env_names:
            return (
                "DSL505",
                f"Environment variable {name!r} is not declared.",
                "Declare it in workflow.environment_variables or fix the name.",
            )
        return None
    if head == "conversation":
        if name not in ctx.conversation_names:
            return (
                "DSL506",
                f"Conversation variable {name!r} is not declared.",
                "Declare it in workflow.conversation_variables (advanced-chat) or fix the name.",
            )
        return None
    if head not in graph.by_id:
        return (
            "DSL501",
            f"Reference to node {head!r}, which does not exist.",
            "Point it at an existing upstream node.",
        )
    container_own = graph.type_of(ref.node_id) in ("iteration", "loop") and (  # its children, its own variables
        head == ref.node_id or head in graph.descendants(ref.node_id))
    if not container_own and not graph.is_upstream(ref.node_id, head):
        return (
            "DSL502",
            f"Reference to node {head!r}, which is not upstream of this node, so its value does not "
            "exist yet when this node runs.",
            "Connect that node before this one, or reference an upstream node.",
        )
    offered = outputs_of(ctx, head, inside=head == ref.node_id or ref.node_id in graph.descendants(head))
    if (
        offered is not None
        and name not in offered
        and not (graph.type_of(head) == "start" and name.startswith("sys."))
    ):
        return (
            "DSL503",
            f"The {graph.type_of(head)} node {head!r} has no output {name!r}.",
            f"Use one of: {', '.join(sorted(offered)) or 'none'}.",
        )
    return None


def judged(ctx: Context) -> list[tuple[str, Reference, str, str]]:
    """``(code, reference, message, hint)`` for every wrong reference (computed once)."""
    if "judged" not in ctx.extra:
        verdicts = []
        for ref in references(ctx):
            verdict = _judge(ctx, ref)
            if verdict is not None:
                verdicts.append((verdict[0], ref, verdict[1], verdict[2]))
        ctx.extra["judged"] = verdicts
    return ctx.extra["judged"]


def _issues(ctx: Context, code: str) -> Iterator[Issue]:
    for found, ref, message, hint in judged(ctx):
        if found == code:
            yield Issue(message, ref.path, ref.node_id, hint)


@rule("DSL500", "error")
def selector_malformed(ctx: Context) -> Iterator[Issue]:
    """A variable selector is not a list of at least two strings.

    What it does: checks selectors (`value_selector`, `variable_selector`, `query`, ...).
    Why is this bad: Dify needs `[node_id, variable, ...]` (`SELECTORS_LENGTH = 2`); anything else fails
    at run time.
    Example: `value_selector: ["1718000000000"]`.
    Fix: add the variable name: `["1718000000000", "text"]`.
    """
    yield from _issues(ctx, "DSL500")


@rule("DSL501", "error")
def reference_unknown_node(ctx: Context) -> Iterator[Issue]:
    """A selector or template references a node that does not exist.

    What it does: checks the first element of every selector and `{{#node.var#}}` template.
    Why is this bad: the value is missing at run time; the editor flags "invalid variable".
    Example: `{{#1718000000009.text#}}` after node 1718000000009 was deleted.
    Fix: reference an existing upstream node.
    """
    yield from _issues(ctx, "DSL501")


@rule("DSL502", "error")
def reference_not_upstream(ctx: Context) -> Iterator[Issue]:
    """A reference points at a node that does not run before this one.

    What it does: requires referenced nodes to be edge ancestors of the referencing node (or its
    enclosing container, or upstream of that container). A container may reference its own children
    (`output_selector`) and a loop its own loop variables (`break_conditions`).
    Why is this bad: the value does not exist yet when the node runs; it renders empty or fails.
    Example: an LLM prompt using `{{#answer_node.answer#}}` where the answer comes later.
    Fix: connect the referenced node before this one, or reference an upstream node.
    """
    yield from _issues(ctx, "DSL502")


@rule("DSL503", "error")
def reference_unknown_output(ctx: Context) -> Iterator[Issue]:
    """A reference names an output the node does not have.

    What it does: knows each node type's outputs (llm `text`/`reasoning_content`/`usage`/`structured_output`,
    code's declared outputs, extractor parameters plus `__is_success`/`__reason`, start variables,
    iteration `item`/`index`/`output`, loop variables, aggregator `output` and groups, ...). Tool and agent
    outputs are open-ended and not checked.
    Why is this bad: the value is missing at run time.
    Example: `[llm_node, "output"]` (an LLM's output is `text`).
    Fix: use one of the outputs listed in the message.
    """
    yield from _issues(ctx, "DSL503")


@rule("DSL504", "error")
def system_variable_unavailable(ctx: Context) -> Iterator[Issue]:
    """A `sys.*` variable is unknown or not available in the app mode.

    What it does: `sys.query`, `sys.conversation_id`, `sys.dialogue_count` exist only in advanced-chat;
    `sys.timestamp` only in workflow; `sys.files`, `sys.user_id`, `sys.app_id`, `sys.workflow_id`,
    `sys.workflow_run_id` in both.
    Why is this bad: the variable is empty or missing at run time.
    Example: `{{#sys.query#}}` in a workflow app.
    Fix: in a workflow, add a start variable for the user's input and reference it.
    """
    yield from _issues(ctx, "DSL504")


@rule("DSL505", "error")
def environment_variable_undeclared(ctx: Context) -> Iterator[Issue]:
    """An `env.*` reference names an environment variable that is not declared.

    What it does: checks `env` selectors and templates against `workflow.environment_variables`.
    Why is this bad: the value is missing at run time.
    Example: `{{#env.API_KEY#}}` with no `API_KEY` declared.
    Fix: declare it (secrets as `value_type: secret`) or fix the name.
    """
    yield from _issues(ctx, "DSL505")


@rule("DSL506", "error")
def conversation_variable_undeclared(ctx: Context) -> Iterator[Issue]:
    """A `conversation.*` reference names a conversation variable that is not declared.

    What it does: checks `conversation` selectors and templates against `workflow.conversation_variables`.
    Why is this bad: the value is missing at run time; assigners cannot write it.
    Example: an assigner writing `[conversation, history]` with no `history` declared.
    Fix: declare it in `conversation_variables` (advanced-chat only) or fix the name.
    """
    yield from _issues(ctx, "DSL506")


@rule("DSL507", "warning")
def template_unresolvable(ctx: Context) -> Iterator[Issue]:
    """A `{{#...#}}` template does not match Dify's template pattern.

    What it does: checks templates against `\\{\\{#([a-zA-Z0-9_]{1,50}(?:\\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\\}\\}`.
    Why is this bad: Dify leaves it as literal text; typically a uuid node id with `-`.
    Example: `{{#3f2a-41c9.text#}}`.
    Fix: use node ids made of letters, digits and `_` in templates.
    """
    yield from _issues(ctx, "DSL507")
