"""The one deterministic compiler: ``WorkflowPlan`` -> builder calls -> Dify DSL dict.

Both brains' plans go through here; models never write YAML. A plan that is partly wrong (a
dangling reference, a step that does not fit the app mode, a bad branch label) is repaired where it
can be and every repair is reported as an issue; the compiler does not crash on a bad plan.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from core.agents import lexicon as lx
from core.agents.chat_state import initial_value
from core.agents.code_recipes import typed
from core.agents.models import Binding, ConditionSpec, PlanStep, QualityIssue, WorkflowPlan
from core.dsl.builder import BuilderError, Condition, LoopVar, Node, Param, Ref, StartVar, WorkflowBuilder
from core.dsl.io import dump_dsl
from core.dsl.rules.checks import FIXED_OUTPUTS, START_TYPES, SYS_TYPES
from core.dsl.rules.references import SYS_BY_MODE
from core.dsl.validator import validate
from core.testrun.inputs import is_url_name

TEMPLATE_REF = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\}\}")
CONTEXT_SLOT = "{{#context#}}"
DIFY_TEMPLATE = re.compile(r"\{\{#(.*?)#\}\}", re.S)
"""Dify's own variable syntax (``{{#node.field#}}``, ``{{#context#}}``): in plan prose it is data, never live."""
CONTAINERS = ("iteration", "loop")
NEEDS_INPUT = ("knowledge-retrieval", "question-classifier", "parameter-extractor", "list-operator")
OUTPUT_TYPES = {**{(t, o): k for (t, o), k in FIXED_OUTPUTS.items()}, ("tool", "text"): "string",
                ("tool", "files"): "array[file]", ("tool", "json"): "array[object]", ("http-request", "headers"): "object",
                ("http-request", "files"): "array[file]", ("llm", "structured_output"): "object"}
"""(node type, output) -> Dify type, for the outputs whose type does not depend on the node's settings."""
VALUE_OUTPUTS = {"llm": "text", "agent": "text", "template-transform": "output", "http-request": "body", "tool": "text",
                 "variable-aggregator": "output", "iteration": "output", "document-extractor": "text",
                 "knowledge-retrieval": "result", "question-classifier": "class_name"}
"""The output that is a node's result (code and extractor nodes: their declared outputs)."""
MAX_PATHS = 256


@dataclass
class CompileResult:
    """The DSL and what the compiler had to repair or drop."""

    dsl: dict
    yaml_text: str
    issues: list[QualityIssue] = field(default_factory=list)
    node_ids: dict[str, str] = field(default_factory=dict)
    """plan step id -> Dify node id."""


