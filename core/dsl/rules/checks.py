"""DSL111-DSL114: warnings found on real exports (plugins, placeholder datasets, condition types, doubled query).

Node-level checks that need more than one node's fields: the document's dependencies, the type of
the variable a condition reads, or a node's memory settings next to its prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.version import InvalidVersion, Version

from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule

PLACEHOLDER_IDS = re.compile(
    r"(?i)^(|0{8}-0{4}-[0-9a-f]0{3}-[0-9a-f]0{3}-0{11}[0-9a-f]|<.*>|\{.*\}|x+|todo|tbd|placeholder|changeme|"
    r"replace[_ -]?me|your[_ -].*|dataset[_ -]?id|knowledge[_ -]?(base[_ -])?id|example|none|null|test)$")
"""Dataset ids a person or a generator writes when the real id is unknown (the builder's own is all zeros + 1)."""

START_TYPES = {"text-input": "string", "paragraph": "string", "select": "string", "number": "number",
               "file": "file", "file-list": "array[file]", "checkbox": "boolean"}
SYS_TYPES = {"query": "string", "files": "array[file]", "user_id": "string", "conversation_id": "string",
             "dialogue_count": "number", "app_id": "string", "workflow_id": "string", "workflow_run_id": "string"}
FIXED_OUTPUTS = {("llm", "text"): "string", ("knowledge-retrieval", "result"): "array[object]",
                 ("http-request", "body"): "string", ("http-request", "status_code"): "number",
                 ("question-classifier", "class_name"): "string", ("template-transform", "output"): "string",
                 ("agent", "text"): "string"}
COMPATIBLE = {("string", "secret"), ("secret", "string"), ("number", "integer"), ("integer", "number"),
              ("number", "float"), ("float", "number")}


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _version_at_least(ctx: Context, minimum: str) -> bool:
    try:
        return Version(str(ctx.mapping.get("version"))) >= Version(minimum)
    except InvalidVersion:
        return False


def _declared_plugins(ctx: Context) -> list[str]:
    out = []
    for dep in _list(ctx.mapping.get("dependencies")):
        for value in _dict(_dict(dep).get("value")).values():
            if isinstance(value, str):
                out.append(value)
    return out


@rule("DSL111", "warning")
def tool_plugin_undeclared(ctx: Context) -> Iterator[Issue]:
    """A tool node's plugin is not declared in `dependencies` (DSL 0.6.0 and newer).

    What it does: for documents of version 0.6.0 or newer, derives each built-in tool node's plugin
    (`provider_id` `langgenius/duckduckgo/duckduckgo` -> `langgenius/duckduckgo`; a bare `duckduckgo`
    -> `langgenius/duckduckgo`) and looks for it among `dependencies[].value` identifiers.
    Why is this bad: since 0.6.0 Dify no longer infers dependencies from the nodes; the import does
    not offer to install the plugin and the node fails until someone installs it by hand.
    Example: a `tool` node with `provider_id: duckduckgo` and `dependencies: []`.
    Fix: add the plugin to `dependencies` (export from a Dify that has it installed), or install the
    plugin in Dify before running the workflow.
    """
    if not ctx.checks_graph or not _version_at_least(ctx, "0.6.0"):
        return
    declared = _declared_plugins(ctx)
    for index, node in ctx.graph.nodes:
        data = node["data"]
        provider = data.get("provider_id")
        if data.get("type") != "tool" or data.get("provider_type") not in ("builtin", "plugin") or not isinstance(provider, str):
            continue
        parts = provider.split("/")
        plugin = "/".join(parts[:2]) if len(parts) >= 2 else f"langgenius/{provider}"
        if not any(d == plugin or d.startswith(plugin + ":") or d.startswith(plugin + "@") for d in declared):
            yield Issue(f"Tool node uses plugin {plugin!r}, which `dependencies` does not declare.",
                        f"$.workflow.graph.nodes[{index}].data.provider_id", node["id"],
                        hint=f"Install {plugin} in Dify before running, or declare it in dependencies.")


@rule("DSL112", "warning")
def knowledge_placeholder_dataset(ctx: Context) -> Iterator[Issue]:
    """A knowledge-retrieval node points at a placeholder dataset id.

    What it does: reports `dataset_ids` entries that are placeholders (`your-dataset-id`, `<id>`,
    `xxx`, an all-zero UUID such as the generator's `00000000-0000-4000-8000-000000000001`).
    Why is this bad: Dify drops dataset ids it cannot find on import, so the node retrieves nothing
    until a knowledge base is chosen.
    Example: `dataset_ids: [your-dataset-id]`.
    Fix: pick the knowledge base in the node after importing (or put its real id in the file).
    """
    if not ctx.checks_graph:
        return
    for index, node in ctx.graph.nodes:
        data = node["data"]
        if data.get("type") != "knowledge-retrieval":
            continue
        for i, dataset in enumerate(_list(data.get("dataset_ids"))):
            if isinstance(dataset, str) and PLACEHOLDER_IDS.match(dataset.strip()):
                yield Issue(f"Knowledge retrieval uses the placeholder dataset id {dataset!r}; it retrieves "
                            "nothing until a real knowledge base is chosen.",
                            f"$.workflow.graph.nodes[{index}].data.dataset_ids[{i}]", node["id"],
                            hint="Choose the knowledge base in this node after importing.")


def _variable_type(ctx: Context, selector: object) -> str | None:
    """The type of the variable a selector reads, where the document says it plainly (else None). What a
    damaged document declares may be anything: only a string is a type."""
    declared = _declared_type(ctx, selector)
    return declared if isinstance(declared, str) else None


def _declared_type(ctx: Context, selector: object) -> object:
    if not isinstance(selector, list) or len(selector) < 2 or not all(isinstance(s, str) for s in selector):
        return None
    head, name = selector[0], selector[1]
    if len(selector) > 2:
        return None  # a field inside an object or file: its type is not declared here
    if head == "sys":
        return SYS_TYPES.get(name)
    if head in ("env", "conversation"):
        key = "environment_variables" if head == "env" else "conversation_variables"
        for var in _list(_dict(ctx.mapping.get("workflow")).get(key)):
            if _dict(var).get("name") == name:
                return _dict(var).get("value_type")
        return None
    node = ctx.graph.by_id.get(head)
    if node is None:
        return None
    data = node["data"]
    node_type = data.get("type")
    if node_type == "start":
        for var in _list(data.get("variables")):
            if _dict(var).get("variable") == name:
                declared = _dict(var).get("type")
                return START_TYPES.get(declared) if isinstance(declared, str) else None
        return None
    if node_type == "code":
        return _dict(_dict(data.get("outputs")).get(name)).get("type")
    if node_type == "parameter-extractor":
        for param in _list(data.get("parameters")):
            if _dict(param).get("name") == name:
                return _dict(param).get("type")
        return None
    return FIXED_OUTPUTS.get((node_type, name))


def _conditions(data: dict) -> Iterator[tuple[str, dict]]:
    for c, case in enumerate(_list(data.get("cases"))):
        for i, cond in enumerate(_list(_dict(case).get("conditions"))):
            yield f".cases[{c}].conditions[{i}]", _dict(cond)
    for i, cond in enumerate(_list(data.get("conditions"))):  # older exports: one case at the top level
        yield f".conditions[{i}]", _dict(cond)


@rule("DSL113", "warning")
def condition_type_mismatch(ctx: Context) -> Iterator[Issue]:
    """An if-else condition's `varType` disagrees with the type of the variable it reads.

    What it does: compares each condition's `varType` with the type the document declares for the
    referenced variable (start variable, code output, extractor parameter, env or conversation
    variable, system variable, or a fixed output such as an LLM's `text`); unknown types are skipped.
    Why is this bad: the editor offers the operators of `varType` and the engine compares the value
    as that type: a number compared as text (`"10" > "9"` is false) or the reverse gives wrong branches.
    Example: `varType: string` on a condition that reads a `number` start variable.
    Fix: set `varType` to the variable's type (pick the variable again in the editor).
    """
    if not ctx.checks_graph:
        return
    for index, node in ctx.graph.nodes:
        data = node["data"]
        if data.get("type") != "if-else":
            continue
        for suffix, cond in _conditions(data):
            declared = cond.get("varType")
            actual = _variable_type(ctx, cond.get("variable_selector"))
            if isinstance(declared, str) and actual and declared != actual and (declared, actual) not in COMPATIBLE:
                yield Issue(f"The condition on {'.'.join(cond['variable_selector'])} says varType {declared!r}, "
                            f"but that variable is {actual!r}.",
                            f"$.workflow.graph.nodes[{index}].data{suffix}.varType", node["id"],
                            hint=f"Set varType to {actual!r}.")


@rule("DSL114", "warning")
def query_sent_twice(ctx: Context) -> Iterator[Issue]:
    """An LLM prompt contains `{{#sys.query#}}` while its memory's `query_prompt_template` sends it too.

    What it does: for LLM nodes with memory whose `query_prompt_template` contains `{{#sys.query#}}`,
    reports prompt messages that also contain `{{#sys.query#}}`.
    Why is this bad: with memory on, Dify appends the query template as the user's turn; the model
    then sees the user's message twice, which costs tokens and skews answers.
    Example: a user message `{{#sys.query#}}` plus `memory.query_prompt_template: '{{#sys.query#}}'`.
    Fix: drop `{{#sys.query#}}` from the prompt, or empty `query_prompt_template`.
    """
    if not ctx.checks_graph:
        return
    for index, node in ctx.graph.nodes:
        data = node["data"]
        memory = _dict(data.get("memory"))
        template = memory.get("query_prompt_template")
        if data.get("type") != "llm" or not memory or not isinstance(template, str) or "{{#sys.query#}}" not in template:
            continue
        prompts = data.get("prompt_template")
        messages = prompts if isinstance(prompts, list) else [prompts]
        for i, message in enumerate(messages):
            text = _dict(message).get("text") if isinstance(message, dict) else message
            if isinstance(text, str) and "{{#sys.query#}}" in text:
                where = f".prompt_template[{i}].text" if isinstance(prompts, list) else ".prompt_template.text"
                yield Issue("The prompt sends {{#sys.query#}} and memory's query_prompt_template sends it again.",
                            f"$.workflow.graph.nodes[{index}].data{where}", node["id"],
                            hint="Remove {{#sys.query#}} from the prompt, or empty memory.query_prompt_template.")
                break
