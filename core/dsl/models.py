"""Typed pydantic models of a Dify app DSL document and of the ``data`` of every node type (DSL_SPEC §1–3).

Editor-only keys are kept (``extra="allow"``); legacy shapes Dify still accepts load. Fields Dify
requires have no default, so a missing one is reported; enums are ``Literal`` types, so a bad value is
reported. ``NODE_DATA_MODELS`` maps each ``data.type`` to its model; ``node_data_adapter(type)`` gives a
cached ``TypeAdapter`` the validator uses.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Selector = list[str]
ComparisonOperator = Literal[
    "contains",
    "not contains",
    "start with",
    "end with",
    "is",
    "is not",
    "empty",
    "not empty",
    "in",
    "not in",
    "all of",
    "=",
    "≠",
    ">",
    "<",
    "≥",
    "≤",
    "null",
    "not null",
    "exists",
    "not exists",
    "before",
    "after",
]
FileType = Literal["image", "document", "audio", "video", "custom"]
UploadMethod = Literal["remote_url", "local_file", "tool_file", "datasource_file"]


class _Open(BaseModel):
    """Base of every model: unknown keys are kept, as Dify's own models allow."""

    model_config = ConfigDict(extra="allow")


# --- shared sub-types -------------------------------------------------------------------------------


class VariableSelector(_Open):
    variable: str
    value_selector: Selector


class ModelConfig(_Open):
    provider: str
    name: str
    mode: Literal["chat", "completion"]
    completion_params: dict[str, Any] = Field(default_factory=dict)


class MemoryWindow(_Open):
    enabled: bool = False
    size: int | None = None


class MemoryConfig(_Open):
    role_prefix: dict[str, str] | None = None
    window: MemoryWindow = Field(default_factory=MemoryWindow)
    query_prompt_template: str | None = None


class VisionConfigs(_Open):
    variable_selector: Selector = Field(default_factory=lambda: ["sys", "files"])
    detail: Literal["low", "high"] = "high"


class VisionConfig(_Open):
    enabled: bool = False
    configs: VisionConfigs | None = None


class SubCondition(_Open):
    key: str = ""
    comparison_operator: ComparisonOperator
    value: Any = None


class SubVariableCondition(_Open):
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[SubCondition] = Field(default_factory=list)


class Condition(_Open):
    variable_selector: Selector | None = None
    comparison_operator: ComparisonOperator
    value: Any = None
    sub_variable_condition: SubVariableCondition | None = None


class BaseNodeData(_Open):
    """Fields every node's ``data`` shares (``BaseNodeData``)."""

    type: str
    title: str = ""
    desc: str | None = None
    version: str = "1"
    error_strategy: Literal["fail-branch", "default-value"] | None = None
    default_value: list[dict[str, Any]] | None = None
    retry_config: dict[str, Any] | None = None


# --- node data, one model per data.type --------------------------------------------------------------


class StartVariable(_Open):
    variable: str
    label: str = ""
    type: Literal[
        "text-input",
        "select",
        "paragraph",
        "number",
        "external_data_tool",
        "file",
        "file-list",
        "checkbox",
        "json_object",
    ]
    required: bool = False
    options: list[str] | None = None
    allowed_file_types: list[FileType] | None = None
    allowed_file_upload_methods: list[UploadMethod] | None = None


class StartNodeData(BaseNodeData):
    variables: list[StartVariable] = Field(default_factory=list)


class EndOutput(_Open):
    variable: str
    value_selector: Selector
    value_type: str | None = None


class EndNodeData(BaseNodeData):
    outputs: list[EndOutput]


class AnswerNodeData(BaseNodeData):
    answer: str


class PromptMessage(_Open):
    role: Literal["system", "user", "assistant", "tool"] = "user"
    text: str = ""
    edition_type: Literal["basic", "jinja2"] | None = None
    jinja2_text: str | None = None


class CompletionPrompt(_Open):
    text: str = ""
    edition_type: Literal["basic", "jinja2"] | None = None
    jinja2_text: str | None = None


class ContextConfig(_Open):
    enabled: bool
    variable_selector: Selector | None = None


