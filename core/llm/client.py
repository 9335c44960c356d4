"""The model client: one chat call through any OpenAI-compatible endpoint, with retries, fallback,
structured output, usage on every attempt, and the run's budget.

Policy, in order: each attempt is one HTTP request and one ``CallRecord`` handed to ``on_call`` at
once (tokens included, also when parsing fails). Transient failures (408/409/429/5xx, timeouts,
connection errors) are retried with tenacity (exponential backoff with jitter, Retry-After honoured)
up to ``max_attempts`` per model. A 400 about ``response_format`` makes an ``auto`` client step down
to a simpler structured-output mode and remember it; a 400 about ``temperature`` (reasoning models
accept only their default) makes the client stop sending it. An invalid or truncated answer is re-asked once
with the problem spelled out. When a model gives up, the fallback model (if any) gets the same.

A refused ``response_format`` (400, 422 or 500 naming it) steps down the structured-output ladder at once,
without retries, and the level that worked is remembered for the endpoint and model for the whole
process. Each call may carry ``max_tokens`` (the agents size it to their schema). A read timeout is
retried once only: the server may still be generating the first answer (local servers do not cancel
it), so a second request queues behind it; a second timeout ends the call without a fallback.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2  # the openai SDK's HTTP library (pinned with it): raised raw while reading a stream
import openai
import tenacity
from pydantic import BaseModel

from core.config import ProviderConfig
from core.errors import BudgetExceeded, ProviderError, UnparseableModelOutput
from core.llm.budget import RunBudget
from core.llm.errors import (
    AttemptFailed,
    Classified,
    IncompleteStream,
    ModelRefused,
    classify,
    incomplete_stream,
    redact_secrets,
    remember_secret,
)
from core.llm.structured import (
    InvalidAnswer,
    first_level,
    next_mode,
    parse_answer,
    response_format,
    schema_instruction,
    with_instruction,
)
from core.usage import CallRecord

NO_KEY = "not-needed"
"""Sent as the API key to endpoints configured without one (Ollama, vLLM, llama.cpp, LM Studio)."""

_backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=20, jitter=0.5)

MAX_TIMEOUTS_PER_CALL = 2
"""Read timeouts one ``complete()`` call accepts: the first is retried once, the second ends the call."""

_LEVELS: dict[tuple[str, str, str], str] = {}
"""(base_url, model, setting) -> the structured-output level that endpoint accepted, for the process."""
_LEVELS_LOCK = threading.Lock()


def forget_structured_levels() -> None:
    """Forget what every endpoint accepted (tests start each fake server fresh)."""
    with _LEVELS_LOCK:
        _LEVELS.clear()


@dataclass
class Completion:
    """The answer of one ``complete()`` call."""

    parsed: BaseModel | None
    """The validated object when a schema was given."""
    text: str
    model: str
    """The model that gave the answer (the fallback model when it had to step in)."""
    calls: list[CallRecord] = field(default_factory=list)
    """Every attempt this answer took, in order, as also passed to ``on_call``."""


@dataclass
class _Answer:
    text: str | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    usage: object | None = None


@dataclass
class _Outcome:
    answer: _Answer
    parsed: BaseModel | None
    problem: str | None
    """Why the answer is unusable (invalid JSON, schema mismatch, cut off), None when it is fine."""


@dataclass
class _Run:
    """The state of one ``complete()`` call: the attempt counter and the records so far."""

    agent: str
    on_call: Callable[[CallRecord], None]
    calls: list[CallRecord] = field(default_factory=list)
    attempt: int = 0
    timeouts: int = 0
    max_tokens: int | None = None

    def emit(self, record: CallRecord) -> None:
        self.calls.append(record)
        self.on_call(record)


@functools.lru_cache(maxsize=1)
def _shared_http_client() -> httpx2.Client:
    """One connection pool per process: building its TLS context alone costs ~20 ms. Timeouts are
    set per request by each client, so clients with different settings share it safely."""
    return openai.DefaultHttpxClient()


class ChatClient:
    """Chat completions through an OpenAI-compatible endpoint (OpenAI, Azure, Ollama, vLLM, ...).

    Args:
        provider_config: endpoint, key, model, fallback model, timeout, temperature, attempts and
            structured-output mode (``auto`` detects what the server supports and remembers it).
        budget: the run's limits; charged with every attempt.
        sleep: how to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        provider_config: ProviderConfig,
        *,
        budget: RunBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = provider_config
        self.budget = budget
        self._sleep = sleep
        self._setting = provider_config.structured_output
        self._endpoint = (provider_config.base_url or "https://api.openai.com/v1", provider_config.model, self._setting)
        with _LEVELS_LOCK:
            self._mode = _LEVELS.get(self._endpoint) or first_level(self._setting)
        self._send_temperature = True
        self._max_tokens_param = "max_tokens"
        remember_secret(provider_config.api_key)
        self._sdk = openai.OpenAI(
            base_url=provider_config.base_url,
            api_key=provider_config.api_key or NO_KEY,
            max_retries=0,
            timeout=provider_config.timeout_s,
            http_client=_shared_http_client(),
        )

    def close(self) -> None:
        """Nothing to release: the HTTP connection pool is shared by every client of the process."""

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def structured_mode(self) -> str:
        """The structured-output level the next schema call uses (one of ``structured.LEVELS``)."""
        return self._mode

    def complete(
        self,
        *,
        agent: str,
        messages: list[dict],
        schema: type[BaseModel] | None,
        on_call: Callable[[CallRecord], None],
        stream: bool = False,
        max_tokens: int | None = None,
    ) -> Completion:
        """Ask the model; return its answer, validated against ``schema`` when one is given.

        Args:
            agent: who asks (recorded on every CallRecord).
            messages: OpenAI-style chat messages.
            schema: the pydantic type the answer must match, or None for free text.
            on_call: receives every attempt's CallRecord the moment it is known.
            stream: stream the answer (usage is read from the stream's last chunk).
            max_tokens: the longest answer, in tokens (None: the server's own limit).

        Raises:
            BudgetExceeded: the run's budget refused a call or was crossed by one.
            ModelRefused: the model refused (category ``invalid_output``).
            UnparseableModelOutput: no valid answer, even after one repair ask (and the fallback).
            ProviderError: the endpoint kept failing (category says how) after retries and fallback.
        """
        run = _Run(agent, on_call, max_tokens=max_tokens)
        models = [(self.config.model, False)]
        if self.config.fallback_model and self.config.fallback_model != self.config.model:
            models.append((self.config.fallback_model, True))
        failure: ProviderError | None = None
        for model, is_fallback in models:
            try:
                return self._complete_with(run, model, is_fallback, messages, schema, stream)
            except (BudgetExceeded, ModelRefused):
                raise
            except ProviderError as exc:
                failure = exc
                if not _worth_fallback(exc) or run.timeouts >= MAX_TIMEOUTS_PER_CALL:
                    break
        assert failure is not None
        raise _final_error(failure, run)

    # -- one model: repair ask -------------------------------------------------------------------
    def _complete_with(self, run, model, is_fallback, messages, schema, stream) -> Completion:
        conversation = list(messages)
        outcome = self._call_with_retries(run, model, is_fallback, conversation, schema, stream)
        if outcome.problem is not None:
            conversation = _repair_conversation(conversation, outcome, schema)
            outcome = self._call_with_retries(run, model, is_fallback, conversation, schema, stream)
        if outcome.problem is not None:
            raise UnparseableModelOutput(
                f"The model {model!r} gave no usable answer, even after being asked again: {outcome.problem}."
            )
        return Completion(outcome.parsed, outcome.answer.text or "", model, list(run.calls))

    # -- one ask: retries and structured-output downgrade ------------------------------------------
    def _call_with_retries(self, run, model, is_fallback, conversation, schema, stream) -> _Outcome:
        while True:
            retrying = tenacity.Retrying(
                stop=tenacity.stop_after_attempt(max(1, self.config.max_attempts)),
                wait=_wait,
                retry=tenacity.retry_if_exception(lambda e: isinstance(e, AttemptFailed) and e.info.retryable),
                sleep=self._sleep,
                reraise=True,
            )
            try:
                return retrying(self._attempt, run, model, is_fallback, conversation, schema, stream)
            except AttemptFailed as exc:
                if not self._adapt_to(exc, schema):
                    raise

    def _adapt_to(self, exc: AttemptFailed, schema: type[BaseModel] | None) -> bool:
        """Change what we send after a 400 that names a parameter the server lacks; True when changed.

        The change is remembered for every later call of this client.
        """
        simpler = next_mode(self._mode, self._setting)
        message = exc.info.message.lower()
        if exc.info.response_format_unsupported and schema and simpler:
            self._mode = simpler
            with _LEVELS_LOCK:
                _LEVELS[self._endpoint] = simpler
            return True
        if exc.info.status_code == 400 and "temperature" in message and self._send_temperature:
            self._send_temperature = False
            return True
        if (exc.info.status_code == 400 and "max_completion_tokens" in message
                and self._max_tokens_param == "max_tokens"):
            self._max_tokens_param = "max_completion_tokens"  # reasoning models renamed the parameter
            return True
        return False

    # -- one attempt: one HTTP request, one CallRecord ------------------------------------------
    def _attempt(self, run, model, is_fallback, conversation, schema, stream) -> _Outcome:
        run.attempt += 1
        request = self._request(model, conversation, schema, run.max_tokens)
        record = CallRecord(
            agent=run.agent, provider=self.config.kind, model=model, attempt=run.attempt,
            is_fallback=is_fallback, prompt_text=render_messages(request["messages"]),
        )
        if schema is not None:
            record.extra["structured_output"] = self._mode
        if self.budget is not None:
            try:
                self.budget.check_before_call()
            except BudgetExceeded as exc:
                _fail(record, "budget", str(exc))
                run.emit(record)
                raise
        started = time.perf_counter()
        try:
            answer = self._send(request, stream)
        except (openai.OpenAIError, IncompleteStream) as exc:
            record.latency_ms = (time.perf_counter() - started) * 1000
            if isinstance(exc, IncompleteStream):
                info = incomplete_stream(str(exc))
                _fill_usage(record, exc.answer)
            else:
                info = classify(exc)
            if isinstance(exc, openai.APITimeoutError):
                info = _count_timeout(run, info, self.config.timeout_s)
            _fail(record, info.category, info.message)
            if info.status_code is not None:
                record.extra["status_code"] = info.status_code
            self._finish(run, record)
            raise AttemptFailed(info) from exc
        record.latency_ms = (time.perf_counter() - started) * 1000
        _fill_usage(record, answer)
        outcome = _interpret(answer, schema)
        if answer.refusal is not None or answer.finish_reason == "content_filter":
            reason = answer.refusal or "the endpoint's content filter stopped the answer"
            _fail(record, "invalid_output", f"the model refused: {reason}")
            self._finish(run, record)
            raise ModelRefused(f"The model {model!r} refused: {reason}")
        if outcome.problem is not None:
            _fail(record, "invalid_output", outcome.problem)
        self._finish(run, record)
        return outcome

    def _finish(self, run: _Run, record: CallRecord) -> None:
        """Record first, then charge: a call that crosses the budget is still in the ledger."""
        run.emit(record)
        if self.budget is not None:
            self.budget.charge(record)

    def _request(self, model: str, conversation: list[dict], schema: type[BaseModel] | None,
                 max_tokens: int | None) -> dict:
        request: dict = {"model": model, "messages": conversation}
        if self._send_temperature:
            request["temperature"] = self.config.temperature
        if max_tokens:
            request[self._max_tokens_param] = max_tokens
        if schema is not None:
            fmt = response_format(schema, self._mode)
            if fmt is not None:
                request["response_format"] = fmt
            # in every mode: guided decoding alone lets a small model skip every optional field
            request["messages"] = with_instruction(conversation, schema_instruction(schema))
        return request

    def _send(self, request: dict, stream: bool) -> _Answer:
        if not stream:
            response = self._sdk.chat.completions.create(**request)
            choice = response.choices[0] if response.choices else None
            message = choice.message if choice else None
            return _Answer(
                text=message.content if message else None,
                refusal=getattr(message, "refusal", None) if message else None,
                finish_reason=choice.finish_reason if choice else None,
                response_model=response.model,
                usage=response.usage,
            )
        return self._read_stream(request)

    def _read_stream(self, request: dict) -> _Answer:
        """Stream the answer, keeping the usage of the last chunk; a stream without a finish is incomplete."""
        answer = _Answer()
        parts: list[str] = []
        refusal: list[str] = []
        chunks = self._sdk.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
        try:
            with chunks:
                for chunk in chunks:
                    answer.response_model = chunk.model or answer.response_model
                    if chunk.usage is not None:
                        answer.usage = chunk.usage
                    for choice in chunk.choices:
                        parts.append(choice.delta.content or "")
                        refusal.append(getattr(choice.delta, "refusal", None) or "")
                        answer.finish_reason = choice.finish_reason or answer.finish_reason
        except httpx2.TransportError as exc:
            answer.text = "".join(parts)
            raise IncompleteStream(answer, f"{type(exc).__name__}: {exc}") from exc
        answer.text = "".join(parts) if parts else None
        answer.refusal = "".join(refusal) or None
        if answer.finish_reason is None:
            raise IncompleteStream(answer, "no finish_reason arrived")
        return answer


