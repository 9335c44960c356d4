"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers from a script and injects faults.

Tests drive the real ``openai`` SDK (and so ``core.llm.ChatClient``) against it, the way simonw/llm's
``MockModel`` is scripted with ``enqueue()`` and inspected through ``history``.

Endpoints:
    ``POST /v1/chat/completions``  non-streaming JSON, or SSE when the body has ``"stream": true``
                                  (the usage arrives in a last chunk with empty ``choices`` when
                                  ``stream_options.include_usage`` is set, as OpenAI does).
    ``GET /v1/models``             the ids in ``server.models``.

Scripting (each helper returns a small dataclass; ``enqueue`` queues them, consumed one per request)::

    server.enqueue(reply('{"a": 1}', usage=(12, 5, 2)))   # content, (prompt, completion, cached) tokens
    server.enqueue(status(429, retry_after=2))            # also retry_after_ms=..., message=...
    server.enqueue(status(500), status(503))
    server.enqueue(delay(2.0))                            # sleep before answering (a read timeout)
    server.enqueue(drop())                                # close the connection without a response
    server.enqueue(malformed())                           # content that is not JSON
    server.enqueue(schema_invalid({"wrong": "shape"}))   # JSON that misses the expected schema
    server.enqueue(truncated('{"a": '))                   # finish_reason "length"
    server.enqueue(refusal("I can't help with that"))     # message.refusal set, content null
    server.enqueue(cut_stream('{"a": 1}'))                # a stream that breaks off mid-answer
    server.enqueue(endless('{"steps": ['))                # a generation that never ends (see below)
    server.set_responder(fn)                              # fn(request_json) -> Reply | str, when the queue is empty

``reply(..., usage=None)`` sends no usage object at all. ``reply(..., model="x")`` overrides the model
name in the response (default: the request's ``model``). With an empty queue and no responder the
server answers 400 "fake server: nothing scripted", so a test that asks for more than it scripted
fails loudly instead of hanging.

Server flags (attributes, may be changed between requests):
    ``json_schema_supported`` (default True): when False, a request with
        ``response_format.type == "json_schema"`` is answered 400 "response_format json_schema is not
        supported" without consuming the queue (llama.cpp / older vLLM behaviour).
    ``json_object_supported`` (default True): the same for ``{"type": "json_object"}`` (with or without
        a ``schema`` key).
    ``json_object_schema_supported`` (default True): when False, llama.cpp's grammar form
        ``{"type": "json_object", "schema": {...}}`` is refused (plain JSON mode still works).
    ``format_refusal_status`` (default 400): the status of those refusals. ``500`` answers the way
        llama-cpp-python's server does: HTTP 500 whose message is the pydantic error naming
        ``response_format`` ("Input should be 'text' or 'json_object'").

``endless(prefix)`` is a generation that never ends on its own (a grammar-constrained answer looping
until the context is full): a request with ``max_tokens`` (or ``max_completion_tokens``) gets that many
completion tokens of a JSON answer that never closes, with ``finish_reason: "length"``; a request
without a cap gets no answer at all until the client gives up (read timeout) and the server still
counts it as generating, as llama.cpp does: ``server.unfinished`` counts those requests.

Inspection:
    ``server.history``   every request as a ``RecordedRequest(method, path, body, headers)``; the
                         ``Authorization`` header is stored redacted (``"Bearer <redacted>"``).
    ``server.chat_requests``  the bodies of the chat completion requests, in order.
    ``server.reported_usage``  (prompt, completion, cached) summed over every response the server
                         sent with usage, so tests can compare against the client's CallRecords.

Fixture: ``fake_openai`` yields a started server and stops it afterwards; import it into a test
folder's ``conftest.py`` with ``from tests.fakes.openai_server import fake_openai  # noqa: F401``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

Usage = tuple[int, int, int]


@dataclass
class Reply:
    """A 200 chat completion answer."""

    content: str | None
    usage: Usage | None = (10, 5, 0)
    """(prompt, completion, cached) tokens reported; None sends no usage object."""
    finish_reason: str = "stop"
    model: str | None = None
    """Model name in the response; None echoes the request's model."""
    refusal: str | None = None
    cut_stream: bool = False
    """Streaming only: send the first chunks, then close the connection (no finish, no usage, no [DONE])."""


@dataclass
class Status:
    """An HTTP error answer in OpenAI's error shape."""

    code: int
    retry_after: float | None = None
    retry_after_ms: float | None = None
    message: str | None = None
    error_code: str | None = None
    """OpenAI's ``error.code``, e.g. ``insufficient_quota``."""


@dataclass
class Delay:
    """Wait ``seconds`` before answering with ``then`` (a client with a shorter timeout gives up).

    Without ``then`` the late answer carries no usage, so ``reported_usage`` only counts answers a
    client could have read.
    """

    seconds: float
    then: Reply | Status | None = None


@dataclass
class Drop:
    """Close the connection without sending any response."""


@dataclass
class Endless:
    """A generation that only a ``max_tokens`` cap ends; see ``endless``."""

    prefix: str = '{"steps": ['
    prompt_tokens: int = 100


Action = Reply | Status | Delay | Drop | Endless


def reply(
    content: str | None,
    usage: Usage | None = (10, 5, 0),
    finish_reason: str = "stop",
    model: str | None = None,
) -> Reply:
    """A successful answer with exactly the given usage numbers."""
    return Reply(content, usage=usage, finish_reason=finish_reason, model=model)


def status(
    code: int,
    retry_after: float | None = None,
    *,
    retry_after_ms: float | None = None,
    message: str | None = None,
    error_code: str | None = None,
) -> Status:
    """An HTTP error (429, 500, 503, 401, ...) with optional Retry-After / retry-after-ms headers."""
    return Status(code, retry_after=retry_after, retry_after_ms=retry_after_ms, message=message, error_code=error_code)


def delay(seconds: float, then: Reply | Status | None = None) -> Delay:
    """Answer late (after ``seconds``), so a client with a short read timeout times out."""
    return Delay(seconds, then)


def drop() -> Drop:
    """Close the connection without a response (the client sees a connection error)."""
    return Drop()


def malformed(text: str = "Sure! Here is the plan: {not json at all", usage: Usage | None = (10, 5, 0)) -> Reply:
    """Content that is not JSON."""
    return Reply(text, usage=usage)


def schema_invalid(obj: object, usage: Usage | None = (10, 5, 0)) -> Reply:
    """Valid JSON that does not match the schema the client expects."""
    return Reply(json.dumps(obj), usage=usage)


def truncated(content: str, usage: Usage | None = (10, 5, 0)) -> Reply:
    """An answer cut off at the output limit (``finish_reason == "length"``)."""
    return Reply(content, usage=usage, finish_reason="length")


def refusal(text: str, usage: Usage | None = (10, 5, 0)) -> Reply:
    """A refusal: ``message.refusal`` set and ``content`` null."""
    return Reply(None, usage=usage, refusal=text)


def endless(prefix: str = '{"steps": [', prompt_tokens: int = 100) -> Endless:
    """A generation that never ends by itself: cut at the request's ``max_tokens``, else never answered."""
    return Endless(prefix, prompt_tokens)


LLAMA_CPP_FORMAT_ERROR = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)
"""What llama-cpp-python's server says (with HTTP 500) to ``response_format: {"type": "json_schema"}``."""


