"""graphon wiring: the node factory, child-engine builder, stub nodes and services a test run injects.

Everything Dify itself would inject into graphon is built here from our stand-ins: the model hook
(``model.StandInModel``), the code sandbox, HTTP, a Jinja2 sandbox renderer, an empty chat memory and
an in-memory file store. Knowledge retrieval, agent, tool and human-input nodes need Dify's
services: they run as stub nodes with canned, typed outputs and are marked ``stub`` in the report.
"""

from __future__ import annotations

import importlib
import mimetypes
import pkgutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal

import graphon
import graphon.nodes
from graphon.entities.base_node_data import BaseNodeData
from graphon.entities.graph_init_params import GraphInitParams
from graphon.enums import WorkflowNodeExecutionStatus
from graphon.file import runtime as file_runtime
from graphon.file.enums import FileTransferMethod, FileType
from graphon.file.models import File
from graphon.graph.graph import Graph
from graphon.graph_engine import GraphEngine
from graphon.graph_engine.command_channels import InMemoryChannel
from graphon.graph_engine.config import GraphEngineConfig
from graphon.graph_engine.orchestration import dispatcher as _dispatcher_module
from graphon.graph_engine.ready_queue.in_memory import InMemoryReadyQueue
from graphon.node_events.base import NodeRunResult
from graphon.nodes.base.node import Node
from graphon.nodes.code.limits import CodeNodeLimits
from graphon.nodes.http_request.entities import HttpRequestNodeConfig
from graphon.runtime.graph_runtime_state import ChildEngineError, ChildGraphNotFoundError, GraphRuntimeState
from graphon.runtime.variable_pool import VariablePool
from graphon.template_rendering import Jinja2TemplateRenderer, TemplateRenderError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.testrun.model import CallLog, Complete, NoHistory, PromptSerializer, StandInModel, Steering
from core.testrun.sandbox import SubprocessSandbox

POLL_S = 0.002
"""How long an idle graphon worker waits on the ready queue before checking for stop (graphon's
default 0.1 s makes every engine, and every iteration item's child engine, wait ~100 ms to stop)."""

STUB_TYPES = frozenset({"knowledge-retrieval", "agent", "tool", "human-input", "datasource"})
"""Node types that need Dify's own services; they run as stubs with canned outputs."""

CONTAINER_KEYS = (("isInIteration", "iteration_id"), ("isInLoop", "loop_id"))


def _import_node_modules() -> list[str]:
    """Import every ``graphon.nodes.*`` module so the node registry is full; return those that failed."""
    failed = []
    for info in pkgutil.walk_packages(graphon.nodes.__path__, "graphon.nodes."):
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            failed.append(f"{info.name}: {exc}")
    return failed


UNAVAILABLE_MODULES = _import_node_modules()


def node_classes() -> Mapping[str, Mapping[str, type[Node]]]:
    """graphon's registered node classes by type and version (after every node module is imported)."""
    return Node.get_node_type_classes_mapping()


# --- services ----------------------------------------------------------------------------------
class SandboxedJinja(Jinja2TemplateRenderer):
    """graphon's Jinja2 renderer contract over jinja2's immutable sandbox (as Dify's sandbox does)."""

    _env = ImmutableSandboxedEnvironment(autoescape=False)

    def render_template(self, template: str, variables: Mapping[str, Any]) -> str:
        try:
            return self._env.from_string(template).render(**dict(variables))
        except Exception as exc:  # noqa: BLE001 - any template error is the node's failure
            raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc


class FileStore:
    """In-memory bytes for the test run's files, served through graphon's process-global file runtime."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, bytes] = {}

    def add(self, name: str, mime_type: str, content: bytes, kind: str = "document") -> File:
        ref = uuid.uuid4().hex
        with self._lock:
            self._files[ref] = content
        ext = "." + name.rsplit(".", 1)[-1] if "." in name else (mimetypes.guess_extension(mime_type) or "")
        return File(id=ref, type=FileType(kind) if kind in FileType._value2member_map_ else FileType.DOCUMENT,
                    transfer_method=FileTransferMethod.LOCAL_FILE, reference=ref, filename=name,
                    extension=ext, mime_type=mime_type, size=len(content))

    def load(self, file: File) -> bytes:
        with self._lock:
            content = self._files.get(str(file.reference or file.related_id or ""))
        if content is None:
            raise FileNotFoundError(f"file {file.filename or file.reference} is not part of this test run")
        return content

    # FileManagerProtocol
    def download(self, f: File, /) -> bytes:
        return self.load(f)

    # ToolFileManagerProtocol
    def create_file_by_raw(self, *, file_binary: bytes, mimetype: str, filename: str | None = None) -> Any:
        file = self.add(filename or "download.bin", mimetype, file_binary)
        return SimpleNamespace(id=file.reference, name=file.filename, mimetype=mimetype, size=len(file_binary))

    def get_file_generator_by_tool_file_id(self, tool_file_id: str):
        return None, None

    # LLMFileSaver (multimodal model output)
    def save_binary_string(self, data: bytes, mime_type: str, file_type: FileType,
                           extension_override: str | None = None) -> File:
        ext = extension_override or mimetypes.guess_extension(mime_type) or ".bin"
        return self.add(f"model-output{ext}", mime_type, data, str(getattr(file_type, "value", file_type)))

    def save_remote_url(self, url: str, file_type: FileType) -> File:
        raise PermissionError("a test run does not download files from the network")

    # FileReferenceFactoryProtocol
    def build_from_mapping(self, *, mapping: Mapping[str, Any]) -> File:
        data = dict(mapping)
        ref = str(data.get("reference") or data.get("related_id") or data.get("tool_file_id") or "")
        return File(type=FileType(str(data.get("type") or "document")),
                    transfer_method=FileTransferMethod(str(data.get("transfer_method") or "tool_file")),
                    reference=ref or uuid.uuid4().hex, filename=data.get("filename"),
                    extension=data.get("extension"), mime_type=data.get("mime_type") or "application/octet-stream",
                    size=int(data.get("size") or -1), remote_url=data.get("remote_url"))


_CURRENT_STORE: FileStore | None = None
_STORE_LOCK = threading.Lock()


class TestRunFileRuntime:
    """graphon's ``WorkflowFileRuntimeProtocol``: files come from the running test run's store."""

    __test__ = False

    @property
    def multimodal_send_format(self) -> str:
        return "url"

    def http_get(self, url: str, *, follow_redirects: bool = True):
        raise PermissionError("a test run does not download files from the network")

    def storage_load(self, path: str, *, stream: bool = False):
        raise FileNotFoundError(path)

    def load_file_bytes(self, *, file: File) -> bytes:
        store = _CURRENT_STORE
        if store is None:
            raise FileNotFoundError("no test run is active")
        return store.load(file)

    def resolve_file_url(self, *, file: File, for_external: bool = True) -> str | None:
        return f"https://files.testrun.invalid/{file.reference}/{file.filename or 'file'}"

    def resolve_upload_file_url(self, *, upload_file_id: str, as_attachment: bool = False,
                                for_external: bool = True) -> str:
        return f"https://files.testrun.invalid/{upload_file_id}"

    def resolve_tool_file_url(self, *, tool_file_id: str, extension: str, for_external: bool = True) -> str:
        return f"https://files.testrun.invalid/{tool_file_id}{extension}"

    def verify_preview_signature(self, *, preview_kind: Literal["image", "file"], file_id: str, timestamp: str,
                                 nonce: str, sign: str) -> bool:
        return False


file_runtime.set_workflow_file_runtime(TestRunFileRuntime())


def activate_store(store: FileStore | None) -> None:
    global _CURRENT_STORE
    with _STORE_LOCK:
        _CURRENT_STORE = store


class _ShortSleeps:
    """Stands in for the ``time`` module inside graphon's dispatcher: after an empty 0.1 s poll it
    sleeps another 0.1 s, so an event that arrives then (any node slower than 0.1 s: a code
    subprocess, a real model call) waits up to 0.1 s more. The poll itself still blocks on the
    queue, so shortening the sleep costs no busy waiting."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(min(seconds, POLL_S))


_dispatcher_module.time = _ShortSleeps()  # type: ignore[attr-defined]


class FastReadyQueue(InMemoryReadyQueue):
    """graphon's in-memory ready queue with a short poll, so idle workers stop within milliseconds."""

    def get(self, timeout: float | None = None) -> str:
        return super().get(timeout=POLL_S if timeout is None else min(timeout, POLL_S))