class PromptConfig(_Open):
    jinja2_variables: list[VariableSelector] | None = None


class LLMNodeData(BaseNodeData):
    model: ModelConfig
    prompt_template: list[PromptMessage] | CompletionPrompt
    context: ContextConfig
    prompt_config: PromptConfig | None = None
    memory: MemoryConfig | None = None
    vision: VisionConfig | None = None
    structured_output: dict[str, Any] | None = None
    reasoning_format: Literal["separated", "tagged"] | None = None


class RerankingModel(_Open):
    provider: str
    model: str


class MultipleRetrievalConfig(_Open):
    top_k: int | None = None
    score_threshold: float | None = None
    reranking_mode: Literal["reranking_model", "weighted_score"] = "reranking_model"
    reranking_enable: bool = True
    reranking_model: RerankingModel | None = None


class SingleRetrievalConfig(_Open):
    model: ModelConfig


class KnowledgeRetrievalNodeData(BaseNodeData):
    query_variable_selector: Selector | str | None = None
    dataset_ids: list[str]
    retrieval_mode: Literal["single", "multiple"]
    single_retrieval_config: SingleRetrievalConfig | None = None
    multiple_retrieval_config: MultipleRetrievalConfig | None = None
    metadata_filtering_mode: Literal["disabled", "automatic", "manual"] | None = None
    vision: VisionConfig | None = None


class ClassConfig(_Open):
    id: str
    name: str
    label: str | None = None


class QuestionClassifierNodeData(BaseNodeData):
    query_variable_selector: Selector
    model: ModelConfig
    classes: list[ClassConfig]
    instruction: str | None = None
    memory: MemoryConfig | None = None
    vision: VisionConfig | None = None


class IfElseCase(_Open):
    case_id: str
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition]


class IfElseNodeData(BaseNodeData):
    """Either ``cases`` or, in the legacy 0.1.x shape, top-level ``logical_operator`` + ``conditions``."""

    cases: list[IfElseCase] | None = None
    logical_operator: Literal["and", "or"] | None = "and"
    conditions: list[Condition] | None = None


VarType = Literal[
    "string",
    "number",
    "object",
    "boolean",
    "array[string]",
    "array[number]",
    "array[object]",
    "array[boolean]",
]
"""The value types of code outputs and loop variables."""


class CodeOutput(_Open):
    type: VarType
    children: dict[str, Any] | None = None


class CodeNodeData(BaseNodeData):
    code_language: Literal["python3", "javascript"]
    code: str
    variables: list[VariableSelector]
    outputs: dict[str, CodeOutput]


class TemplateTransformNodeData(BaseNodeData):
    variables: list[VariableSelector]
    template: str


class HttpAuthConfig(_Open):
    type: Literal["basic", "bearer", "custom"]
    api_key: str = ""
    header: str | None = ""


class HttpAuthorization(_Open):
    type: Literal["no-auth", "api-key"]
    config: HttpAuthConfig | dict[str, Any] | None = None


class HttpBody(_Open):
    type: Literal["none", "form-data", "x-www-form-urlencoded", "raw-text", "json", "binary"]
    data: list[dict[str, Any]] | str | None = None


HttpMethod = Literal[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "HEAD",
    "OPTIONS",
]


class HttpRequestNodeData(BaseNodeData):
    method: HttpMethod
    url: str
    authorization: HttpAuthorization
    headers: str
    params: str
    body: HttpBody | None = None
    ssl_verify: bool | None = None


class ToolInput(_Open):
    type: Literal["mixed", "variable", "constant"]
    value: Any = None


class ToolNodeData(BaseNodeData):
    provider_id: str
    provider_type: Literal["plugin", "builtin", "workflow", "api", "app", "dataset-retrieval", "mcp"]
    provider_name: str
    tool_name: str
    tool_label: str
    tool_configurations: dict[str, Any]
    tool_parameters: dict[str, ToolInput]


class AggregatorGroup(_Open):
    output_type: str
    variables: list[Selector]
    group_name: str


class AggregatorAdvancedSettings(_Open):
    group_enabled: bool = False
    groups: list[AggregatorGroup] = Field(default_factory=list)


