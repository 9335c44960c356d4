"""Error classification: every openai SDK exception mapped, in one place, to a ledger category."""

from __future__ import annotations

import email.utils
import re
import threading
import time
from dataclasses import dataclass

import openai

from core.errors import ProviderError

RETRY_AFTER_CAP_S = 30.0
"""Longest Retry-After we honour; a server asking for more gets this (then the fallback model)."""

RETRYABLE_STATUS = frozenset({408, 409, 429})

FORMAT_REFUSAL_STATUS = frozenset({400, 422, 500})
"""Statuses with which servers refuse a ``response_format`` they lack: OpenAI-style 400, FastAPI's 422
(vLLM, LM Studio), and llama-cpp-python's 500 ("Input should be 'text' or 'json_object'")."""

REDACTED = "[REDACTED]"

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_MIN_SECRET_LEN = 8
"""Shorter values (``not-needed``-style placeholders aside) are too likely to occur in ordinary text."""


def remember_secret(value: str | None) -> None:
    """Register a key value (the configured API key) so ``redact_secrets`` masks it in every message."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact_secrets(text: str | None) -> str:
    """``text`` with every remembered key value replaced by ``[REDACTED]`` (longest first).

    An endpoint that echoes the key it refused ("Incorrect API key provided: sk-...") must not make the
    CLI, a page, the ledger or a log show it.
    """
    if not text:
        return text or ""
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class Classified:
    """What an exception means for the caller."""

    category: str
    """One of ``core.errors.ERROR_CATEGORIES``."""
    retryable: bool
    message: str
    status_code: int | None = None
    retry_after_s: float | None = None
    """The server's Retry-After (or retry-after-ms), capped at ``RETRY_AFTER_CAP_S``."""
    response_format_unsupported: bool = False
    """A 400/422/500 that names response_format / json_schema / json_object: try a simpler output mode."""


class AttemptFailed(ProviderError):
    """One attempt failed; carries the classification so the retry policy can decide."""

    def __init__(self, info: Classified) -> None:
        super().__init__(info.message, category=info.category, status_code=info.status_code)
        self.info = info


class ModelRefused(ProviderError):
    """The model refused to answer (``message.refusal`` or ``finish_reason == "content_filter"``).

    Category ``invalid_output``: the call worked but gave nothing usable. Not retried: the same
    prompt would be refused again.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, category="invalid_output")


class IncompleteStream(Exception):
    """A streamed answer ended (or the connection broke) before its finish; retried as ``connection``.

    ``answer`` holds what arrived, so any usage already sent is still recorded.
    """

    def __init__(self, answer: object, reason: str) -> None:
        super().__init__(reason)
        self.answer = answer


def incomplete_stream(reason: str) -> Classified:
    """The classification of an ``IncompleteStream``."""
    return Classified("connection", True, f"The answer stream broke off before the end ({reason}).")


_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|structured output|response format", re.I)


def classify(exc: BaseException) -> Classified:
    """Map an exception from the openai SDK to a category and whether to retry it.

    Args:
        exc: what ``chat.completions.create`` (or reading its stream) raised.

    Returns:
        The classification; unknown exceptions are ``connection`` errors that are retried, since
        they come from the transport (the SDK wraps everything it understands). Remembered key values
        are masked in the message.
    """
    info = _classify(exc)
    message = redact_secrets(info.message)
    if message == info.message:
        return info
    return Classified(info.category, info.retryable, message, info.status_code, info.retry_after_s,
                      info.response_format_unsupported)


def _classify(exc: BaseException) -> Classified:
    if isinstance(exc, openai.APITimeoutError):
        return Classified("timeout", True, "The model endpoint did not answer in time (read timeout).")
    if isinstance(exc, openai.APIConnectionError):
        return Classified("connection", True, f"Could not reach the model endpoint: {_cause(exc)}.")
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc)
    if isinstance(exc, openai.APIResponseValidationError):
        return Classified("server", True, "The model endpoint sent a response the SDK could not read.")
    return Classified("connection", True, f"The model call failed: {type(exc).__name__}: {exc}")


def _classify_status(exc: openai.APIStatusError) -> Classified:
    code = exc.status_code
    detail = _error_message(exc)
    retry_after = retry_after_seconds(exc.response.headers)
    if code in (401, 403):
        return Classified(
            "auth", False,
            f"The model endpoint refused the API key (HTTP {code}: {detail}). "
            "Check OPENAI_API_KEY / DIFYFORGE_API_KEY and the base URL.",
            code,
        )
    if code == 429:
        if _error_code(exc) == "insufficient_quota":
            return Classified("rate_limit", False, f"The account's quota is used up (HTTP 429: {detail}).", code)
        return Classified("rate_limit", True, f"Rate limited by the model endpoint (HTTP 429: {detail}).", code, retry_after)
    if code in RETRYABLE_STATUS:
        category = "timeout" if code == 408 else "server"
        return Classified(category, True, f"The model endpoint answered HTTP {code}: {detail}.", code, retry_after)
    if code in FORMAT_REFUSAL_STATUS and _FORMAT_WORDS.search(_full_text(exc)):
        # deterministic: the same request is refused again, so it is never retried as it is
        return Classified("bad_request", False, f"The model endpoint refused the structured-output request "
                          f"(HTTP {code}: {detail}).", code, response_format_unsupported=True)
    if code >= 500:
        return Classified("server", True, f"The model endpoint had a server error (HTTP {code}: {detail}).", code, retry_after)
    return Classified("bad_request", False, f"The model endpoint rejected the request (HTTP {code}: {detail}).", code)


def retry_after_seconds(headers) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``Retry-After`` (seconds or a date).

    Returns:
        The wait capped at ``RETRY_AFTER_CAP_S``, or None when the server gave none (or nonsense).
    """
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            seconds = _date_delay(value) if name == "retry-after" else None
        if seconds is not None and seconds >= 0:
            return min(seconds, RETRY_AFTER_CAP_S)
    return None


def _date_delay(value: str) -> float | None:
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body  # the SDK hands over the "error" object when the body has one
    if isinstance(body, dict):
        inner = body.get("error")
        message = (inner if isinstance(inner, dict) else body).get("message")
        if message:
            return str(message)[:300]
    return (exc.message or "no details")[:300]


def _full_text(exc: openai.APIStatusError) -> str:
    """Everything the error says (message and body, untruncated): FastAPI's 422 ``detail`` lists the
    field path (``body.response_format.type``) after a long preamble."""
    return f"{exc.message or ''} {exc.body!s}"


def _error_code(exc: openai.APIStatusError) -> str | None:
    return exc.code if isinstance(getattr(exc, "code", None), str) else None


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = f"{type(cause).__name__}: {cause}" if cause else str(exc)
    return text.rstrip(".")
