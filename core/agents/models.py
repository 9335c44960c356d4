"""The typed stage outputs of the generation pipeline: spec, blueprint, plan, quality report.

Both brains (LLM and offline rules) produce exactly these types; the compiler and the quality agent
consume them. References between steps are written ``step_id.field`` (``start.email``,
``classify.class_name``, ``sys.query``, ``conversation.user_name``); prompts embed them as
``{{step_id.field}}``. Models never see Dify node ids or YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from core.usage import CallRecord

AppMode = Literal["workflow", "advanced-chat"]

Capability = Literal[
    "retrieval", "classification", "branching", "http", "code", "iteration", "loop", "extraction",
    "file_input", "image_input", "memory", "conversation_vars", "template", "tool", "agent",
    "aggregation", "list_filter", "parallel", "translation", "summarization", "structured_output",
]
CAPABILITIES: tuple[str, ...] = Capability.__args__  # type: ignore[attr-defined]

StartVarType = Literal["text-input", "paragraph", "number", "select", "file", "file-list", "checkbox"]

NodeType = Literal[
    "start", "end", "answer", "llm", "knowledge-retrieval", "question-classifier", "if-else", "code",
    "template-transform", "http-request", "tool", "variable-aggregator", "assigner",
    "parameter-extractor", "iteration", "loop", "loop-end", "document-extractor", "list-operator", "agent",
]


# ----------------------------------------------------------------------------------------- stage 1


class InputVar(BaseModel):
    """One start variable the user fills in when running the app."""

    name: str = Field(description="snake_case variable name, e.g. 'email' or 'job_description'")
    label: str
    type: StartVarType = "paragraph"
    required: bool = True
    options: list[str] = Field(default_factory=list, description="choices of a select variable")
    file_types: list[Literal["image", "document", "audio", "video"]] = Field(default_factory=list)
    explicit: bool = Field(default=False, description="the user named it: the name is a contract")


class OutputVar(BaseModel):
    """One result the workflow returns."""

    name: str
    description: str = Field(default="", description="what the result is, in the user's words")
    source: str = Field(default="", description="what produces it: 'llm', 'code', 'template', 'tool:<key>', "
                        "'translate:<lang>', 'fixed:<text>' or '' (the main result)")
    branch: str | None = Field(default=None, description="the branch condition it belongs to (its own End)")
    explicit: bool = False
    intermediate: bool = Field(default=False, description="a value the workflow computes and names for a later step "
                               "(not a start input, not an End output unless also returned)")


class BranchRule(BaseModel):
    """``if <condition> then <action>``; the last rule of a group may have condition ``otherwise``."""

    condition: str
    action: str


class HttpCall(BaseModel):
    """An HTTP call the requirement names."""

    url: str = Field(description="the URL as given, or '' when the user supplies it at run time")
    method: Literal["get", "post", "put", "patch", "delete"] = "get"
    purpose: str = Field(default="", description="what the call is for, in the user's words")
    when: str = Field(default="", description="the class or branch condition it runs under ('' = always)")
    headers: dict[str, str] = Field(default_factory=dict, description="header -> value; secrets as '{{env.NAME}}'")
    params: dict[str, str] = Field(default_factory=dict, description="query parameter -> value ('{{env.NAME}}' for secrets)")
    body: dict[str, str] = Field(default_factory=dict, description="constant fields of the JSON body")


class LoopRule(BaseModel):
    """A bounded repeat-until loop."""

    max_iterations: int = Field(default=3, ge=1, le=100)
    until: str = Field(default="", description="the stop condition in words")
    stop_word: str = Field(default="", description="the word whose presence in the review ends the loop ('LGTM')")
    stop_operator: Literal[">", "<", "≥", "≤", "="] | None = Field(default=None, description="a score comparison that ends it")
    stop_value: str = ""


class ListFilter(BaseModel):
    """Filtering/sorting of a list of records."""

    key: str = "value"
    operator: Literal[">", "<", "=", "≥", "≤", "contains"] = ">"
    value: str = ""
    sort_key: str | None = None
    descending: bool = True
    limit: int | None = None


class Gate(BaseModel):
    """A typed comparison that sends some cases down their own path before the main work
    ("amounts over 10000 just return a fixed notice"); the other cases continue with the main work."""

    subject: str = Field(description="what is compared, in the user's words ('amount', 'order total', 'lines')")
    operator: Literal[">", "<", "≥", "≤", "=", "≠"] = ">"
    value: str = Field(description="the number compared with, as written ('10000')")
    then_text: str = Field(default="", description="what happens when the comparison holds, in the user's words")
    then_outputs: list[str] = Field(default_factory=list, description="named outputs only that path returns")
    no_model: bool = Field(default=False, description="that path must not call a model (fixed text or template)")
    fixed_text: str = Field(default="", description="the fixed reply of that path, verbatim")


class ConversationVar(BaseModel):
    """A conversation variable of a chat app (remembered across turns): what is remembered, how each turn
    changes it, and what reads it (the reply always; a limit on a counter routes the turn)."""

    name: str
    type: Literal["string", "number", "object", "array[string]"] = "string"
    description: str = ""
    label: str = Field(default="", description="the user's own word for it ('水平', 'fecha'), for prompts")
    kind: Literal["attribute", "counter", "list"] = Field(
        default="attribute", description="a stated attribute (level, name), a counter (questions, warnings) or a list "
        "(cart items, orders)")
    initial: str = Field(default="", description="the value a new conversation starts with ('0' for a counter)")
    update: Literal["over-write", "+=", "append", "extend", "clear", "none"] = Field(
        default="over-write", description="how each turn changes it: over-write from the extracted value, += 1, "
        "extend with the extracted items")
    when: str = Field(default="", description="the condition on the user's message under which it changes, in the "
                      "user's words ('' = every turn), e.g. 'abusive'")
    reset: str = Field(default="", description="what the user says to clear it ('checkout', '结账'); '' = never")
    limit: Gate | None = Field(default=None, description="a threshold on a counter that routes the turn ('after 3 "
                               "warnings reply \"...\"'); subject is the variable name, fixed_text the reply")
    explicit: bool = Field(default=False, description="the user named it: the name is a contract")


class RequirementSpec(BaseModel):
    """Stage 1 output: what the user asked for, in structured form."""

    requirement: str = Field(description="the requirement text, verbatim")
    goal: str = Field(description="one sentence: what the app does")
    app_mode: AppMode = "workflow"
    name: str = Field(default="Generated workflow", description="a short app name (2-5 words)")
    inputs: list[InputVar] = Field(default_factory=list)
    outputs: list[OutputVar] = Field(default_factory=list)
    capabilities: list[Capability] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list, description="named categories to classify into")
    branches: list[BranchRule] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list, description="outcomes to decide between, e.g. approve/block")
    http_calls: list[HttpCall] = Field(default_factory=list)
    code_steps: list[str] = Field(default_factory=list, description="what each code step must do")
    iteration_target: str | None = Field(default=None, description="the list items to process one by one")
    list_step: str = Field(default="", description="how the iterated list is made: 'model:<n>' (a model first lists n "
                           "items), 'split:<unit>' (code splits the text into paragraphs/lines/sentences), '' (pasted)")
    join_results: bool = Field(default=False, description="the per-item results are joined back into one text")
    loop: LoopRule | None = None
    extraction_fields: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list, description="named sections of a templated report")
    languages: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list, description="counts/limits as said, e.g. 'at most 200 words'")
    numbers: list[str] = Field(default_factory=list, description="numbers the user named, as written")
    list_filter: ListFilter | None = None
    conversation_vars: list[ConversationVar] = Field(default_factory=list)
    review: str | None = Field(default=None, description="a second pass that checks and fixes the result, as said")
    parallel_models: int = Field(default=0, description="how many models to ask in parallel (0 = none)")
    tool: str | None = Field(default=None, description="a tool the user names, e.g. 'web search'")
    unsupported: list[str] = Field(default_factory=list, description="asks Dify cannot do, with why")
    language: str = Field(default="en", description="language of the node titles and prompts (zh, ja, en, de...)")
    tools: list[str] = Field(default_factory=list, description="tool keys needed, each one of: tts, md_exporter_docx, "
                             "md_exporter_pdf, md_exporter_pptx, tavily, duckduckgo, jina, chart, text2image, "
                             "wikipedia, yahoo")
    no_model: bool = Field(default=False, description="the user asked for no LLM (code/template only)")
    facets: list[str] = Field(default_factory=list, description="independent analyses run in parallel, then joined")
    gate: Gate | None = None
    literals: list[str] = Field(default_factory=list, description="strings the user quoted or spelled as identifiers "
                                "(tags, tokens, constants, field names): carried verbatim into the step that uses them")
    notes: list[str] = Field(default_factory=list)
    edits: list[str] = Field(default_factory=list, description="refinement instructions applied, in order (the edit "
                             "log; ``requirement`` stays the original text)")

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, keys: list[str]) -> list[str]:
        """Only keys of the tool catalogue (a model may answer ``md_exporter_docx/pdf/pptx`` or a name of its
        own): an unknown key is dropped here rather than failing the architect later."""
        from core.agents.outputs import catalogue  # the catalogue module imports this one

        known = catalogue()
        return list(dict.fromkeys(k for k in keys if k in known))

    def summary(self) -> str:
        """One line for the progress view: mode, inputs and what was recognised."""
        parts = [f"{self.app_mode} app", f"inputs: {', '.join(v.name for v in self.inputs) or 'none'}"]
        if self.capabilities:
            parts.append(f"needs: {', '.join(self.capabilities)}")
        for label, items in (("classes", self.classes), ("languages", self.languages),
                             ("fields", self.extraction_fields), ("limits", self.constraints)):
            if items:
                parts.append(f"{label}: {', '.join(items)}")
        return "; ".join(parts)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities


# ----------------------------------------------------------------------------------------- stage 2


class Link(BaseModel):
    """A control-flow edge into a step: from ``step``, on ``branch`` (a class name, a branch
    condition, ``otherwise``, or None for the plain path)."""

    step: str
    branch: str | None = None


class BlueprintStep(BaseModel):
    """One node of the planned workflow, before configuration."""

    id: str = Field(description="short snake_case step id, unique")
    type: NodeType
    name: str = Field(description="the node title shown in Dify")
    purpose: str = Field(description="what this step does, in one sentence")
    reads: list[str] = Field(default_factory=list, description="data it uses: 'step_id.field' references")
    after: list[Link] = Field(default_factory=list, description="incoming edges; empty only for start")
    parent: str | None = Field(default=None, description="id of the iteration/loop containing it")
    labels: list[str] = Field(
        default_factory=list,
        description="classes (classifier), conditions (if-else), fields (extractor), sections (template), "
        "output names (end)",
    )
    focus: str | None = Field(default=None, description="the class/language/branch this step serves")


class Blueprint(BaseModel):
    """Stage 2 output: the workflow's steps and wiring, and the patterns it drew on."""

    app_mode: AppMode
    name: str
    steps: list[BlueprintStep]
    patterns_used: list[str] = Field(default_factory=list)
    rationale: str = ""

    def summary(self) -> str:
        """One line for the progress view: the steps and the patterns drawn on."""
        steps = " → ".join(s.name for s in self.steps if s.parent is None)
        drew = f"; drew on {', '.join(self.patterns_used)}" if self.patterns_used else ""
        return f"{len(self.steps)} steps: {steps}{drew}"