def cut_stream(content: str) -> Reply:
    """A stream that breaks off after its first chunks; to a non-streaming request it is a ``drop()``."""
    return Reply(content, usage=None, cut_stream=True)


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    body: dict | None
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-cased header names; ``authorization`` is redacted."""


Responder = Callable[[dict], "Action | str"]


class FakeOpenAIServer:
    """An OpenAI-compatible server on a random free loopback port; see the module docstring."""

    def __init__(self, *, json_schema_supported: bool = True, json_object_supported: bool = True,
                 json_object_schema_supported: bool = True, format_refusal_status: int = 400,
                 echo_key_in_401: bool = False) -> None:
        self.json_schema_supported = json_schema_supported
        self.json_object_supported = json_object_supported
        self.json_object_schema_supported = json_object_schema_supported
        self.format_refusal_status = format_refusal_status
        self.echo_key_in_401 = echo_key_in_401
        """A 401 whose body repeats the key it refused, as some proxies and local servers do."""
        self.unfinished = 0
        """``endless()`` requests without an output cap: generations a real server would still be running."""
        self.models: list[str] = ["gpt-4o-mini", "fallback-model"]
        self.api_key: str | None = None
        """When set, requests without ``Authorization: Bearer <api_key>`` get a 401, as real servers do."""
        self.history: list[RecordedRequest] = []
        self._queue: deque[Action] = deque()
        self._responder: Responder | None = None
        self._reported: list[Usage] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` to the OpenAI SDK / ``ProviderConfig``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------
    def enqueue(self, *actions: Action | str) -> None:
        """Queue answers/faults, consumed one per chat request; a str is ``reply(str)``."""
        with self._lock:
            self._queue.extend(_as_action(a) for a in actions)

    def set_responder(self, fn: Responder | None) -> None:
        """Answer with ``fn(request_json)`` (a Reply/Status/... or a str) whenever the queue is empty."""
        self._responder = fn

    @property
    def pending(self) -> int:
        """How many queued actions have not been consumed yet."""
        return len(self._queue)

    # -- inspection ------------------------------------------------------------------------------
    @property
    def chat_requests(self) -> list[dict]:
        return [r.body or {} for r in self.history if r.path.endswith("/chat/completions")]

    @property
    def reported_usage(self) -> Usage:
        """(prompt, completion, cached) summed over every response sent with usage."""
        with self._lock:
            return tuple(sum(u[i] for u in self._reported) for i in range(3))  # type: ignore[return-value]

    # -- internals used by the handler -----------------------------------------------------------
    def _next_action(self, body: dict) -> Action:
        unsupported = _unsupported_format(self, body)
        if unsupported:
            if self.format_refusal_status == 500:
                return Status(500, message=LLAMA_CPP_FORMAT_ERROR)
            return Status(self.format_refusal_status, message=f"response_format {unsupported} is not supported")
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self._responder is not None:
            return _as_action(self._responder(body))
        return Status(400, message="fake server: nothing scripted for this request")

    def _record_usage(self, usage: Usage | None) -> None:
        if usage is not None:
            with self._lock:
                self._reported.append(usage)


def _as_action(action: Action | str) -> Action:
    return Reply(action) if isinstance(action, str) else action


def _unsupported_format(server: FakeOpenAIServer, body: dict) -> str | None:
    fmt = body.get("response_format") or {}
    kind = fmt.get("type")
    if kind == "json_schema" and not server.json_schema_supported:
        return "json_schema"
    if kind == "json_object" and not server.json_object_supported:
        return "json_object"
    if kind == "json_object" and "schema" in fmt and not server.json_object_schema_supported:
        return "json_object with a schema"
    return None


def _usage_json(usage: Usage) -> dict:
    prompt, completion, cached = usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def _completion_json(answer: Reply, model: str) -> dict:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content, "refusal": answer.refusal},
                "finish_reason": answer.finish_reason,
            }
        ],
    }
    if answer.usage is not None:
        body["usage"] = _usage_json(answer.usage)
    return body


def _stream_chunks(answer: Reply, model: str, include_usage: bool) -> list[dict]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    text = answer.content or ""
    step = max(1, len(text) // 3)
    for i in range(0, len(text), step):
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": text[i : i + step]}}]})
    if answer.refusal is not None:
        chunks.append({**base, "choices": [{"index": 0, "delta": {"refusal": answer.refusal}}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": answer.finish_reason}]})
    if include_usage and answer.usage is not None:
        chunks.append({**base, "choices": [], "usage": _usage_json(answer.usage)})
    return chunks


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall per call

        def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
            return

        def _record(self, body: dict | None) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            if "authorization" in headers:
                headers["authorization"] = "Bearer <redacted>"
            with server._lock:
                server.history.append(RecordedRequest(self.command, self.path, body, headers))

        def _send_json(self, code: int, payload: dict, extra_headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _refuse_key(self) -> bool:
            if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return False
            message = "Incorrect API key provided."
            if server.echo_key_in_401:
                sent = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                message = f"Incorrect API key provided: {sent}. You can find your API key in your account."
            self._send_json(401, {"error": {"message": message, "type": "invalid_request_error"}})
            return True

        def do_GET(self) -> None:
            self._record(None)
            if self._refuse_key():
                return
            if self.path.rstrip("/").endswith("/models"):
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in server.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._record(None)
                self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
                return
            self._record(body)
            if self._refuse_key():
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                return
            try:
                self._act(server._next_action(body), body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (read timeout); nothing left to answer

        def _act(self, action: Action, body: dict) -> None:
            if isinstance(action, Endless):
                cap = body.get("max_tokens") or body.get("max_completion_tokens")
                if not cap:
                    with server._lock:
                        server.unfinished += 1
                    server._stopping.wait()  # "still generating" until the server stops; the client times out
                    return
                text = action.prefix + '{"x": 1}, ' * max(1, int(cap) // 6)
                action = Reply(text, usage=(action.prompt_tokens, int(cap), 0), finish_reason="length")
            if isinstance(action, Delay):
                if server._stopping.wait(action.seconds):
                    return
                action = action.then or Reply('{"ok": true}', usage=None)
            if isinstance(action, Drop) or (isinstance(action, Reply) and action.cut_stream and not body.get("stream")):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, Status):
                self._send_status(action)
                return
            self._send_reply(action, body)

        def _send_status(self, fault: Status) -> None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            if fault.retry_after_ms is not None:
                headers["retry-after-ms"] = f"{fault.retry_after_ms:g}"
            message = fault.message or f"fake server: scripted HTTP {fault.code}"
            error = {"message": message, "type": "fake_error", "code": fault.error_code}
            self._send_json(fault.code, {"error": error}, headers)

        def _send_reply(self, answer: Reply, body: dict) -> None:
            model = answer.model or body.get("model") or "unknown"
            if not body.get("stream"):
                server._record_usage(answer.usage)
                self._send_json(200, _completion_json(answer, model))
                return
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            if include_usage:
                server._record_usage(answer.usage)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.close_connection = True
            self.end_headers()
            chunks = _stream_chunks(answer, model, include_usage)
            if answer.cut_stream:
                chunks = chunks[:2]
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if answer.cut_stream:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


@pytest.fixture
def fake_openai():
    """A started ``FakeOpenAIServer`` for one test; stopped afterwards. The client's process-wide memory
    of what each endpoint accepts is cleared first (a new server may reuse an old one's port)."""
    from core.llm.client import forget_structured_levels

    forget_structured_levels()
    with FakeOpenAIServer() as server:
        yield server
