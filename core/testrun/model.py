"""The model hook behind graphon's LLM, question-classifier and parameter-extractor nodes.

One class satisfies graphon's ``PreparedLLMProtocol``. Offline it answers deterministically in the
shape each node needs (a valid class id, a JSON object with exactly the extractor's parameters and
types, plausible text for LLM nodes) and reports a word-count token usage, like pydantic-ai's
``FunctionModel``: the numbers are plausible, not measured. With a ``complete`` callable (see
``provider_completer``) the same hook sends the prompt to a real model through ``core.llm``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from graphon.model_runtime.entities.common_entities import I18nObject
from graphon.model_runtime.entities.llm_entities import (
    LLMMode,
    LLMResult,
    LLMResultChunk,
    LLMResultChunkDelta,
    LLMResultWithStructuredOutput,
    LLMUsage,
)
from graphon.model_runtime.entities.message_entities import AssistantPromptMessage, PromptMessage
from graphon.model_runtime.entities.model_entities import (
    AIModelEntity,
    FetchFrom,
    ModelPropertyKey,
    ModelType,
)

Complete = Callable[[str, str], tuple[str, int, int]]
"""``complete(system, user) -> (text, prompt_tokens, completion_tokens)``: a real model call."""


def _words(text: str) -> int:
    """A deterministic token estimate: CJK characters count one each, other text by words."""
    cjk = len(re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", text))
    return cjk + len(re.findall(r"[A-Za-z0-9_]+", text)) or 1


@dataclass
class Steering:
    """What the branch planner wants the stand-in model to answer on this run.

    Attributes:
        classes: classifier node id -> the class id it should pick.
        texts: LLM node id -> text it should answer (to satisfy an if-else case downstream).
        params: parameter-extractor node id -> parameter name -> value.
    """

    classes: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ModelCall:
    """One call the hook answered: which node, the prompt messages' texts, and the usage."""

    node_id: str
    messages: list[tuple[str, str]]
    text: str
    prompt_tokens: int
    completion_tokens: int