class _Compiler:
    def __init__(self, plan: WorkflowPlan, version: str) -> None:
        self.plan = plan
        self.b = WorkflowBuilder(mode=plan.app_mode, name=inert(plan.name[:60]) or "Generated workflow",
                                 description=inert(plan.description[:400]), icon=plan.icon or "🤖", version=version)
        self.nodes: dict[str, Node] = {}
        self.issues: list[QualityIssue] = []
        self.chat = plan.app_mode == "advanced-chat"

    def issue(self, message: str, step: str | None = None, severity: str = "warning") -> None:
        self.issues.append(QualityIssue(severity=severity, stage="configuration", message=message, node_id=step, code="PLAN"))

    # ------------------------------------------------------------------ references
    def ref(self, text: str | None, step: str) -> Ref | None:
        """Resolve ``step.field[.path]``; None (and an issue) when it points nowhere."""
        if not text:
            return None
        parts = text.strip().strip("{}# ").split(".")
        if len(parts) < 2 or not all(parts):
            self.issue(f"step {step!r}: {text!r} is not a 'step.field' reference", step)
            return None
        head = parts[0]
        if head == "sys":
            if parts[1] in ("query", "conversation_id", "dialogue_count") and not self.chat:
                self.issue(f"step {step!r}: sys.{parts[1]} exists only in chat apps; used the first input instead", step)
                return self.fallback_input()
            if parts[1] not in SYS_BY_MODE[self.plan.app_mode] or len(parts) > 2:
                self.issue(f"step {step!r}: {text!r} is not a system variable of {self.plan.app_mode} apps", step)
                return None
            return Ref(tuple(parts))
        if head == "conversation":
            if not self.chat:
                self.issue(f"step {step!r}: conversation variables exist only in chat apps", step)
                return None
            known = {v.name for v in self.plan.conversation_vars}
            if parts[1] not in known:
                self.b.conversation_var(parts[1], "string", "")
            return Ref(tuple(parts))
        if head == "env":
            known = {v.get("name") for v in self.b.environment_variables}
            return Ref(tuple(parts)) if parts[1] in known else self.b.env_var(parts[1], "secret")
        node = self.nodes.get(head)
        if node is None:
            self.issue(f"step {step!r} refers to {text!r}, but there is no earlier step {head!r}", step)
            return None
        return Ref((node.id, *parts[1:]))

    def fallback_input(self) -> Ref | None:
        text_vars = [v for v in self.plan.start_vars if v.type in ("paragraph", "text-input")]
        if text_vars:
            return Ref(("start", text_vars[0].name))
        return Ref(("sys", "query")) if self.chat else None

    def type_of(self, ref: Ref | None) -> str | None:
        """The Dify type of the value ``ref`` reads (types flow through the plan: start variables,
        code outputs, extractor parameters, iteration items and outputs, fixed node outputs), or None."""
        if ref is None or len(ref.parts) < 2:
            return None
        head, name = ref.parts[0], ref.parts[1]
        if head == "sys":
            return SYS_TYPES.get(name)
        if head in ("env", "conversation"):
            found = [v for v in (self.b.environment_variables if head == "env" else self.b.conversation_variables)
                     if v.get("name") == name]
            return found[0].get("value_type") if found else None
        node = next((n for n in self.b.nodes if n.id == head), None)
        if node is None or len(ref.parts) > 2 and node.type != "llm":
            return None
        data = node.data
        if node.type == "start":
            return next((START_TYPES.get(v.get("type")) or ("object" if v.get("type") == "json_object" else None)
                         for v in data.get("variables", []) if v.get("variable") == name), None)
        if node.type == "code":
            return (data.get("outputs", {}).get(name) or {}).get("type")
        if node.type == "parameter-extractor":
            return next((p.get("type") for p in data.get("parameters", []) if p.get("name") == name), None)
        if node.type == "iteration":
            if name == "item":
                outer = self.type_of(Ref(tuple(data.get("iterator_selector") or ())))
                return outer[6:-1] if outer and outer.startswith("array[") else None
            return data.get("output_type") if name == "output" else ("number" if name == "index" else None)
        if node.type == "loop":
            return next((v.get("var_type") for v in data.get("loop_variables", []) if v.get("label") == name), None)
        if node.type == "document-extractor" and name == "text":
            return "array[string]" if data.get("is_array_file") else "string"
        if node.type == "variable-aggregator" and name == "output":
            return data.get("output_type")
        if node.type == "llm" and len(ref.parts) > 2:
            return "string" if ref.parts[1] == "structured_output" else None
        return OUTPUT_TYPES.get((node.type, name))

    def render(self, text: str, step: str, *, context: bool = False) -> str:
        """Replace ``{{step.field}}`` by Dify's ``{{#node.field#}}`` (unknown references are dropped).

        Text is data: Dify template syntax already in it (``{{#sys.query#}}`` pasted into a
        requirement) is written as inert text, ``{{ #sys.query# }}``; only the plan's own references
        become live, and the last ``{{#context#}}`` where the step has a knowledge context (``context=True``).
        """

        def sub(match: re.Match) -> str:
            ref = self.ref(match.group(1), step)
            return str(ref) if ref else ""

        return TEMPLATE_REF.sub(sub, inert(text or "", keep_context=context))

    def literal(self, text: str) -> str:
        """Text that is data only (a class name, a condition value): no reference in it is live."""
        return inert(text or "")

    def conditions(self, specs: list[ConditionSpec], step: str) -> list[Condition]:
        out = []
        for c in specs:
            ref = self.ref(c.ref, step)
            if ref is not None:
                out.append(Condition(ref, c.operator, self.literal(c.value), _value_type(c)))
        return out

    # ------------------------------------------------------------------ nodes
    def start(self) -> None:
        variables = []
        seen = set()
        for v in self.plan.start_vars:
            name = re.sub(r"[^A-Za-z0-9_]", "_", v.name) or "input"
            if name in seen:
                continue
            seen.add(name)
            variables.append(StartVar(name, v.label[:40] or name, v.type, required=v.required, options=tuple(v.options),
                                      allowed_file_types=tuple(v.file_types)))
        self.nodes["start"] = self.b.start(variables, title=(self.plan.start_title or "Start")[:40])
        for cv in self.plan.conversation_vars:
            if self.chat:
                self.b.conversation_var(cv.name, cv.type, initial_value(cv), description=cv.description)
            else:
                self.issue(f"conversation variable {cv.name!r} dropped: workflow apps have none")

    def make(self, s: PlanStep) -> Node | None:
        parent = self.nodes.get(s.parent) if s.parent else None
        if parent is not None and parent.type not in CONTAINERS:
            self.issue(f"step {s.id!r}: parent {s.parent!r} is not an iteration or loop; placed at top level", s.id)
            parent = None
        b, t = self.b, s.type
        if t == "end" and self.chat:
            self.issue(f"step {s.id!r}: a chat app ends in an answer, not an end node; converted", s.id)
            t = "answer"
            s = s.model_copy(update={"answer": s.answer or "\n".join(f"{{{{{o.ref}}}}}" for o in s.outputs)})
        elif t == "answer" and not self.chat:
            self.issue(f"step {s.id!r}: a workflow ends in an end node, not an answer; converted", s.id)
            t = "end"
            refs = TEMPLATE_REF.findall(s.answer)
            s = s.model_copy(update={"outputs": [Binding(name="result", ref=r) for r in refs[:1]]})
        query = self.ref(s.query, s.id) if s.query else None
        if t in NEEDS_INPUT and (query := query or self.fallback_input()) is None:
            self.issue(f"step {s.id!r} ({t}) needs an input to work on (a 'step.field' query), and the app has "
                       "no text input to fall back on; dropped", s.id, "error")
            return None
        match t:
            case "llm":
                schema = None
                if s.structured_fields:
                    schema = {"type": "object", "properties": {k: {"type": "string"} for k in s.structured_fields},
                              "required": list(s.structured_fields), "additionalProperties": False}
                system = self.render(s.system, s.id, context=bool(s.context)) or "You are a helpful assistant."
                user = self.render(s.user, s.id, context=bool(s.context) and CONTEXT_SLOT not in system)
                return b.llm(s.title, system=system, user=user or None, temperature=s.temperature,
                             context=self.ref(s.context, s.id) if s.context else None,
                             memory=s.memory_window if self.chat and s.memory_window else None,
                             vision=self.ref(s.vision, s.id) if s.vision else None, structured_output=schema, parent=parent)
            case "knowledge-retrieval":
                return b.knowledge_retrieval(s.title, query=query or self.fallback_input(), top_k=s.top_k, parent=parent)
            case "question-classifier":
                classes = [c for c in dict.fromkeys(self.literal(c).strip() for c in s.classes) if c] or ["Other"]
                return b.question_classifier(s.title, query=query or self.fallback_input(), classes=classes,
                                             instruction=self.render(s.instruction, s.id), parent=parent)
            case "if-else":
                cases = [conds for c in s.cases if (conds := self.conditions(c.conditions, s.id))]
                if not cases:
                    self.issue(f"step {s.id!r}: if-else without a usable condition", s.id, "error")
                    return None
                return b.if_else(s.title, cases=cases, logical_operator=s.cases[0].logical_operator, parent=parent)
            case "code":
                inputs = {bd.name: r for bd in s.bindings if (r := self.ref(bd.ref, s.id))}
                outputs = {o.name: o.type for o in s.code_outputs} or {"result": "string"}
                code = typed(s.code, {k: t for k, r in inputs.items() if (t := self.type_of(r))}) if s.code else ""
                return b.code(s.title, code=code or "def main() -> dict:\n    return {\"result\": \"\"}\n",
                              inputs=inputs, outputs=outputs, parent=parent)
            case "template-transform":
                inputs = {bd.name: r for bd in s.bindings if (r := self.ref(bd.ref, s.id))}
                return b.template(s.title, template=s.template or "{{ input }}", inputs=inputs, parent=parent)
            case "http-request":
                params = {p.name: self._value(p.ref, s.id) for p in s.params}
                headers = {h.name: self._value(h.ref, s.id) for h in s.headers}
                body = ("json", self.render(s.body_json, s.id)) if s.body_json else None
                return b.http_request(s.title, url=self.render(s.url, s.id), method=s.method, params=params,
                                      headers=headers, body=body, parent=parent)
            case "tool":
                return b.tool(s.title, provider_id=s.tool_provider or "duckduckgo", provider_name=s.tool_provider or "duckduckgo",
                              tool_name=s.tool_name or "ddgo_search", tool_label=s.tool_label or "DuckDuckGo Search",
                              parameters={s.tool_param or "query": str(query) if query else ""}, parent=parent)
            case "variable-aggregator":
                refs = [r for text in s.refs if (r := self.ref(text, s.id))]
                if not refs:
                    self.issue(f"step {s.id!r}: aggregator without inputs dropped", s.id, "error")
                    return None
                return b.aggregator(s.title, refs, output_type=self.type_of(refs[0]) or "string", parent=parent)
            case "assigner":
                items = [(tr, a.operation, vr) for a in s.assignments
                         if (tr := self._assign_target(a.target, s.id)) and (vr := self._assign_value(a, tr, s.id)) is not None]
                if not items:
                    self.issue(f"step {s.id!r}: assigner without a usable assignment dropped", s.id, "error")
                    return None
                return b.assigner(s.title, items, parent=parent)
            case "parameter-extractor":
                params = [Param(p.name, p.type, self.literal(p.description or p.name), required=p.required) for p in s.parameters]
                if not params:
                    self.issue(f"step {s.id!r}: extractor without parameters dropped", s.id, "error")
                    return None
                return b.parameter_extractor(s.title, query=query or self.fallback_input(), parameters=params,
                                             instruction=self.render(s.instruction, s.id), parent=parent)
            case "iteration":
                if parent is not None or query is None:
                    self.issue(f"step {s.id!r}: iteration needs a list input and cannot be nested", s.id, "error")
                    return None
                return b.iteration(s.title, iterator=query)
            case "loop":
                if parent is not None:
                    self.issue(f"step {s.id!r}: loops cannot be nested", s.id, "error")
                    return None
                variables = [LoopVar(v.name, v.type, self._value(v.initial, s.id) if v.initial else "") for v in s.loop_vars]
                return b.loop(s.title, loop_count=max(1, min(s.loop_count, 100)), variables=variables)
            case "loop-end":
                if parent is None or parent.type != "loop":
                    self.issue(f"step {s.id!r}: loop-end outside a loop dropped", s.id)
                    return None
                return b.loop_end(parent=parent, title=s.title)
            case "document-extractor":
                if query is None:
                    return None
                return b.document_extractor(s.title, file=query, is_array=(self.type_of(query) or "").startswith("array"),
                                            parent=parent)
            case "list-operator":
                flt = [(s.filter_key, s.filter_operator, s.filter_value)] if s.filter_key and s.filter_value else None
                order = (s.order_key, "desc" if s.order_desc else "asc") if s.order_key else None
                return b.list_operator(s.title, variable=query or self.fallback_input(), filter=flt, order_by=order,
                                       limit=s.limit, parent=parent)
            case "agent":
                tools = [{"provider_name": s.tool_provider or "duckduckgo", "tool_name": s.tool_name or "ddgo_search",
                          "tool_label": s.tool_label or "DuckDuckGo Search", "enabled": True, "type": "builtin",
                          "parameters": {}, "settings": {}}]
                return b.agent(s.title, instruction=self.render(s.instruction, s.id) or "Help the user.",
                               query=query or self.fallback_input() or "", tools=tools, parent=parent)
            case "end":
                outputs = {}
                for o in s.outputs:
                    ref = self.ref(o.ref, s.id)
                    if ref is not None:
                        outputs[re.sub(r"[^A-Za-z0-9_]", "_", o.name) or "result"] = ref
                if not outputs and (fallback := self.fallback_input()):
                    self.issue(f"step {s.id!r}: end node had no usable output; returns the input", s.id, "error")
                    outputs = {"result": fallback}
                return b.end(outputs, title=s.title) if outputs else None
            case "answer":
                text = self.render(s.answer, s.id).strip() or "{{#sys.query#}}"
                return b.answer(text, title=s.title)
        self.issue(f"step {s.id!r}: node type {t!r} is not supported here; dropped", s.id, "error")
        return None

    def _value(self, text: str, step: str):
        """A reference when ``text`` looks like one of ours, else a constant string."""
        if re.fullmatch(r"[A-Za-z_]\w*\.[A-Za-z_][\w.]*", text or "") and text.split(".")[0] in (
                {"sys", "conversation", "env"} | set(self.nodes)):
            return self.ref(text, step)
        return self.render(text, step)

    def _assign_value(self, a, target: Ref, step: str):
        """What an assignment writes: a reference; a number for ``+= 1`` and the other arithmetic (Dify takes them
        as constants only); for ``clear`` the target itself (a variable input that Dify does not read)."""
        if a.operation == "clear":
            return target
        if a.operation in ("+=", "-=", "*=", "/="):
            try:
                return float(a.value) if "." in str(a.value) else int(a.value or 1)
            except ValueError:
                self.issue(f"step {step!r}: {a.operation} needs a number, not {a.value!r}; used 1", step)
                return 1
        return self.ref(a.value, step)

    def _assign_target(self, target: str, step: str) -> Ref | None:
        head = target.split(".")[0]
        if head in self.nodes and self.nodes[head].type == "loop":
            return self.nodes[head].var(target.split(".", 1)[1])
        return self.ref(target, step)

    # ------------------------------------------------------------------ edges
    def connect(self, s: PlanStep) -> None:
        node = self.nodes[s.id]
        for link in s.after:
            source = self.nodes.get(link.step)
            if source is None:
                self.issue(f"step {s.id!r} follows unknown step {link.step!r}; link dropped", s.id)
                continue
            try:
                self.b.connect(self._handle(source, link.branch, node, s.id), node)
            except BuilderError as exc:
                self.issue(f"step {s.id!r}: {exc}", s.id)
        if not any(e[2] is node for e in self.b.edges):
            parent = node.parent
            anchor = parent.start if parent is not None else self.nodes["start"]
            if node.type not in ("iteration-start", "loop-start"):
                self.issue(f"step {s.id!r} had no incoming link; connected after {'its container start' if parent else 'the start'}", s.id)
                try:
                    self.b.connect(anchor, node)
                except BuilderError as exc:
                    self.issue(f"step {s.id!r}: {exc}", s.id, "error")

    def _handle(self, source: Node, branch: str | None, target: Node, step: str):
        if source.type in CONTAINERS and target.parent is source:
            return source.start
        if source.type == "question-classifier":
            names = [c["name"] for c in source.data["classes"]]
            if branch in names:
                return source.branch(branch)
            match = next((n for n in names if branch and n.lower() == branch.lower()), None)
            if match:
                return source.branch(match)
            self.issue(f"step {step!r}: class {branch!r} not among {names}; used the first class", step)
            return source.branch(names[0])
        if source.type == "if-else":
            if branch is None or branch.lower() in ("otherwise", "else", "false"):
                return source.otherwise
            labels = [c.label for c in self._plan_step(source).cases if self.conditions(c.conditions, step)]
            if branch in labels:
                return source.case(labels.index(branch))
            if branch.lower() in ("true", "if"):
                return source.case(0)
            self.issue(f"step {step!r}: branch {branch!r} not among {labels}; used the first case", step)
            return source.case(0)
        return source

    def _plan_step(self, node: Node) -> PlanStep:
        step_id = next(k for k, v in self.nodes.items() if v is node)
        return next(s for s in self.plan.steps if s.id == step_id)

    def finish_containers(self) -> None:
        for s in self.plan.steps:
            node = self.nodes.get(s.id)
            if node is None:
                continue
            if node.type == "iteration":
                output = self.ref(s.output, s.id) if s.output else None
                children = [n for n in self.nodes.values() if n.parent is node]
                if output is None and children:
                    last = children[-1]
                    output = last.out("text" if last.type == "llm" else "output")
                if output is not None:
                    kind = self.type_of(output)
                    node.set_output(output, f"array[{kind}]" if kind in ("string", "number", "object", "boolean")
                                    else "array[string]")
                if not children:
                    self.issue(f"iteration {s.id!r} has no steps inside", s.id, "error")
            elif node.type == "loop" and s.break_conditions:
                conditions = [Condition(node.var(c.ref.split(".", 1)[1]) if c.ref.split(".")[0] == s.id else r, c.operator, c.value,
                                        _value_type(c))
                              for c in s.break_conditions if (c.ref.split(".")[0] == s.id or (r := self.ref(c.ref, s.id)))]
                self.b.set_break(node, conditions)