# --- stub nodes -----------------------------------------------------------------------------------
def _stub_outputs(node_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    title = str(data.get("title") or node_type)
    if node_type == "knowledge-retrieval":
        return {"result": [{"content": f"[stub] a passage the knowledge base would return for '{title}'",
                            "title": "stub document", "metadata": {"score": 0.9, "document_name": "stub.txt"}}]}
    if node_type == "human-input":
        return {"__action_id": "submit", "answer": "[stub] a person's answer"}
    return {"text": f"[stub] what the {node_type} '{title}' would return", "files": [], "json": [{}]}


class _StubNode(Node[BaseNodeData]):
    """A node that needs Dify's services: succeeds with canned outputs of the right shape."""

    node_type = "stub"

    @classmethod
    def version(cls) -> str:
        return "1"

    def _run(self) -> NodeRunResult:
        data = self.node_data.model_dump(mode="python")
        return NodeRunResult(status=WorkflowNodeExecutionStatus.SUCCEEDED, inputs={"stub": True},
                             outputs=_stub_outputs(str(data.get("type")), data))


# --- run budget -------------------------------------------------------------------------------------
class BudgetExceeded(ChildEngineError):
    """The test run went past its step or time limit (raised where a child engine would start)."""


@dataclass
class Budget:
    """Steps and wall time shared by a run's engine and all its child engines."""

    max_steps: int
    max_time_s: float
    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    child_engines: int = 0
    exceeded: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def step(self) -> None:
        with self._lock:
            self.steps += 1
            self._check()

    def child(self) -> None:
        with self._lock:
            self.child_engines += 1
            self.steps += 1
            self._check()
            if self.exceeded:
                raise BudgetExceeded(self.exceeded)

    def _check(self) -> None:
        if self.exceeded:
            return
        if self.steps > self.max_steps:
            self.exceeded = f"step limit: more than {self.max_steps} node executions"
        elif time.monotonic() - self.started > self.max_time_s:
            self.exceeded = f"time limit: ran longer than {self.max_time_s:g} s"


# --- factory ----------------------------------------------------------------------------------------
@dataclass
class Services:
    """Everything one test run injects into graphon's nodes."""

    steering: Steering
    calls: CallLog
    http: Any
    sandbox: SubprocessSandbox
    files: FileStore
    budget: Budget
    chat: bool
    complete: Complete | None = None
    renderer: SandboxedJinja = field(default_factory=SandboxedJinja)
    serializer: PromptSerializer = field(default_factory=PromptSerializer)

    code_limits = CodeNodeLimits(max_string_length=400_000, max_number=2**63 - 1, min_number=-(2**63),
                                 max_precision=20, max_depth=5, max_number_array_length=1000,
                                 max_string_array_length=1000, max_object_array_length=1000)
    http_config = HttpRequestNodeConfig(max_connect_timeout=10, max_read_timeout=30, max_write_timeout=30,
                                        max_binary_size=10 * 1024 * 1024, max_text_size=1024 * 1024,
                                        ssl_verify=True, ssrf_default_max_retries=0)


def container_of(node: Mapping[str, Any]) -> str | None:
    """The iteration or loop a node belongs to (``parentId`` or the ``iteration_id``/``loop_id`` flags)."""
    parent = node.get("parentId")
    if isinstance(parent, str) and parent:
        return parent
    data = node.get("data") if isinstance(node.get("data"), Mapping) else {}
    for flag, key in CONTAINER_KEYS:
        if data.get(flag) and isinstance(data.get(key), str):
            return data[key]
    return None


def subgraph(graph: Mapping[str, Any], container: str | None) -> dict[str, Any]:
    """The nodes (and edges between them) that run at one level: top level or inside one container."""
    nodes = [n for n in graph.get("nodes") or [] if isinstance(n, Mapping) and container_of(n) == container]
    ids = {n.get("id") for n in nodes}
    edges = [e for e in graph.get("edges") or []
             if isinstance(e, Mapping) and e.get("source") in ids and e.get("target") in ids]
    return {"nodes": nodes, "edges": edges}


class UnsupportedNodeType(ValueError):
    """graphon has no class for this node type."""


class StandInNodeFactory:
    """graphon ``NodeFactory``: real node classes, with our stand-ins injected where Dify injects services."""

    def __init__(self, init_params: GraphInitParams, state: GraphRuntimeState, services: Services) -> None:
        self._params = init_params
        self._state = state
        self._services = services

    def create_node(self, node_config: Mapping[str, Any]) -> Node:
        raw = node_config["data"]
        data = raw.model_dump(mode="python") if isinstance(raw, BaseNodeData) else dict(raw)
        node_type = str(data.get("type"))
        node_id = str(node_config["id"])
        if node_type in STUB_TYPES:
            return _stub_class(node_type)(id=node_id, config=node_config, graph_init_params=self._params,
                                          graph_runtime_state=self._state)
        versions = node_classes().get(node_type)
        if not versions:
            raise UnsupportedNodeType(f"graphon {graphon_version()} has no node class for type {node_type!r}")
        cls = versions.get(str(data.get("version") or "1")) or versions["latest"]
        retry = data.get("retry_config")
        if isinstance(retry, Mapping) and retry.get("retry_enabled"):
            # Keep the retries (their behaviour is part of the run) but not the waiting between them.
            data["retry_config"] = {**retry, "retry_interval": 0}
            node_config = {**node_config, "data": data}
        return cls(id=node_id, config=node_config, graph_init_params=self._params,
                   graph_runtime_state=self._state, **self._kwargs(node_type, node_id, data))

    def _kwargs(self, node_type: str, node_id: str, data: dict) -> dict[str, Any]:
        s = self._services
        memory = NoHistory() if data.get("memory") else None
        if node_type in ("llm", "question-classifier", "parameter-extractor"):
            model = StandInModel(node_id, data, s.steering, s.calls, s.complete)
            kwargs: dict[str, Any] = {"model_instance": model, "memory": memory,
                                      "prompt_message_serializer": s.serializer}
            if node_type == "llm":
                kwargs.update(http_client=s.http, llm_file_saver=s.files, jinja2_template_renderer=s.renderer,
                              default_query_selector=("sys", "query") if s.chat else None)
            elif node_type == "question-classifier":
                kwargs.update(http_client=s.http, llm_file_saver=s.files, template_renderer=s.renderer)
            return kwargs
        if node_type == "code":
            return {"code_executor": s.sandbox, "code_limits": s.code_limits}
        if node_type == "http-request":
            return {"http_request_config": s.http_config, "http_client": s.http,
                    "tool_file_manager_factory": lambda: s.files, "file_manager": s.files,
                    "file_reference_factory": s.files}
        if node_type == "template-transform":
            return {"jinja2_template_renderer": s.renderer}
        if node_type == "document-extractor":
            return {"http_client": s.http}
        return {}


_STUB_CLASSES: dict[str, type[Node]] = {}


def _stub_class(node_type: str) -> type[Node]:
    if node_type not in _STUB_CLASSES:
        _STUB_CLASSES[node_type] = type(f"Stub_{node_type.replace('-', '_')}", (_StubNode,),
                                        {"node_type": f"testrun-stub-{node_type}"})
    return _STUB_CLASSES[node_type]


class ChildEngines:
    """graphon ``ChildGraphEngineBuilderProtocol``: an engine for one iteration item or loop round."""

    def __init__(self, services: Services, build: Callable[..., GraphEngine]) -> None:
        self._services = services
        self._build = build

    def build_child_engine(self, *, workflow_id: str, graph_init_params: GraphInitParams,
                           parent_graph_runtime_state: GraphRuntimeState, root_node_id: str,
                           variable_pool: VariablePool | None = None) -> Any:
        self._services.budget.child()
        graph = graph_init_params.graph_config
        root = next((n for n in graph.get("nodes") or [] if isinstance(n, Mapping) and n.get("id") == root_node_id), None)
        if root is None:
            raise ChildGraphNotFoundError(f"start node {root_node_id} of the container is not in the graph")
        config = subgraph(graph, container_of(root))
        return self._build(init_params=graph_init_params, level=config, root_id=root_node_id,
                           pool=variable_pool or parent_graph_runtime_state.variable_pool, child=True)


def build_engine(*, init_params: GraphInitParams, level: Mapping[str, Any], root_id: str, pool: VariablePool,
                 services: Services, child: bool = False) -> GraphEngine:
    """A graphon ``GraphEngine`` over one level of the graph, with the stand-in factory and builder."""
    state = GraphRuntimeState(variable_pool=pool, start_at=time.perf_counter(), ready_queue=FastReadyQueue())
    factory = StandInNodeFactory(init_params, state, services)
    graph = Graph.init(graph_config=level, node_factory=factory, root_node_id=root_id)

    def again(**kw: Any) -> GraphEngine:
        return build_engine(services=services, **kw)

    return GraphEngine(workflow_id=init_params.workflow_id, graph=graph, graph_runtime_state=state,
                       command_channel=InMemoryChannel(), config=GraphEngineConfig(min_workers=1, max_workers=4),
                       child_engine_builder=ChildEngines(services, again))


def graphon_version() -> str:
    from importlib.metadata import version

    return version("graphon")


__all__ = ["Services", "build_engine", "subgraph", "container_of", "Budget", "BudgetExceeded", "FileStore",
           "activate_store", "STUB_TYPES", "UnsupportedNodeType", "UNAVAILABLE_MODULES", "node_classes",
           "graphon_version"]