def render_messages(messages: list[dict]) -> str:
    """Chat messages as readable text for the ledger (``role: content`` blocks)."""
    blocks = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        blocks.append(f"{message.get('role', '?')}: {content or ''}")
    return "\n\n".join(blocks)


def _wait(retry_state: tenacity.RetryCallState) -> float:
    """Retry-After when the server sent one (already capped), else exponential backoff with jitter."""
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(exc, AttemptFailed) and exc.info.retry_after_s is not None:
        return exc.info.retry_after_s
    return _backoff(retry_state)


def _fail(record: CallRecord, category: str, message: str) -> None:
    record.outcome = "error"
    record.error_category = category
    record.error_message = message


def _fill_usage(record: CallRecord, answer: _Answer) -> None:
    record.response_text = answer.text if answer.text is not None else answer.refusal
    if answer.response_model and answer.response_model != record.model:
        record.extra["response_model"] = answer.response_model
    if answer.finish_reason:
        record.extra["finish_reason"] = answer.finish_reason
    usage = answer.usage
    if usage is None:
        record.extra["usage"] = "missing: the endpoint reported no token usage for this call"
        return
    record.prompt_tokens = usage.prompt_tokens or 0
    record.completion_tokens = usage.completion_tokens or 0
    details = getattr(usage, "prompt_tokens_details", None)
    record.cached_tokens = (getattr(details, "cached_tokens", None) or 0) if details else 0