def _executions(c: _Compiler) -> list[set[str]]:
    """The top-level node ids that run, for every choice of branch at the if-else and classifier steps
    (at most ``MAX_PATHS`` of them): a node runs when one of its incoming edges is taken."""
    top = [n for n in c.b.nodes if n.parent is None]
    edges = [(s, h, t) for s, h, t in c.b.edges if s.parent is None and t.parent is None]
    handles: dict[str, list[str]] = {}
    for s, h, _t in edges:
        if s.type in ("if-else", "question-classifier"):
            handles.setdefault(s.id, [])
            if h not in handles[s.id]:
                handles[s.id].append(h)
    runs: list[set[str]] = []
    for choice in itertools.islice(itertools.product(*handles.values()), MAX_PATHS):
        chosen = dict(zip(handles, choice, strict=True))
        ran = {c.nodes["start"].id}
        for node in top:  # the builder's order follows the dependencies
            if node.id not in ran and any(s.id in ran and (s.id not in chosen or h == chosen[s.id])
                                          for s, h, t in edges if t is node):
                ran.add(node.id)
        runs.append(ran)
    return runs


def _ran(c: _Compiler, ref: Ref, ran: set[str]) -> bool:
    """Whether ``ref`` has a value in a run of the nodes ``ran`` (an aggregator: one of its inputs ran)."""
    node = next((n for n in c.b.nodes if n.id == ref.node_id), None)
    if node is None or node.type == "start" or node.parent is not None:
        return True  # not a step's output, or inside a container (its own run is checked there)
    if node.type == "variable-aggregator" and node.id in ran:
        return any(_ran(c, Ref(tuple(sel)), ran) for sel in node.data.get("variables", []))
    return node.id in ran