# ----------------------------------------------------------------------------------------- stage 3


class Binding(BaseModel):
    """A named input of a code/template step: ``name`` bound to a ``step_id.field`` reference."""

    name: str
    ref: str


class CodeOutput(BaseModel):
    name: str
    type: Literal["string", "number", "object", "boolean", "array[string]", "array[number]", "array[object]"]


class ConditionSpec(BaseModel):
    ref: str
    operator: Literal["contains", "not contains", "is", "is not", "empty", "not empty", "=", "≠", ">", "<", "≥", "≤",
                      "start with", "end with"] = "contains"
    value: str = ""


class CaseSpec(BaseModel):
    label: str
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[ConditionSpec]


class ParamSpec(BaseModel):
    name: str
    type: Literal["string", "number", "boolean", "array[string]"] = "string"
    description: str = ""
    required: bool = True


class LoopVarSpec(BaseModel):
    name: str
    type: Literal["string", "number", "boolean"] = "string"
    initial: str = Field(default="", description="a 'step.field' reference or a constant")


class AssignSpec(BaseModel):
    target: str = Field(description="'conversation.name' or '<loop step id>.<loop var>'")
    operation: Literal["over-write", "append", "extend", "clear", "+=", "-=", "set"] = "over-write"
    value: str = Field(default="", description="a 'step.field' reference, or a constant ('1' for += 1; '' for clear)")