def _interpret(answer: _Answer, schema: type[BaseModel] | None) -> _Outcome:
    if answer.finish_reason == "length":
        return _Outcome(answer, None, "the answer was cut off at the output token limit (finish_reason=length)")
    if schema is None:
        problem = None if (answer.text or "").strip() or answer.refusal else "the answer was empty"
        return _Outcome(answer, None, problem)
    if answer.refusal is not None:
        return _Outcome(answer, None, None)
    try:
        return _Outcome(answer, parse_answer(answer.text, schema), None)
    except InvalidAnswer as exc:
        return _Outcome(answer, None, str(exc))


def _repair_conversation(conversation: list[dict], outcome: _Outcome, schema: type[BaseModel] | None) -> list[dict]:
    """The conversation plus the bad answer and a user message saying what was wrong with it."""
    wanted = "valid JSON only, matching the schema" if schema is not None else "a complete answer"
    if outcome.answer.finish_reason == "length":
        ask = f"Your previous answer was cut off at the output token limit. Answer again, shorter, with {wanted}."
    else:
        ask = f"Your previous answer could not be used: {outcome.problem}. Answer again with {wanted}."
    return [*conversation, {"role": "assistant", "content": outcome.answer.text or ""}, {"role": "user", "content": ask}]


def _worth_fallback(exc: ProviderError) -> bool:
    """Transient trouble, a missing model and unusable answers may go better with another model."""
    if isinstance(exc, UnparseableModelOutput):
        return True
    if isinstance(exc, AttemptFailed):
        return exc.info.retryable or exc.info.status_code == 404
    return False