def _result(c: _Compiler, node: Node, kind: str | None, name: str) -> Ref | None:
    """The output of ``node`` that can stand for an output ``name`` of type ``kind``: one named like it,
    else its result (``text``, ``output``...), when the type matches."""
    if node.type in ("code", "parameter-extractor"):
        names = (list(node.data.get("outputs", {})) if node.type == "code"
                 else [p.get("name") for p in node.data.get("parameters", [])])
        names.sort(key=lambda n: n != name)
        refs = [node.out(n) for n in names]
    elif node.type in VALUE_OUTPUTS:
        refs = [node.out(VALUE_OUTPUTS[node.type])]
    else:
        return None
    return next((r for r in refs if kind is None or c.type_of(r) == kind), None)


def _join_branches(c: _Compiler) -> None:
    """Outputs produced on some branches only are joined where the workflow ends.

    An End (or Answer) that reads a value whose step did not run on every path to it would return
    nothing on the other paths (DSL707). For each such value, each path that misses it gives the
    result of its last own step of the same type (the reply that branch wrote); a variable
    aggregator joins them and the End reads the aggregator. A value no other path has an equivalent
    for is reported.
    """
    executions = _executions(c)
    for final in [n for n in list(c.b.nodes) if n.type in ("end", "answer") and n.parent is None]:
        paths = [ran for ran in executions if final.id in ran]
        if len(paths) < 2:
            continue
        common = set.intersection(*paths)
        if final.type == "end":
            slots = [(o["variable"], Ref(tuple(o["value_selector"]))) for o in final.data["outputs"]]
        else:
            slots = [(m.group(1).split(".")[-1], Ref(tuple(m.group(1).split("."))))
                     for m in DIFY_TEMPLATE.finditer(final.data["answer"]) if "." in m.group(1)]
        joined: dict[tuple, Ref] = {}
        for name, ref in slots:
            if ref.parts in joined or all(_ran(c, ref, p) for p in paths):
                continue
            kind = c.type_of(ref)
            others: list[Ref] = []
            for path in (p for p in paths if not _ran(c, ref, p)):
                own = [n for n in c.b.nodes if n.id in path and n.id not in common and n.parent is None
                       and n.type != "variable-aggregator"]
                other = next((r for n in reversed(own) if (r := _result(c, n, kind, name))), None)
                if other is None:
                    c.issue(f"output {name!r} is produced on some branches only and the branch through "
                            f"{' -> '.join(n.title for n in own) or 'its condition'} has no result of type {kind} to "
                            "stand for it; return it from each branch", None)
                    break
                if other.parts not in {r.parts for r in others}:
                    others.append(other)
            else:
                lang = lx.detect(f"{c.plan.name} {c.plan.description}")
                agg = c.b.aggregator(f"{lx.say(lang, 'merge')}: {name}"[:40], [ref, *others], output_type=kind or "string")
                for r in [ref, *others]:
                    source = next(n for n in c.b.nodes if n.id == r.node_id)
                    c.b.connect(source, agg)
                c.b.connect(agg, final)
                joined[ref.parts] = agg.out("output")
        if not joined:
            continue
        if final.type == "end":
            for o in final.data["outputs"]:
                o["value_selector"] = list(joined.get(tuple(o["value_selector"]), Ref(tuple(o["value_selector"]))).parts)
        else:
            final.data["answer"] = DIFY_TEMPLATE.sub(
                lambda m, joined=joined: str(joined.get(tuple(m.group(1).split(".")), m.group(0))) if "." in m.group(1)
                else m.group(0), final.data["answer"])