class PlanStep(BaseModel):
    """A configured node. Only the fields of its type matter; the rest stay empty."""

    id: str
    type: NodeType
    title: str
    after: list[Link] = Field(default_factory=list)
    parent: str | None = None
    # llm / agent
    system: str = ""
    user: str = ""
    temperature: float = 0.7
    context: str | None = None
    memory_window: int | None = None
    vision: str | None = None
    structured_fields: list[str] = Field(default_factory=list, description="llm structured output keys")
    # knowledge-retrieval / classifier / extractor / agent / list-operator / doc extractor / iteration
    query: str | None = None
    top_k: int = 4
    classes: list[str] = Field(default_factory=list)
    instruction: str = ""
    parameters: list[ParamSpec] = Field(default_factory=list)
    # if-else
    cases: list[CaseSpec] = Field(default_factory=list)
    # code / template
    code: str = ""
    bindings: list[Binding] = Field(default_factory=list)
    code_outputs: list[CodeOutput] = Field(default_factory=list)
    template: str = ""
    # http
    method: Literal["get", "post", "put", "patch", "delete"] = "get"
    url: str = ""
    params: list[Binding] = Field(default_factory=list, description="query params: name -> ref or constant")
    headers: list[Binding] = Field(default_factory=list)
    body_json: str | None = None
    # tool
    tool_provider: str = ""
    tool_name: str = ""
    tool_label: str = ""
    tool_param: str = Field(default="query", description="the tool parameter that receives ``query``")
    plugin: str = Field(default="", description="marketplace plugin of the tool, declared in the DSL's dependencies")
    # aggregator
    refs: list[str] = Field(default_factory=list)
    # assigner
    assignments: list[AssignSpec] = Field(default_factory=list)
    # iteration / loop
    output: str | None = Field(default=None, description="iteration: the child output collected per item")
    loop_count: int = 3
    loop_vars: list[LoopVarSpec] = Field(default_factory=list)
    break_conditions: list[ConditionSpec] = Field(default_factory=list)
    # list-operator
    filter_key: str | None = None
    filter_operator: str = ">"
    filter_value: str = ""
    order_key: str | None = None
    order_desc: bool = True
    limit: int | None = None
    # end / answer
    outputs: list[Binding] = Field(default_factory=list)
    answer: str = ""


