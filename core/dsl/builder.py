"""Deterministic builder of Dify DSL documents from a small typed description of steps.

Nobody types a node id, an edge, a handle or a variable selector by hand: nodes are created through
typed methods, references come from ``node.out(...)`` (a :class:`Ref`, which renders as a
``{{#node.var#}}`` template inside strings and as a selector list in fields), and :meth:`build`
writes the ids, edges (with Dify's id convention, ``sourceHandle`` and ``data.sourceType/targetType``),
container wiring and a left-to-right layered layout.

Example::

    b = WorkflowBuilder(mode="workflow", name="Summarise")
    start = b.start([StartVar("text", "Text", "paragraph", required=True)])
    llm = b.llm("Summarise", system="You write crisp summaries.", user=f"Summarise: {start.out('text')}")
    end = b.end({"summary": llm.out("text")})
    b.chain(start, llm, end)
    doc = b.build()
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "BuilderError",
    "Condition",
    "Handle",
    "LoopVar",
    "Node",
    "Param",
    "Ref",
    "StartVar",
    "WorkflowBuilder",
    "DEFAULT_MODEL",
]

AppMode = Literal["workflow", "advanced-chat"]

DEFAULT_MODEL: dict[str, Any] = {
    "provider": "langgenius/openai/openai",
    "name": "gpt-4o-mini",
    "mode": "chat",
    "completion_params": {"temperature": 0.7},
}
PLACEHOLDER_DATASET_ID = "00000000-0000-4000-8000-000000000001"
"""Dify drops dataset ids it cannot find on import; the user picks their knowledge base after import."""

_NAMESPACE = uuid.UUID("6f0c7f52-3b7e-4c1e-9d8e-2a9d1f0b5c11")
_RESERVED_HEADS = {"sys", "env", "conversation", "rag"}
_NODE_WIDTH = 244
_LAYER_GAP_X = 76
_ROW_GAP_Y = 48
_ORIGIN = (80.0, 280.0)
_CHILD_ORIGIN = (24.0, 68.0)
_CHILD_Z = 1002


class BuilderError(ValueError):
    """The description asks for something Dify cannot represent (e.g. an edge across a container)."""


@dataclass(frozen=True)
class Ref:
    """A reference to a variable: ``[node_id, var, *path]``, ``[sys, query]``, ``[conversation, name]``.

    ``str(ref)`` (and so an f-string) gives the template form ``{{#node_id.var#}}``.
    """

    parts: tuple[str, ...]

    @property
    def selector(self) -> list[str]:
        return list(self.parts)

    @property
    def template(self) -> str:
        return "{{#" + ".".join(self.parts) + "#}}"

    @property
    def node_id(self) -> str:
        return self.parts[0]

    @property
    def name(self) -> str:
        return self.parts[-1]

    def __str__(self) -> str:
        return self.template


@dataclass(frozen=True)
class StartVar:
    """An input of the start node (DSL_SPEC §3 start ``variables``)."""

    variable: str
    label: str
    type: Literal[
        "text-input", "paragraph", "select", "number", "file", "file-list", "checkbox", "json_object"
    ] = "text-input"
    required: bool = True
    options: tuple[str, ...] = ()
    max_length: int | None = None
    default: Any = None
    allowed_file_types: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Condition:
    """One comparison of an if-else case or a loop break condition."""

    ref: Ref
    operator: str
    value: Any = None
    var_type: str = "string"


@dataclass(frozen=True)
class Param:
    """A parameter of a parameter-extractor node."""

    name: str
    type: str = "string"
    description: str = ""
    required: bool = True
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoopVar:
    """A loop variable; its value is a constant or a :class:`Ref` to something upstream."""

    label: str
    var_type: str = "string"
    value: Any = ""


@dataclass(frozen=True)
class Handle:
    """A branch of a node: the edge's ``sourceHandle`` (if-else case, classifier class, fail branch)."""

    node: Node
    name: str


@dataclass(eq=False)
class Node:
    """A node being built. ``out(var)`` references one of its outputs."""

    id: str
    type: str
    data: dict[str, Any]
    parent: Node | None = None
    wrapper: str = "custom"
    height: int = 90
    _handles: dict[str, str] = field(default_factory=dict, repr=False)
    _start_child: Node | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        return self.data.get("title", "")

    def out(self, *path: str) -> Ref:
        """Reference one of this node's outputs, e.g. ``llm.out("text")``."""
        if not path:
            raise BuilderError("out() needs the output name, e.g. node.out('text')")
        return Ref((self.id, *path))

    # --- branching -------------------------------------------------------------------------
    def branch(self, class_name: str) -> Handle:
        """The branch of a question-classifier class (by the class name given when it was built)."""
        try:
            return Handle(self, self._handles[class_name])
        except KeyError:
            raise BuilderError(
                f"{self.title!r} has no class {class_name!r}; classes: {list(self._handles)}"
            ) from None

    def case(self, index: int) -> Handle:
        """The branch of the if-else case at ``index`` (0 is the first, ``IF``)."""
        cases = self.data.get("cases") or []
        if not 0 <= index < len(cases):
            raise BuilderError(f"{self.title!r} has {len(cases)} case(s); no case {index}")
        return Handle(self, cases[index]["case_id"])

    @property
    def otherwise(self) -> Handle:
        """The ELSE branch of an if-else node."""
        return Handle(self, "false")

    @property
    def fail(self) -> Handle:
        """The error path of a node built with ``fail_branch=True``."""
        if self.data.get("error_strategy") != "fail-branch":
            raise BuilderError(f"{self.title!r} was not built with fail_branch=True")
        return Handle(self, "fail-branch")

    # --- containers --------------------------------------------------------------------------
    @property
    def start(self) -> Node:
        """The ``*-start`` child of an iteration or loop: connect it to the first step inside."""
        if self._start_child is None:
            raise BuilderError(f"{self.title!r} is not an iteration or loop")
        return self._start_child

    @property
    def item(self) -> Ref:
        """The current element inside an iteration."""
        return Ref((self.id, "item"))

    @property
    def index(self) -> Ref:
        """The current index inside an iteration."""
        return Ref((self.id, "index"))

    def var(self, label: str) -> Ref:
        """A loop variable of this loop."""
        return Ref((self.id, label))

    def set_output(self, ref: Ref, output_type: str = "array[string]") -> None:
        """Which child output an iteration collects into its ``output`` array."""
        self.data["output_selector"] = ref.selector
        self.data["output_type"] = output_type


Source = Node | Handle


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:40].rstrip("_")


def _selector(value: Ref | list[str]) -> list[str]:
    return value.selector if isinstance(value, Ref) else list(value)


def _kv_lines(pairs: dict[str, Any] | None) -> str:
    return "\n".join(f"{k}:{v}" for k, v in (pairs or {}).items())


class WorkflowBuilder:
    """Collects nodes, edges and variables, then writes a Dify export with :meth:`build`.

    Args:
        mode: ``workflow`` (ends in End nodes) or ``advanced-chat`` (a chatflow; ends in Answer nodes).
        name: the app name.
        description: the app description.
        icon: an emoji.
        version: the DSL version written (the target version setting).
    """

    def __init__(
        self,
        *,
        mode: AppMode,
        name: str,
        description: str = "",
        icon: str = "🤖",
        icon_background: str = "#FFEAD5",
        version: str = "0.6.0",
    ) -> None:
        if mode not in ("workflow", "advanced-chat"):
            raise BuilderError(f"mode must be 'workflow' or 'advanced-chat', not {mode!r}")
        self.mode = mode
        self.name = name
        self.description = description
        self.icon = icon
        self.icon_background = icon_background
        self.version = version
        self.nodes: list[Node] = []
        self.edges: list[tuple[Node, str, Node]] = []
        self.conversation_variables: list[dict[str, Any]] = []
        self.environment_variables: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._features: dict[str, Any] = {}

    # --- ids and generic nodes ---------------------------------------------------------------
    def _new_id(self, title: str, node_type: str) -> str:
        base = _slug(title) or _slug(node_type) or "node"
        if base in _RESERVED_HEADS or base[0].isdigit():
            base = f"{_slug(node_type) or 'node'}_{base}"
        candidate, n = base, 2
        while candidate in self._ids:
            candidate = f"{base}_{n}"
            n += 1
        self._ids.add(candidate)
        return candidate

    def _uuid(self, *parts: object) -> str:
        return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, (self.name, *parts)))))

    def add(
        self,
        node_type: str,
        title: str,
        data: dict[str, Any] | None = None,
        *,
        parent: Node | None = None,
        height: int = 90,
        node_id: str | None = None,
        wrapper: str = "custom",
    ) -> Node:
        """Add a node of any type with its type-specific ``data`` fields (the typed helpers use this)."""
        if parent is not None and parent.type not in ("iteration", "loop"):
            raise BuilderError(f"parent {parent.title!r} is not an iteration or loop")
        if parent is not None and node_type in ("iteration", "loop", "end", "human-input"):
            raise BuilderError(f"a {node_type} node cannot sit inside an iteration or loop")
        if node_type == "loop-end" and (parent is None or parent.type != "loop"):
            raise BuilderError("loop-end is only allowed inside a loop")
        if node_type == "end" and self.mode != "workflow":
            raise BuilderError("end nodes belong to workflow apps; a chatflow ends in answer nodes")
        if node_type == "answer" and self.mode != "advanced-chat":
            raise BuilderError(
                "answer nodes belong to chatflows (advanced-chat); a workflow ends in end nodes"
            )
        if node_id is None:
            node_id = self._new_id(title, node_type)
        elif node_id in self._ids:
            raise BuilderError(f"duplicate node id {node_id!r}")
        else:
            self._ids.add(node_id)
        body: dict[str, Any] = {"type": node_type, "title": title, "desc": "", "selected": False}
        body.update(data or {})
        if parent is not None:
            kind = parent.type
            body.update(
                {
                    "isInIteration": kind == "iteration",
                    "isInLoop": kind == "loop",
                    f"{kind}_id": parent.id,
                }
            )
        node = Node(id=node_id, type=node_type, data=body, parent=parent, wrapper=wrapper, height=height)
        self.nodes.append(node)
        return node

    # --- references that are not node outputs ------------------------------------------------
    def sys(self, name: str) -> Ref:
        """A system variable: ``query`` (chatflows), ``files``, ``user_id``, ``conversation_id``, ..."""
        if name in ("query", "conversation_id", "dialogue_count") and self.mode != "advanced-chat":
            raise BuilderError(f"sys.{name} exists only in chatflows (advanced-chat)")
        return Ref(("sys", name))

    def conversation_var(
        self, name: str, value_type: str = "string", value: Any = "", *, description: str = ""
    ) -> Ref:
        """Declare a conversation variable (chatflows only) and reference it."""
        if self.mode != "advanced-chat":
            raise BuilderError("conversation variables exist only in chatflows (advanced-chat)")
        if not any(v["name"] == name for v in self.conversation_variables):
            self.conversation_variables.append(
                {
                    "description": description[:255],
                    "id": self._uuid("conversation", name),
                    "name": name,
                    "selector": ["conversation", name],
                    "value": value,
                    "value_type": value_type,
                }
            )
        return Ref(("conversation", name))

    def env_var(
        self, name: str, value_type: Literal["string", "number", "secret"] = "string", value: Any = ""
    ) -> Ref:
        """Declare an environment variable and reference it (secret values export blank)."""
        if not any(v["name"] == name for v in self.environment_variables):
            self.environment_variables.append(
                {
                    "description": "",
                    "id": self._uuid("env", name),
                    "name": name,
                    "selector": ["env", name],
                    "value": "" if value_type == "secret" else value,
                    "value_type": value_type,
                }
            )
        return Ref(("env", name))

    def features(self, **changes: Any) -> None:
        """Set app features: ``opening_statement``, ``suggested_questions``, ``file_upload`` (dict), ..."""
        self._features.update(changes)

    # --- typed node helpers -------------------------------------------------------------------
    def start(self, variables: list[StartVar] | tuple[StartVar, ...] = (), *, title: str = "Start") -> Node:
        """The start node with the app's inputs (at most one per app)."""
        if any(n.type == "start" for n in self.nodes):
            raise BuilderError("an app has exactly one start node")
        entries = []
        for var in variables:
            entry: dict[str, Any] = {
                "variable": var.variable,
                "label": var.label,
                "type": var.type,
                "required": var.required,
                "options": list(var.options),
                "max_length": var.max_length
                if var.max_length is not None
                else (256 if var.type == "text-input" else None),
            }
            if var.description:
                entry["description"] = var.description
            if var.default is not None:
                entry["default"] = var.default
            if var.type in ("file", "file-list"):
                entry["allowed_file_types"] = list(var.allowed_file_types or ("document",))
                entry["allowed_file_extensions"] = []
                entry["allowed_file_upload_methods"] = ["local_file", "remote_url"]
            entries.append(entry)
        return self.add(
            "start", title, {"variables": entries}, height=54 + 28 * len(entries), node_id="start"
        )

    def end(self, outputs: dict[str, Ref], *, title: str = "End") -> Node:
        """A workflow's end node; ``outputs`` maps output names to references."""
        if not outputs:
            raise BuilderError("an end node needs at least one output")
        data = {"outputs": [{"variable": k, "value_selector": _selector(v)} for k, v in outputs.items()]}
        return self.add("end", title, data, height=54 + 28 * len(outputs))

    def answer(self, text: str, *, title: str = "Answer") -> Node:
        """A chatflow's answer node; ``text`` is a template such as ``f"{llm.out('text')}"``."""
        if not text.strip():
            raise BuilderError("an answer node needs non-empty text")
        return self.add("answer", title, {"answer": text, "variables": []}, height=105)

    def llm(
        self,
        title: str,
        *,
        system: str,
        user: str | None = None,
        temperature: float = 0.7,
        context: Ref | None = None,
        memory: int | None = None,
        vision: Ref | None = None,
        structured_output: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        parent: Node | None = None,
    ) -> Node:
        """An LLM node. ``memory`` is the window size (chatflows); ``vision`` the file to look at."""
        node_id = self._new_id(title, "llm")
        prompts = [{"id": self._uuid(node_id, "system"), "role": "system", "text": system}]
        query_template = "{{#sys.query#}}"
        if memory is not None and user is not None and query_template in user:
            # With memory on, Dify sends query_prompt_template as the user's turn; a user message
            # holding {{#sys.query#}} as well would send the question twice (test-run rule DSL708).
            query_template, user = user, None
        if user is not None:
            prompts.append({"id": self._uuid(node_id, "user"), "role": "user", "text": user})
        model_cfg = dict(model or DEFAULT_MODEL)
        model_cfg["completion_params"] = {
            **model_cfg.get("completion_params", {}),
            "temperature": temperature,
        }
        data: dict[str, Any] = {
            "model": model_cfg,
            "prompt_template": prompts,
            "context": {
                "enabled": context is not None,
                "variable_selector": context.selector if context else [],
            },
            "vision": (
                {"enabled": True, "configs": {"detail": "high", "variable_selector": vision.selector}}
                if vision is not None
                else {"enabled": False}
            ),
            "variables": [],
        }
        if memory is not None:
            if self.mode != "advanced-chat":
                raise BuilderError("memory is only meaningful in chatflows (advanced-chat)")
            asks = any("{{#sys.query#}}" in str(p.get("text", "")) for p in prompts)
            if asks and query_template == "{{#sys.query#}}":  # the system prompt sends the query already
                query_template = ""
            data["memory"] = {
                "query_prompt_template": query_template,
                "role_prefix": {"assistant": "", "user": ""},
                "window": {"enabled": True, "size": memory},
            }
        if structured_output is not None:
            data["structured_output_enabled"] = True
            data["structured_output"] = {"schema": structured_output}
        self._ids.discard(node_id)
        return self.add("llm", title, data, parent=parent, height=98, node_id=node_id)

    def knowledge_retrieval(
        self,
        title: str,
        *,
        query: Ref,
        dataset_ids: list[str] | None = None,
        top_k: int = 4,
        parent: Node | None = None,
    ) -> Node:
        """Retrieve chunks from knowledge bases; output ``result`` feeds an LLM's ``context``."""
        data = {
            "query_variable_selector": query.selector,
            "dataset_ids": list(dataset_ids or [PLACEHOLDER_DATASET_ID]),
            "retrieval_mode": "multiple",
            "multiple_retrieval_config": {
                "top_k": top_k,
                "score_threshold": None,
                "reranking_enable": False,
                "reranking_mode": "reranking_model",
            },
            "metadata_filtering_mode": "disabled",
        }
        return self.add("knowledge-retrieval", title, data, parent=parent, height=92)

    def question_classifier(
        self,
        title: str,
        *,
        query: Ref,
        classes: list[str],
        instruction: str = "",
        memory: int | None = None,
        model: dict[str, Any] | None = None,
        parent: Node | None = None,
    ) -> Node:
        """Route by class; connect each ``node.branch(class_name)`` to the step for that class."""
        if not classes:
            raise BuilderError("a question classifier needs at least one class")
        entries = [{"id": str(i), "name": name} for i, name in enumerate(classes, start=1)]
        data: dict[str, Any] = {
            "query_variable_selector": query.selector,
            "model": dict(model or DEFAULT_MODEL),
            "classes": entries,
            "instruction": instruction,
            "topics": [],
            "vision": {"enabled": False},
        }
        if memory is not None:
            data["memory"] = {
                "query_prompt_template": "{{#sys.query#}}",
                "window": {"enabled": True, "size": memory},
            }
        node = self.add("question-classifier", title, data, parent=parent, height=60 + 40 * len(classes))
        node._handles = {e["name"]: e["id"] for e in entries}
        return node

    def if_else(
        self,
        title: str,
        *,
        cases: list[list[Condition]],
        logical_operator: Literal["and", "or"] = "and",
        parent: Node | None = None,
    ) -> Node:
        """Branch on conditions: ``node.case(i)`` for each case, ``node.otherwise`` for ELSE."""
        if not cases or any(not c for c in cases):
            raise BuilderError("an if-else node needs at least one case, each with at least one condition")
        node_id = self._new_id(title, "if-else")
        built = []
        for i, conditions in enumerate(cases):
            case_id = "true" if i == 0 else self._uuid(node_id, "case", i)
            built.append(
                {
                    "case_id": case_id,
                    "id": case_id,
                    "logical_operator": logical_operator,
                    "conditions": [self._condition(node_id, i, j, c) for j, c in enumerate(conditions)],
                }
            )
        self._ids.discard(node_id)
        return self.add(
            "if-else", title, {"cases": built}, parent=parent, height=80 + 46 * len(cases), node_id=node_id
        )

    def _condition(self, node_id: str, i: int, j: int, cond: Condition) -> dict[str, Any]:
        return {
            "id": self._uuid(node_id, "cond", i, j),
            "varType": cond.var_type,
            "variable_selector": cond.ref.selector,
            "comparison_operator": cond.operator,
            "value": cond.value if cond.value is not None else "",
        }

    def code(
        self,
        title: str,
        *,
        code: str,
        inputs: dict[str, Ref],
        outputs: dict[str, str],
        language: Literal["python3", "javascript"] = "python3",
        parent: Node | None = None,
    ) -> Node:
        """A code node; ``main(**inputs)`` must return a dict with exactly the declared ``outputs``."""
        data = {
            "code_language": language,
            "code": code,
            "variables": [{"variable": k, "value_selector": v.selector} for k, v in inputs.items()],
            "outputs": {k: {"type": t, "children": None} for k, t in outputs.items()},
        }
        return self.add("code", title, data, parent=parent, height=54)

    def template(
        self, title: str, *, template: str, inputs: dict[str, Ref], parent: Node | None = None
    ) -> Node:
        """A Jinja2 template-transform node; its output is ``output``."""
        data = {
            "template": template,
            "variables": [{"variable": k, "value_selector": v.selector} for k, v in inputs.items()],
        }
        return self.add("template-transform", title, data, parent=parent, height=54)

    def http_request(
        self,
        title: str,
        *,
        url: str,
        method: str = "get",
        params: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        body: tuple[str, str] | None = None,
        api_key: Ref | None = None,
        fail_branch: bool = False,
        parent: Node | None = None,
    ) -> Node:
        """An HTTP request; ``body`` is ``(type, text)`` e.g. ``("json", '{"q": "..."}')``.

        ``api_key`` (a reference to a secret environment variable) adds bearer authorization.
        """
        body_type, body_text = body or ("none", "")
        data: dict[str, Any] = {
            "method": method.lower(),
            "url": url,
            "authorization": (
                {"type": "api-key", "config": {"type": "bearer", "api_key": str(api_key), "header": ""}}
                if api_key is not None
                else {"type": "no-auth", "config": None}
            ),
            "headers": _kv_lines(headers),
            "params": _kv_lines(params),
            "body": {
                "type": body_type,
                "data": [] if body_type == "none" else [{"key": "", "type": "text", "value": body_text}],
            },
            "timeout": {"connect": 10, "read": 60, "write": 20},
            "retry_config": {"max_retries": 2, "retry_enabled": True, "retry_interval": 500},
            "variables": [],
        }
        if fail_branch:
            data["error_strategy"] = "fail-branch"
        return self.add("http-request", title, data, parent=parent, height=110)

    def tool(
        self,
        title: str,
        *,
        provider_id: str,
        provider_name: str,
        tool_name: str,
        tool_label: str,
        parameters: dict[str, Ref | str | int | float | bool],
        provider_type: str = "builtin",
        configurations: dict[str, Any] | None = None,
        parent: Node | None = None,
    ) -> Node:
        """A tool node; a parameter given a :class:`Ref` is passed as a variable, a string as a template."""
        params: dict[str, Any] = {}
        for name, value in parameters.items():
            if isinstance(value, Ref):
                params[name] = {"type": "variable", "value": value.selector}
            elif isinstance(value, str):
                params[name] = {"type": "mixed", "value": value}
            else:
                params[name] = {"type": "constant", "value": value}
        data = {
            "provider_id": provider_id,
            "provider_name": provider_name,
            "provider_type": provider_type,
            "tool_name": tool_name,
            "tool_label": tool_label,
            "tool_configurations": dict(configurations or {}),
            "tool_parameters": params,
            "is_team_authorization": True,
        }
        return self.add("tool", title, data, parent=parent, height=54)

    def aggregator(
        self, title: str, variables: list[Ref], *, output_type: str = "string", parent: Node | None = None
    ) -> Node:
        """A variable aggregator: the first branch that ran provides ``output``."""
        if not variables:
            raise BuilderError("a variable aggregator needs at least one variable")
        data = {
            "output_type": output_type,
            "variables": [v.selector for v in variables],
            "advanced_settings": {"group_enabled": False, "groups": []},
        }
        return self.add("variable-aggregator", title, data, parent=parent, height=60 + 28 * len(variables))

    def assigner(
        self,
        title: str,
        items: list[tuple[Ref, str, Ref | Any]],
        *,
        parent: Node | None = None,
    ) -> Node:
        """Variable assigner v2: ``(target, operation, value)`` where value is a Ref or a constant."""
        entries = []
        for target, operation, value in items:
            is_ref = isinstance(value, Ref)
            entries.append(
                {
                    "variable_selector": target.selector,
                    "input_type": "variable" if is_ref else "constant",
                    "operation": operation,
                    "value": value.selector if is_ref else value,
                }
            )
        return self.add(
            "assigner",
            title,
            {"version": "2", "items": entries},
            parent=parent,
            height=60 + 28 * len(entries),
        )

    def parameter_extractor(
        self,
        title: str,
        *,
        query: Ref,
        parameters: list[Param],
        instruction: str = "",
        model: dict[str, Any] | None = None,
        parent: Node | None = None,
    ) -> Node:
        """Extract typed fields from text with a model; each parameter becomes an output."""
        if not parameters:
            raise BuilderError("a parameter extractor needs at least one parameter")
        entries = []
        for p in parameters:
            entry: dict[str, Any] = {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "required": p.required,
            }
            if p.options:
                entry["options"] = list(p.options)
            entries.append(entry)
        data = {
            "model": dict(model or DEFAULT_MODEL),
            "query": query.selector,
            "parameters": entries,
            "instruction": instruction,
            "reasoning_mode": "prompt",
            "vision": {"enabled": False},
        }
        return self.add("parameter-extractor", title, data, parent=parent, height=98)

    def document_extractor(
        self, title: str, *, file: Ref, is_array: bool = False, parent: Node | None = None
    ) -> Node:
        """Turn an uploaded document (or list of them) into text (output ``text``)."""
        data = {"variable_selector": file.selector, "is_array_file": is_array}
        return self.add("document-extractor", title, data, parent=parent, height=92)

    def list_operator(
        self,
        title: str,
        *,
        variable: Ref,
        filter: list[tuple[str, str, Any]] | None = None,
        order_by: tuple[str, Literal["asc", "desc"]] | None = None,
        limit: int | None = None,
        item_type: str = "array[object]",
        parent: Node | None = None,
    ) -> Node:
        """Filter, sort and cut an array; outputs ``result``, ``first_record``, ``last_record``."""
        data = {
            "variable": variable.selector,
            "var_type": item_type,
            "item_var_type": item_type.removeprefix("array[").removesuffix("]"),
            "filter_by": {
                "enabled": bool(filter),
                "conditions": [
                    {"key": k, "comparison_operator": op, "value": v} for k, op, v in (filter or [])
                ],
            },
            "order_by": {
                "enabled": order_by is not None,
                "key": order_by[0] if order_by else "",
                "value": order_by[1] if order_by else "asc",
            },
            "limit": {"enabled": limit is not None, "size": limit if limit is not None else 10},
            "extract_by": {"enabled": False, "serial": "1"},
        }
        return self.add("list-operator", title, data, parent=parent, height=92)

    def agent(
        self,
        title: str,
        *,
        instruction: str,
        query: Ref | str,
        tools: list[dict[str, Any]] | None = None,
        max_iterations: int = 5,
        model: dict[str, Any] | None = None,
        parent: Node | None = None,
    ) -> Node:
        """An agent node (function-calling strategy) that may call ``tools``; output ``text``."""
        model_cfg = dict(model or DEFAULT_MODEL)
        data = {
            "agent_strategy_provider_name": "langgenius/agent/agent",
            "agent_strategy_name": "function_calling",
            "agent_strategy_label": "FunctionCalling",
            "agent_parameters": {
                "model": {
                    "type": "constant",
                    "value": {
                        **model_cfg,
                        "model": model_cfg["name"],
                        "model_type": "llm",
                        "type": "model-selector",
                    },
                },
                "tools": {"type": "constant", "value": list(tools or [])},
                "instruction": {"type": "constant", "value": instruction},
                "query": {"type": "constant", "value": str(query)},
                "maximum_iterations": {"type": "constant", "value": max_iterations},
            },
        }
        return self.add("agent", title, data, parent=parent, height=120)

    def iteration(
        self,
        title: str,
        *,
        iterator: Ref,
        parallel: bool = False,
        parallel_nums: int = 4,
        error_handle_mode: str = "terminated",
    ) -> Node:
        """An iteration container over an array; build children with ``parent=node``."""
        node_id = self._new_id(title, "iteration")
        data = {
            "iterator_selector": iterator.selector,
            "output_selector": [],
            "output_type": "array[string]",
            "is_parallel": parallel,
            "parallel_nums": parallel_nums,
            "error_handle_mode": error_handle_mode,
            "flatten_output": True,
            "start_node_id": f"{node_id}start",
        }
        self._ids.discard(node_id)
        node = self.add("iteration", title, data, node_id=node_id)
        node._start_child = self._container_start(node, "iteration-start", "custom-iteration-start")
        return node

    def loop(
        self,
        title: str,
        *,
        loop_count: int,
        variables: list[LoopVar] = (),  # type: ignore[assignment]
        break_conditions: list[Condition] | None = None,
        logical_operator: Literal["and", "or"] = "and",
    ) -> Node:
        """A loop container that runs up to ``loop_count`` times; set break conditions later with
        :meth:`set_break` when they refer to the loop's own variables."""
        if not 1 <= loop_count <= 100:
            raise BuilderError("loop_count must be between 1 and 100")
        node_id = self._new_id(title, "loop")
        loop_vars = []
        for var in variables:
            is_ref = isinstance(var.value, Ref)
            loop_vars.append(
                {
                    "id": self._uuid(node_id, "var", var.label),
                    "label": var.label,
                    "var_type": var.var_type,
                    "value_type": "variable" if is_ref else "constant",
                    "value": var.value.selector if is_ref else var.value,
                }
            )
        data = {
            "loop_count": loop_count,
            "break_conditions": [],
            "logical_operator": logical_operator,
            "loop_variables": loop_vars,
            "error_handle_mode": "terminated",
            "start_node_id": f"{node_id}start",
        }
        self._ids.discard(node_id)
        node = self.add("loop", title, data, node_id=node_id)
        node._start_child = self._container_start(node, "loop-start", "custom-loop-start")
        if break_conditions:
            self.set_break(node, break_conditions)
        return node

    def set_break(self, loop: Node, conditions: list[Condition]) -> None:
        """The conditions that end a loop early (usually on one of its loop variables)."""
        loop.data["break_conditions"] = [self._condition(loop.id, 0, j, c) for j, c in enumerate(conditions)]

    def loop_end(self, *, parent: Node, title: str = "Exit Loop") -> Node:
        """A loop-end node: reaching it ends the loop."""
        return self.add("loop-end", title, {}, parent=parent, height=54)

    def _container_start(self, container: Node, data_type: str, wrapper: str) -> Node:
        node_id = f"{container.id}start"
        if node_id in self._ids:
            raise BuilderError(f"duplicate node id {node_id!r}")
        self._ids.add(node_id)
        kind = container.type
        body = {
            "type": data_type,
            "title": "",
            "desc": "",
            "selected": False,
            "isInIteration": kind == "iteration",
            "isInLoop": kind == "loop",
        }
        node = Node(id=node_id, type=data_type, data=body, parent=container, wrapper=wrapper, height=48)
        self.nodes.append(node)
        return node

    # --- edges --------------------------------------------------------------------------------
    def connect(self, source: Source, target: Node) -> None:
        """Connect a node (its ``source`` handle) or a branch :class:`Handle` to ``target``."""
        node, handle = (source.node, source.name) if isinstance(source, Handle) else (source, "source")
        if node.parent is not target.parent:
            raise BuilderError(
                f"cannot connect {node.title or node.id!r} to {target.title or target.id!r}: "
                "edges may not cross an iteration or loop boundary"
            )
        if target.type in ("start", "iteration-start", "loop-start"):
            raise BuilderError("nothing may connect into a start node")
        if node.type == "loop-end":
            raise BuilderError("nothing may leave a loop-end node")
        if node is target:
            raise BuilderError(f"{node.title!r} cannot connect to itself")
        edge = (node, handle, target)
        if edge not in self.edges:
            self.edges.append(edge)

    def chain(self, *nodes: Source) -> None:
        """Connect each step to the next one."""
        for source, target in itertools.pairwise(nodes):
            if isinstance(target, Handle):
                raise BuilderError("chain() targets must be nodes")
            self.connect(source, target)

    # --- output -------------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        """The Dify export (a dict), laid out left to right."""
        positions = self._layout()
        nodes = [self._node_dict(n, positions) for n in self.nodes]
        edges = [self._edge_dict(s, h, t) for s, h, t in self.edges]
        return {
            "app": {
                "description": self.description,
                "icon": self.icon,
                "icon_background": self.icon_background,
                "icon_type": "emoji",
                "mode": self.mode,
                "name": self.name,
                "use_icon_as_answer_icon": False,
            },
            "dependencies": [],
            "kind": "app",
            "version": self.version,
            "workflow": {
                "conversation_variables": list(self.conversation_variables),
                "environment_variables": list(self.environment_variables),
                "features": self._feature_dict(),
                "graph": {"edges": edges, "nodes": nodes, "viewport": {"x": 0, "y": 0, "zoom": 0.8}},
            },
        }

    def to_yaml(self) -> str:
        """The export as YAML text, in Dify's export shape."""
        from core.dsl.io import dump_dsl

        return dump_dsl(self.build())

    def _feature_dict(self) -> dict[str, Any]:
        features: dict[str, Any] = {
            "file_upload": {
                "allowed_file_extensions": [],
                "allowed_file_types": ["image"],
                "allowed_file_upload_methods": ["local_file", "remote_url"],
                "enabled": False,
                "image": {
                    "enabled": False,
                    "number_limits": 3,
                    "transfer_methods": ["local_file", "remote_url"],
                },
                "number_limits": 3,
            },
            "opening_statement": "",
            "retriever_resource": {"enabled": any(n.type == "knowledge-retrieval" for n in self.nodes)},
            "sensitive_word_avoidance": {"enabled": False},
            "speech_to_text": {"enabled": False},
            "suggested_questions": [],
            "suggested_questions_after_answer": {"enabled": False},
            "text_to_speech": {"enabled": False, "language": "", "voice": ""},
        }
        features.update(self._features)
        return features

    def _node_dict(
        self, node: Node, positions: dict[str, tuple[float, float, float, float]]
    ) -> dict[str, Any]:
        x, y, width, height = positions[node.id]
        entry: dict[str, Any] = {
            "data": node.data,
            "height": height,
            "id": node.id,
            "position": {"x": x, "y": y},
            "positionAbsolute": self._absolute(node, positions),
            "selected": False,
            "sourcePosition": "right",
            "targetPosition": "left",
            "type": node.wrapper,
            "width": width,
        }
        if node.type in ("iteration", "loop"):
            node.data["width"], node.data["height"] = width, height
            entry["zIndex"] = 1
        if node.parent is not None:
            entry["parentId"] = node.parent.id
            entry["zIndex"] = _CHILD_Z
            entry["extent"] = "parent"
            if node.type in ("iteration-start", "loop-start"):
                entry["draggable"] = False
                entry["selectable"] = False
        return entry

    def _absolute(
        self, node: Node, positions: dict[str, tuple[float, float, float, float]]
    ) -> dict[str, float]:
        x, y = positions[node.id][:2]
        parent = node.parent
        while parent is not None:
            x += positions[parent.id][0]
            y += positions[parent.id][1]
            parent = parent.parent
        return {"x": x, "y": y}

    def _edge_dict(self, source: Node, handle: str, target: Node) -> dict[str, Any]:
        data: dict[str, Any] = {
            "isInIteration": bool(source.parent and source.parent.type == "iteration"),
            "isInLoop": bool(source.parent and source.parent.type == "loop"),
            "sourceType": source.type,
            "targetType": target.type,
        }
        if source.parent is not None:
            data[f"{source.parent.type}_id"] = source.parent.id
        return {
            "data": data,
            "id": f"{source.id}-{handle}-{target.id}-target",
            "source": source.id,
            "sourceHandle": handle,
            "target": target.id,
            "targetHandle": "target",
            "type": "custom",
            "zIndex": _CHILD_Z if source.parent is not None else 0,
        }

    def _layout(self) -> dict[str, tuple[float, float, float, float]]:
        """Positions and sizes: containers first (their size depends on their children), then the top level."""
        result: dict[str, tuple[float, float, float, float]] = {}
        sizes: dict[str, tuple[float, float]] = {
            n.id: (_NODE_WIDTH if n.type not in ("iteration-start", "loop-start") else 44, n.height)
            for n in self.nodes
        }

        def place(members: list[Node], origin: tuple[float, float]) -> tuple[float, float]:
            layer = self._layers(members)
            columns: dict[int, list[Node]] = {}
            for n in members:
                columns.setdefault(layer[n.id], []).append(n)
            x = origin[0]
            max_bottom = origin[1]
            for col in sorted(columns):
                y = origin[1]
                col_width = 0.0
                for n in columns[col]:
                    w, h = sizes[n.id]
                    result[n.id] = (x, y, w, h)
                    y += h + _ROW_GAP_Y
                    col_width = max(col_width, w)
                max_bottom = max(max_bottom, y - _ROW_GAP_Y)
                x += col_width + _LAYER_GAP_X
            return x - _LAYER_GAP_X - origin[0], max_bottom - origin[1]

        containers = [n for n in self.nodes if n.type in ("iteration", "loop")]
        for container in containers:  # containers cannot nest, so one pass suffices
            children = [n for n in self.nodes if n.parent is container]
            width, height = place(children, _CHILD_ORIGIN)
            sizes[container.id] = (
                max(width + 2 * _CHILD_ORIGIN[0], 388),
                max(height + _CHILD_ORIGIN[1] + 40, 178),
            )
        place([n for n in self.nodes if n.parent is None], _ORIGIN)
        return result

    def _layers(self, members: list[Node]) -> dict[str, int]:
        """Longest-path layering over the edges between ``members`` (cycle-safe)."""
        ids = {n.id for n in members}
        incoming: dict[str, list[str]] = {n.id: [] for n in members}
        for s, _h, t in self.edges:
            if s.id in ids and t.id in ids:
                incoming[t.id].append(s.id)
        layer: dict[str, int] = {}
        visiting: set[str] = set()

        def depth(node_id: str) -> int:
            if node_id in layer:
                return layer[node_id]
            if node_id in visiting:  # a cycle: break it here
                return 0
            visiting.add(node_id)
            value = max((depth(p) + 1 for p in incoming[node_id]), default=0)
            visiting.discard(node_id)
            layer[node_id] = value
            return value

        for n in members:
            depth(n.id)
        return layer