def _url_origin(c: _Compiler, ref: Ref, seen: frozenset = frozenset()) -> tuple[str, dict | str] | None:
    """Where the value a URL reads comes from: ``("start", variable)`` for a start input (directly,
    or the items of a list split from it by code and iterated), ``("named", name)`` for a value named
    as a URL, else None (text written by a model or fetched: not known to be a URL)."""
    node = next((n for n in c.b.nodes if n.id == ref.node_id), None)
    if node is None or ref.parts in seen or len(ref.parts) < 2:
        return None
    seen = seen | {ref.parts}
    name = ref.parts[1]
    if node.type == "start":
        var = next((v for v in node.data.get("variables", []) if v.get("variable") == name), None)
        return ("start", var) if var else None
    if node.type == "iteration" and name == "item":
        return _url_origin(c, Ref(tuple(node.data.get("iterator_selector") or ())), seen)
    if is_url_name(name):
        return ("named", name)
    if node.type == "code" and len(node.data.get("variables", [])) == 1:  # a list split from its one input
        return _url_origin(c, Ref(tuple(node.data["variables"][0]["value_selector"])), seen)
    return None


def _type_urls(c: _Compiler) -> None:
    """A URL comes from a URL-typed source: a fixed URL, a start input meant for URLs, or a list of them.

    A request whose URL is a start input (or the items of a list read from one) makes that input a URL
    input: its label says so when its name does not (the form asks for URLs, the test run gives some).
    A URL taken from other text (a model's reply, a fetched body) is reported: nothing makes it a URL.
    """
    for node in c.b.nodes:
        if node.type != "http-request":
            continue
        url = str(node.data.get("url") or "").strip()
        match = DIFY_TEMPLATE.match(url)
        if not match or url.lower().startswith(("http://", "https://")):
            continue
        origin = _url_origin(c, Ref(tuple(match.group(1).split("."))))
        if origin is None:
            c.issue(f"the request {node.data.get('title')!r} takes its URL from {match.group(1)!r}, which is not known to be "
                    "a URL (give a fixed URL or a URL input)", None)
        elif origin[0] == "start" and not is_url_name(f"{origin[1].get('variable')} {origin[1].get('label')}"):
            var = origin[1]
            var["label"] = f"{var.get('label') or var.get('variable')} (URL)"[:40]