class CallLog:
    """Calls made during one test run (thread-safe: graphon runs nodes on worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[ModelCall] = []

    def add(self, call: ModelCall) -> None:
        with self._lock:
            self.calls.append(call)


def _param_value(kind: str, name: str, options: Sequence[str]) -> Any:
    kind = (kind or "string").lower()
    if options:
        return options[0]
    if kind == "number":
        return 1
    if kind in ("bool", "boolean"):
        return True
    if kind.startswith("array"):
        inner = kind[6:-1] if kind.endswith("]") else "string"
        return [_param_value(inner, name, ())]
    if kind == "object":
        return {}
    return f"sample {name}"


def _message_text(message: PromptMessage) -> str:
    try:
        return message.get_text_content() or ""
    except Exception:  # noqa: BLE001 - a multimodal message without text parts
        return str(message.content or "")


class StandInModel:
    """``PreparedLLMProtocol`` for one node of one test run.

    Args:
        node_id: the node it serves.
        node_data: that node's DSL ``data`` (type, classes, parameters, model settings).
        steering: the planner's choices for this run.
        log: where each call is recorded.
        complete: a real model call; ``None`` answers offline.
    """

    def __init__(
        self,
        node_id: str,
        node_data: Mapping[str, Any],
        steering: Steering,
        log: CallLog,
        complete: Complete | None = None,
    ) -> None:
        self._node_id = node_id
        self._data = node_data
        self._steering = steering
        self._log = log
        self._complete = complete
        model = node_data.get("model") if isinstance(node_data.get("model"), Mapping) else {}
        self._provider = str(model.get("provider") or "offline")
        self._model = str(model.get("name") or "offline")
        self._mode = LLMMode.COMPLETION if model.get("mode") == "completion" else LLMMode.CHAT
        params = model.get("completion_params")
        self._parameters: dict[str, Any] = dict(params) if isinstance(params, Mapping) else {}

    # --- PreparedLLMProtocol -----------------------------------------------------------------
    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self._parameters

    @parameters.setter
    def parameters(self, value: Mapping[str, Any]) -> None:
        self._parameters = dict(value)

    @property
    def stop(self) -> Sequence[str] | None:
        stop = self._parameters.get("stop")
        return list(stop) if isinstance(stop, list) else None

    def get_model_schema(self) -> AIModelEntity:
        return AIModelEntity(
            model=self._model,
            label=I18nObject(en_US=self._model),
            model_type=ModelType.LLM,
            fetch_from=FetchFrom.PREDEFINED_MODEL,
            model_properties={ModelPropertyKey.MODE: self._mode.value, ModelPropertyKey.CONTEXT_SIZE: 128000},
        )

    def get_llm_num_tokens(self, prompt_messages: Sequence[PromptMessage]) -> int:
        return sum(_words(_message_text(m)) for m in prompt_messages)

    def invoke_llm(
        self,
        *,
        prompt_messages: Sequence[PromptMessage],
        model_parameters: Mapping[str, Any],
        tools: Sequence[Any] | None,
        stop: Sequence[str] | None,
        stream: bool,
    ) -> LLMResult | Generator[LLMResultChunk, None, None]:
        text, usage = self._answer(prompt_messages)
        message = AssistantPromptMessage(content=text)
        if not stream:
            return LLMResult(model=self._model, prompt_messages=list(prompt_messages), message=message, usage=usage)
        return self._chunks(prompt_messages, text, usage)

    def invoke_llm_with_structured_output(
        self,
        *,
        prompt_messages: Sequence[PromptMessage],
        json_schema: Mapping[str, Any],
        model_parameters: Mapping[str, Any],
        stop: Sequence[str] | None,
        stream: bool,
    ) -> Any:
        obj = {name: _param_value(str(spec.get("type", "string")), name, spec.get("enum") or ())
               for name, spec in (json_schema.get("properties") or {}).items() if isinstance(spec, Mapping)}
        text, usage = self._answer(prompt_messages, forced=json.dumps(obj, ensure_ascii=False))
        result = LLMResultWithStructuredOutput(
            model=self._model, prompt_messages=list(prompt_messages),
            message=AssistantPromptMessage(content=text), usage=usage, structured_output=obj,
        )
        if not stream:
            return result
        return iter([result])

    def is_structured_output_parse_error(self, error: Exception) -> bool:
        return isinstance(error, ValueError)

    # --- answers -----------------------------------------------------------------------------
    def _chunks(self, prompt_messages, text: str, usage: LLMUsage) -> Generator[LLMResultChunk, None, None]:
        yield LLMResultChunk(
            model=self._model,
            prompt_messages=list(prompt_messages),
            delta=LLMResultChunkDelta(index=0, message=AssistantPromptMessage(content=text),
                                      usage=usage, finish_reason="stop"),
        )

    def _answer(self, prompt_messages: Sequence[PromptMessage], forced: str | None = None) -> tuple[str, LLMUsage]:
        messages = [(str(getattr(m.role, "value", m.role)), _message_text(m)) for m in prompt_messages]
        system = "\n".join(t for r, t in messages if r == "system")
        user = "\n".join(t for r, t in messages if r != "system")
        offline = forced if forced is not None else self._offline_text(user)
        if self._complete is not None and forced is None and self._data.get("type") == "llm":
            text, prompt_tokens, completion_tokens = self._complete(system, user)
        else:
            text = offline
            prompt_tokens = sum(_words(t) for _, t in messages)
            completion_tokens = _words(text)
        self._log.add(ModelCall(self._node_id, messages, text, prompt_tokens, completion_tokens))
        return text, _usage(prompt_tokens, completion_tokens)

    def _offline_text(self, user: str) -> str:
        kind = self._data.get("type")
        if kind == "question-classifier":
            classes = [c for c in self._data.get("classes") or [] if isinstance(c, Mapping)]
            wanted = self._steering.classes.get(self._node_id)
            chosen = next((c for c in classes if str(c.get("id")) == wanted), classes[0] if classes else {})
            return json.dumps({"keywords": ["sample"], "category_id": str(chosen.get("id", "")),
                               "category_name": str(chosen.get("name", ""))}, ensure_ascii=False)
        if kind == "parameter-extractor":
            forced = self._steering.params.get(self._node_id, {})
            obj = {}
            for p in self._data.get("parameters") or []:
                if isinstance(p, Mapping) and p.get("name"):
                    name = str(p["name"])
                    obj[name] = forced.get(name, _param_value(str(p.get("type", "string")), name,
                                                             [str(o) for o in p.get("options") or []]))
            return json.dumps(obj, ensure_ascii=False)
        if self._node_id in self._steering.texts:
            return self._steering.texts[self._node_id]
        title = str(self._data.get("title") or "LLM")
        # Plausible but never an echo of the prompt (an echo would look like a repeated question).
        return f"[offline answer from {title}] A short, well-formed reply to {_words(user)} words of input."


def _usage(prompt_tokens: int, completion_tokens: int) -> LLMUsage:
    usage = LLMUsage.empty_usage()
    usage.prompt_tokens = prompt_tokens
    usage.completion_tokens = completion_tokens
    usage.total_tokens = prompt_tokens + completion_tokens
    usage.total_price = Decimal(0)
    return usage


class PromptSerializer:
    """``PromptMessageSerializerProtocol``: prompt messages as plain role/text dicts for the trace."""

    def serialize(self, *, model_mode: LLMMode, prompt_messages: Sequence[PromptMessage]) -> Any:
        return [{"role": str(getattr(m.role, "value", m.role)), "text": _message_text(m)} for m in prompt_messages]


class NoHistory:
    """``PromptMessageMemory`` for a test run: a fresh conversation has no earlier turns."""

    def get_history_prompt_messages(self, max_token_limit: int = 2000, message_limit: int | None = None):
        return []


def provider_completer(provider_config: Any, *, on_call: Callable[[Any], None] | None = None) -> Complete:
    """A ``Complete`` that sends an LLM node's prompt to the configured endpoint through ``core.llm``.

    The client's retries, fallback model and usage reading apply; every attempt's ``CallRecord`` goes
    to ``on_call`` (the pipeline records them in the ledger).
    """
    from core.llm.client import ChatClient

    client = ChatClient(provider_config)

    def complete(system: str, user: str) -> tuple[str, int, int]:
        records: list[Any] = []

        def note(record: Any) -> None:
            records.append(record)
            if on_call is not None:
                on_call(record)

        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
        answer = client.complete(agent="testrun", messages=messages, schema=None, on_call=note)
        return (answer.text, sum(r.prompt_tokens for r in records), sum(r.completion_tokens for r in records))

    return complete