class VariableAggregatorNodeData(BaseNodeData):
    output_type: str
    variables: list[Selector]
    advanced_settings: AggregatorAdvancedSettings | None = None


class AssignerV1NodeData(BaseNodeData):
    assigned_variable_selector: Selector
    write_mode: Literal["over-write", "append", "clear"]
    input_variable_selector: Selector | None = None


AssignerOperation = Literal[
    "over-write",
    "clear",
    "append",
    "extend",
    "set",
    "+=",
    "-=",
    "*=",
    "/=",
    "remove-first",
    "remove-last",
]


class AssignerItem(_Open):
    variable_selector: Selector
    input_type: Literal["variable", "constant"]
    operation: AssignerOperation
    value: Any = None


class AssignerV2NodeData(BaseNodeData):
    items: list[AssignerItem]


class ExtractorParameter(_Open):
    name: str
    type: Literal[
        "string",
        "number",
        "boolean",
        "array[string]",
        "array[number]",
        "array[object]",
        "array[boolean]",
        "bool",
        "select",
    ]
    options: list[str] | None = None
    description: str = ""
    required: bool = False


class ParameterExtractorNodeData(BaseNodeData):
    model: ModelConfig
    query: Selector
    parameters: list[ExtractorParameter]
    reasoning_mode: Literal["function_call", "prompt", ""] | None = None
    instruction: str | None = None
    memory: MemoryConfig | None = None
    vision: VisionConfig | None = None


class IterationNodeData(BaseNodeData):
    start_node_id: str
    iterator_selector: Selector
    output_selector: Selector
    is_parallel: bool = False
    parallel_nums: int = Field(default=10, ge=1)
    error_handle_mode: Literal["terminated", "continue-on-error", "remove-abnormal-output"] = "terminated"


class LoopVariable(_Open):
    label: str
    var_type: VarType
    value_type: Literal["variable", "constant"]
    value: Any = None


class LoopNodeData(BaseNodeData):
    start_node_id: str
    loop_count: int = Field(ge=1)
    break_conditions: list[Condition]
    logical_operator: Literal["and", "or"]
    loop_variables: list[LoopVariable] | None = None


class DocumentExtractorNodeData(BaseNodeData):
    variable_selector: Selector


class ListFilterCondition(_Open):
    key: str = ""
    comparison_operator: ComparisonOperator
    value: Any = None


class ListFilter(_Open):
    enabled: bool = False
    conditions: list[ListFilterCondition] = Field(default_factory=list)


class ListOrder(_Open):
    enabled: bool = False
    key: str = ""
    value: Literal["asc", "desc", ""] = "asc"


class ListLimit(_Open):
    enabled: bool = False
    size: int = -1


class ListOperatorNodeData(BaseNodeData):
    variable: Selector
    filter_by: ListFilter
    order_by: ListOrder
    limit: ListLimit


class AgentInput(_Open):
    type: Literal["mixed", "variable", "constant"]
    value: Any = None


class AgentNodeData(BaseNodeData):
    agent_strategy_provider_name: str
    agent_strategy_name: str
    agent_strategy_label: str
    agent_parameters: dict[str, AgentInput]
    memory: MemoryConfig | None = None


class WebhookNodeData(BaseNodeData):
    method: Literal["get", "post", "head", "patch", "put", "delete"] = "get"
    content_type: Literal[
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/octet-stream",
    ] = "application/json"
    status_code: int = 200
    timeout: int = 30


class ScheduleNodeData(BaseNodeData):
    mode: Literal["visual", "cron"] = "visual"
    frequency: Literal["hourly", "daily", "weekly", "monthly"] | None = None
    cron_expression: str | None = None
    timezone: str = "UTC"


class PluginTriggerNodeData(BaseNodeData):
    provider_id: str
    event_name: str


class NoFieldsNodeData(BaseNodeData):
    """iteration-start, loop-start, loop-end and human-input declare no fields of their own."""