def inert(text: str, *, keep_context: bool = False) -> str:
    """``text`` with every Dify template (``{{#...#}}``) written so that Dify reads it as plain text.

    ``keep_context`` keeps the last ``{{#context#}}`` live (an LLM step's knowledge slot, which the
    brain writes after any text it quotes).
    """
    if "{{#" not in text:
        return text
    last = text.rfind(CONTEXT_SLOT) if keep_context else -1

    def sub(match: re.Match) -> str:
        if match.start() == last:
            return match.group(0)
        return "{{ #" + match.group(1) + "# }}"

    return DIFY_TEMPLATE.sub(sub, text)


def _move_secrets(c: _Compiler) -> None:
    """Keys pasted into the requirement never reach the YAML: each becomes a secret environment variable.

    Every key-shaped token (``sk-...``, ``Bearer ...``, ``AKIA...``; see ``core.ledger.redact``) in a
    node's configuration or the app's texts is replaced by ``{{#env.API_KEY#}}``; the variable is
    declared with type ``secret`` and an empty value (Dify exports secret values blank too), and a
    warning tells the user to set it after importing.
    """
    from core.ledger.redact import find_secrets

    names: dict[str, str] = {}

    def swap(value):
        if isinstance(value, str):
            for secret in find_secrets(value):
                if secret not in names:
                    names[secret] = "API_KEY" if not names else f"API_KEY_{len(names) + 1}"
                value = value.replace(secret, str(c.b.env_var(names[secret], "secret")))
            return value
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    for node in c.b.nodes:
        node.data.update(swap(dict(node.data)))
    c.b.name, c.b.description = swap(c.b.name), swap(c.b.description)
    for secret, name in names.items():
        c.issue(f"A key-like value ({secret[:4]}…) from the requirement was moved out of the workflow into the "
                f"secret environment variable {name}; set its value in Dify (Workflow → Environment variables) "
                "after importing.")


