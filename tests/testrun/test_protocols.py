"""The stand-ins must keep satisfying graphon's Protocols: a graphon upgrade that changes one fails here."""

from __future__ import annotations

import inspect
import typing

import pytest
from graphon.file.protocols import WorkflowFileRuntimeProtocol
from graphon.graph.graph import NodeFactory
from graphon.model_runtime.memory.prompt_message_memory import PromptMessageMemory
from graphon.nodes.code.code_node import WorkflowCodeExecutor
from graphon.nodes.llm.file_saver import LLMFileSaver
from graphon.nodes.llm.runtime_protocols import PreparedLLMProtocol, PromptMessageSerializerProtocol
from graphon.nodes.protocols import (
    FileManagerProtocol,
    FileReferenceFactoryProtocol,
    HttpClientProtocol,
    ToolFileManagerProtocol,
)
from graphon.runtime.graph_runtime_state import ChildGraphEngineBuilderProtocol
from graphon.template_rendering import Jinja2TemplateRenderer

from core.testrun.http import CannedHttp, LiveHttp
from core.testrun.model import NoHistory, PromptSerializer, StandInModel
from core.testrun.runtime import (
    ChildEngines,
    FileStore,
    SandboxedJinja,
    StandInNodeFactory,
    TestRunFileRuntime,
)
from core.testrun.sandbox import SubprocessSandbox

PAIRS = [
    (PreparedLLMProtocol, StandInModel),
    (PromptMessageSerializerProtocol, PromptSerializer),
    (PromptMessageMemory, NoHistory),
    (WorkflowCodeExecutor, SubprocessSandbox),
    (HttpClientProtocol, CannedHttp),
    (HttpClientProtocol, LiveHttp),
    (FileManagerProtocol, FileStore),
    (ToolFileManagerProtocol, FileStore),
    (FileReferenceFactoryProtocol, FileStore),
    (LLMFileSaver, FileStore),
    (WorkflowFileRuntimeProtocol, TestRunFileRuntime),
    (NodeFactory, StandInNodeFactory),
    (ChildGraphEngineBuilderProtocol, ChildEngines),
]


def _members(protocol: type) -> set[str]:
    return set(typing._get_protocol_attrs(protocol))  # the same set isinstance() checks for runtime protocols


@pytest.mark.parametrize(("protocol", "impl"), PAIRS, ids=lambda x: x.__name__)
def test_stand_in_has_every_protocol_member_with_compatible_parameters(protocol, impl):
    for name in sorted(_members(protocol)):
        assert hasattr(impl, name), f"{impl.__name__} lacks {protocol.__name__}.{name}"
        wanted = getattr(protocol, name)
        if isinstance(wanted, property) or not callable(wanted):
            continue
        ours = inspect.signature(getattr(impl, name))
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in ours.parameters.values())
        for param in list(inspect.signature(wanted).parameters.values())[1:]:
            if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            assert param.name in ours.parameters or accepts_any, (
                f"{impl.__name__}.{name} does not accept {param.name!r} that {protocol.__name__} passes")
            if param.default is inspect.Parameter.empty and param.name in ours.parameters:
                continue


def test_renderer_is_graphon_renderer_and_sandboxed():
    renderer = SandboxedJinja()
    assert isinstance(renderer, Jinja2TemplateRenderer)
    assert renderer.render_template("{{ a | upper }}", {"a": "x"}) == "X"
    from graphon.template_rendering import TemplateRenderError

    with pytest.raises(TemplateRenderError):
        renderer.render_template("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_every_graphon_node_module_imports():
    from core.testrun.runtime import UNAVAILABLE_MODULES, node_classes

    assert UNAVAILABLE_MODULES == []
    for kind in ("llm", "code", "if-else", "iteration", "loop", "document-extractor", "list-operator"):
        assert kind in node_classes()