def _count_timeout(run: _Run, info: Classified, timeout_s: float) -> Classified:
    """A read timeout: retried once (the record says so); the second one is final."""
    run.timeouts += 1
    if run.timeouts < MAX_TIMEOUTS_PER_CALL:
        return Classified(info.category, True, f"The model endpoint did not answer in time (read timeout after "
                          f"{timeout_s:g} s); retried once, the only retry a timeout gets.")
    return Classified(info.category, False,
                      f"The model endpoint did not answer in time, twice (read timeout after {timeout_s:g} s each). "
                      "Not retried again: the server may still be generating the first answers. Raise "
                      "DIFYFORGE_TIMEOUT for a slow local model, or lower DIFYFORGE_MAX_OUTPUT_TOKENS.")


def _final_error(exc: ProviderError, run: _Run) -> ProviderError:
    """The error the caller sees: the last failure, plus how many attempts were made; no key value in it."""
    summary = f" ({run.attempt} attempt{'s' if run.attempt != 1 else ''} in this call)"
    message = redact_secrets(f"{exc}{summary}")
    if isinstance(exc, UnparseableModelOutput):
        return UnparseableModelOutput(message)
    return ProviderError(message, category=exc.category, status_code=exc.status_code)


@dataclass(frozen=True)
class ProviderHealth:
    """What one cheap ``GET /models`` said about the configured endpoint."""

    ok: bool
    message: str
    models: tuple[str, ...] = ()