def _value_type(c: ConditionSpec) -> str:
    """``number`` for a numeric comparison with a number (so Dify compares numbers), else ``string``."""
    numeric = c.operator in (">", "<", "≥", "≤", "=", "≠") and re.fullmatch(r"-?\d+(?:\.\d+)?", str(c.value or ""))
    return "number" if numeric else "string"


def _ordered(plan: WorkflowPlan) -> list[PlanStep]:
    """Steps in dependency order (links, references, parents); the plan order breaks ties and cycles."""
    ids = {s.id for s in plan.steps}
    deps: dict[str, set[str]] = {}
    for s in plan.steps:
        texts = [s.system, s.user, s.query or "", s.context or "", s.vision or "", s.url, s.answer, s.output or "",
                 *s.refs, *(b.ref for b in s.bindings + s.outputs + s.params), *(a.value for a in s.assignments),
                 *(v.initial for v in s.loop_vars)]
        refs = {t.split(".")[0] for text in texts for t in re.findall(r"[A-Za-z_]\w*(?=\.[A-Za-z_])", text)}
        deps[s.id] = ({link.step for link in s.after} | refs | ({s.parent} if s.parent else set())) & ids - {s.id}
    order: list[PlanStep] = []
    placed: set[str] = set()
    pending = list(plan.steps)
    while pending:
        ready = next((s for s in pending if deps[s.id] <= placed), None)
        if ready is None:
            # a cycle: take the first pending step whose container (if any) is placed
            ready = next((s for s in pending if not s.parent or s.parent in placed), pending[0])
        order.append(ready)
        placed.add(ready.id)
        pending.remove(ready)
    return order