NODE_DATA_MODELS: dict[str, type[BaseNodeData]] = {
    "start": StartNodeData,
    "end": EndNodeData,
    "answer": AnswerNodeData,
    "llm": LLMNodeData,
    "knowledge-retrieval": KnowledgeRetrievalNodeData,
    "question-classifier": QuestionClassifierNodeData,
    "if-else": IfElseNodeData,
    "code": CodeNodeData,
    "template-transform": TemplateTransformNodeData,
    "http-request": HttpRequestNodeData,
    "tool": ToolNodeData,
    "variable-aggregator": VariableAggregatorNodeData,
    "variable-assigner": VariableAggregatorNodeData,
    "assigner": AssignerV1NodeData,  # v2 ("version": "2") is chosen by node_data_model
    "parameter-extractor": ParameterExtractorNodeData,
    "iteration": IterationNodeData,
    "iteration-start": NoFieldsNodeData,
    "loop": LoopNodeData,
    "loop-start": NoFieldsNodeData,
    "loop-end": NoFieldsNodeData,
    "document-extractor": DocumentExtractorNodeData,
    "list-operator": ListOperatorNodeData,
    "agent": AgentNodeData,
    "human-input": NoFieldsNodeData,
    "trigger-webhook": WebhookNodeData,
    "trigger-schedule": ScheduleNodeData,
    "trigger-plugin": PluginTriggerNodeData,
}
"""Every node type a workflow or advanced-chat graph may hold, with the model of its ``data``."""

TRIGGER_TYPES = frozenset({"trigger-webhook", "trigger-schedule", "trigger-plugin"})
ENTRY_TYPES = frozenset({"start"}) | TRIGGER_TYPES


def node_data_model(node_type: str, version: object = None) -> type[BaseNodeData] | None:
    """The model of a node's ``data`` for its type (and, for ``assigner``, its version)."""
    if node_type == "assigner" and str(version) == "2":
        return AssignerV2NodeData
    return NODE_DATA_MODELS.get(node_type)


@cache
def node_data_adapter(model: type[BaseNodeData]) -> TypeAdapter:
    """A cached ``TypeAdapter`` for a node data model (builds its validator once)."""
    return TypeAdapter(model)


# --- the document ----------------------------------------------------------------------------------

AppMode = Literal["workflow", "advanced-chat", "chat", "agent-chat", "completion"]
VariableValueType = Literal[
    "string",
    "secret",
    "number",
    "integer",
    "float",
    "boolean",
    "object",
    "array[string]",
    "array[number]",
    "array[object]",
    "array[boolean]",
]


class AppInfo(_Open):
    mode: AppMode
    name: str = ""
    description: str = ""
    icon: str | None = None
    icon_background: str | None = None
    icon_type: Literal["emoji", "image", "link"] | None = None
    use_icon_as_answer_icon: bool = False


class DeclaredVariable(_Open):
    """An environment or conversation variable (``variable_factory``)."""

    id: str | None = None
    name: str = Field(min_length=1)
    value_type: VariableValueType
    value: Any
    description: str = ""
    selector: Selector | None = None


class Node(_Open):
    id: str
    type: Literal["custom", "custom-note", "custom-iteration-start", "custom-loop-start"] = "custom"
    data: dict[str, Any]
    parentId: str | None = None  # noqa: N815 - React Flow's key


class Edge(_Open):
    id: str | None = None
    source: str
    target: str
    sourceHandle: str = "source"  # noqa: N815
    targetHandle: str = "target"  # noqa: N815
    data: dict[str, Any] = Field(default_factory=dict)


class Graph(_Open):
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    viewport: dict[str, Any] | None = None


class Workflow(_Open):
    graph: Graph = Field(default_factory=Graph)
    features: dict[str, Any] = Field(default_factory=dict)
    environment_variables: list[DeclaredVariable] = Field(default_factory=list)
    conversation_variables: list[DeclaredVariable] = Field(default_factory=list)


class PluginDependency(_Open):
    type: Literal["marketplace", "github", "package"]
    value: dict[str, Any]
    current_identifier: str | None = None


class DSLDocument(_Open):
    """A whole Dify app export (workflow or advanced-chat)."""

    version: str = "0.1.0"
    kind: str = "app"
    app: AppInfo
    workflow: Workflow | None = None
    dependencies: list[PluginDependency] = Field(default_factory=list)