class StartVarPlan(BaseModel):
    name: str
    label: str
    type: StartVarType = "paragraph"
    required: bool = True
    options: list[str] = Field(default_factory=list)
    file_types: list[str] = Field(default_factory=list)


class WorkflowPlan(BaseModel):
    """Stage 3 output: everything the compiler needs to write the DSL."""

    app_mode: AppMode
    name: str
    description: str = ""
    icon: str = "🤖"
    start_title: str = "Start"
    start_vars: list[StartVarPlan] = Field(default_factory=list)
    conversation_vars: list[ConversationVar] = Field(default_factory=list)
    steps: list[PlanStep]

    def summary(self) -> str:
        """One line for the progress view: what was configured."""
        kinds = sorted({s.type for s in self.steps})
        return f"{len(self.steps)} nodes configured ({', '.join(kinds)})"


# ----------------------------------------------------------------------------------------- stage 4


class QualityIssue(BaseModel):
    severity: Literal["error", "warning", "info"]
    stage: Literal["requirements", "architecture", "configuration", "compile"]
    message: str
    code: str | None = None
    node_id: str | None = None


class QualityReview(BaseModel):
    """What the LLM brain's reviewer returns (merged into the deterministic report)."""

    score: int = Field(ge=0, le=100)
    issues: list[QualityIssue] = Field(default_factory=list)


class QualityReport(BaseModel):
    """Stage 4 output: the verdict on one DSL attempt."""

    score: int = Field(ge=0, le=100)
    issues: list[QualityIssue] = Field(default_factory=list)
    coverage: dict[str, bool] = Field(default_factory=dict, description="spec item -> present in the DSL")
    retry: bool = False
    feedback: str = ""
    target_stage: Literal["architecture", "configuration"] = "configuration"

    def summary(self) -> str:
        """One line for the progress view: the score and what is wrong, if anything."""
        errors = sum(i.severity == "error" for i in self.issues)
        warnings = sum(i.severity == "warning" for i in self.issues)
        verdict = "repair needed" if self.retry else "accepted"
        return f"score {self.score}/100, {errors} error(s), {warnings} warning(s): {verdict}"


Out = TypeVar("Out")


@dataclass
class StageResult(Generic[Out]):
    """One agent's output, the calls it made and how long the stage took (set by the pipeline)."""

    stage: str
    output: Out
    calls: list[CallRecord] = field(default_factory=list)
    duration_ms: float = 0.0