def compile_plan(plan: WorkflowPlan, *, version: str = "0.6.0") -> CompileResult:
    """Write the Dify DSL for ``plan``; problems in the plan become issues, never exceptions.

    A plan the compiler accepts (no error-level issue) validates without an error-level finding:
    whatever the validator still finds in the compiled workflow is returned as error issues, which
    the repair loop sends back to the model.
    """
    try:
        result = _compile(plan, version)
    except Exception as exc:  # noqa: BLE001 - the boundary: a model's plan must never crash the compiler
        c = _Compiler(plan, version)
        c.issue(f"the plan could not be compiled ({type(exc).__name__}: {exc}); rewrite its steps", None, "error")
        c.start()
        fallback = c.fallback_input()
        if c.chat:
            c.b.connect(c.nodes["start"], c.b.answer(str(fallback or "")))
        elif fallback is not None:
            c.b.connect(c.nodes["start"], c.b.end({"result": fallback}))
        doc = c.b.build()
        result = CompileResult(dsl=doc, yaml_text=dump_dsl(doc), issues=c.issues, node_ids={})
    if not any(i.severity == "error" for i in result.issues):
        for finding in validate(result.dsl, target_version=version).errors:
            result.issues.append(QualityIssue(severity="error", stage="configuration", code=finding.code,
                                              node_id=finding.node_id, message=f"{finding.code}: {finding.message}"))
    return result


def _compile(plan: WorkflowPlan, version: str) -> CompileResult:
    c = _Compiler(plan, version)
    c.start()
    steps = [s for s in _ordered(plan) if s.type != "start" and s.id != "start"]
    seen: set[str] = set()
    for s in steps:
        if s.id in seen or s.id in ("sys", "conversation", "env"):
            c.issue(f"duplicate or reserved step id {s.id!r}; the second one was dropped", s.id)
            continue
        seen.add(s.id)
        try:
            node = c.make(s)
        except BuilderError as exc:
            c.issue(f"step {s.id!r} ({s.type}): {exc}", s.id, "error")
            node = None
        if node is not None:
            c.nodes[s.id] = node
    for s in steps:
        if s.id in c.nodes:
            c.connect(s)
    c.finish_containers()
    if not any(n.type in ("end", "answer") for n in c.nodes.values()):
        c.issue("the plan has no final step; added one that returns the last result", None, "error")
        last = next((n for n in reversed(list(c.nodes.values())) if n.parent is None), c.nodes["start"])
        ref = last.out("text") if last.type in ("llm", "agent") else c.fallback_input()
        final = c.b.answer(str(ref)) if c.chat else (c.b.end({"result": ref}) if ref else None)
        if final is not None:
            try:
                c.b.connect(last, final)
            except BuilderError as exc:
                c.issue(f"the added final step could not be connected: {exc}", None, "error")
    _join_branches(c)
    _type_urls(c)
    _move_secrets(c)
    doc = c.b.build()
    plugins = dict.fromkeys(s.plugin for s in plan.steps if s.plugin and s.id in c.nodes)
    doc["dependencies"] = [{"type": "marketplace", "current_identifier": None,
                            "value": {"marketplace_plugin_unique_identifier": p, "version": None}} for p in plugins]
    return CompileResult(dsl=doc, yaml_text=dump_dsl(doc), issues=c.issues,
                         node_ids={k: v.id for k, v in c.nodes.items()})