def check_provider(config: ProviderConfig, *, timeout_s: float = 5.0) -> ProviderHealth:
    """Is the model endpoint reachable, and does it accept the key? One ``GET /models``, no retries.

    Args:
        config: the provider settings (the key is sent, never returned or logged).
        timeout_s: the longest to wait; the settings' own timeout is used when shorter.

    Returns:
        The verdict with a message for the settings page; never raises for network or HTTP errors.
    """
    if config.kind == "offline":
        return ProviderHealth(True, "Offline brain: deterministic rules, no endpoint or key needed.")
    remember_secret(config.api_key)
    sdk = openai.OpenAI(
        base_url=config.base_url,
        api_key=config.api_key or NO_KEY,
        max_retries=0,
        timeout=min(timeout_s, config.timeout_s),
        http_client=_shared_http_client(),
    )
    where = config.base_url or "the OpenAI API"
    try:
        models = tuple(sorted(m.id for m in sdk.models.list().data))
    except openai.OpenAIError as exc:
        verdict = classify(exc)
        return ProviderHealth(False, f"{where} is not usable ({verdict.category}): {verdict.message}")
    if models and config.model not in models:
        return ProviderHealth(
            True,
            f"{where} answers, but lists no model {config.model!r} ({len(models)} models offered). "
            "Check the model name.",
            models,
        )
    return ProviderHealth(True, f"{where} answers and offers {config.model!r}.", models)
