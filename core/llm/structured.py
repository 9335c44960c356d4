"""Structured output: the request side (response_format per mode) and the answer side (JSON -> model).

Modes, from most to least capable server: ``json_schema`` (the pydantic JSON schema is sent as
``response_format``), ``json_object`` (JSON mode) and ``text`` (the schema goes in the prompt and
the first JSON object is cut out of the answer). The schema is sent with ``strict: False``: our
agent types use optional fields, defaults and free-form dicts, which OpenAI's strict mode rejects,
and local servers use the schema for guided decoding either way. Pydantic validates every answer
on our side, and the client re-asks once with the validation error.
"""

from __future__ import annotations

import functools
import json
import re

from pydantic import BaseModel, ValidationError

MODES = ("json_schema", "json_object", "text")

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class InvalidAnswer(ValueError):
    """The answer is not JSON, or not JSON of the expected schema; the message says why."""


def next_mode(mode: str) -> str | None:
    """The simpler mode to try after ``mode`` was rejected by the server, or None."""
    index = MODES.index(mode)
    return MODES[index + 1] if index + 1 < len(MODES) else None


@functools.lru_cache(maxsize=64)
def _json_schema(schema: type[BaseModel]) -> dict:
    """``schema.model_json_schema()``, computed once per type (it costs ~25 ms per call)."""
    return schema.model_json_schema()


def response_format(schema: type[BaseModel], mode: str) -> dict | None:
    """The ``response_format`` request parameter for ``mode`` (None in text mode)."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": _schema_name(schema), "schema": _json_schema(schema), "strict": False},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def schema_instruction(schema: type[BaseModel]) -> str:
    """The system-prompt sentence that asks for JSON of ``schema`` (needed by JSON mode and text mode)."""
    return (
        "Answer with one JSON object only, no prose and no code fences, matching this JSON schema:\n"
        + json.dumps(_json_schema(schema), separators=(",", ":"))
    )


def with_instruction(messages: list[dict], instruction: str) -> list[dict]:
    """A copy of ``messages`` whose first system message ends with ``instruction`` (added when absent)."""
    out = [dict(m) for m in messages]
    for message in out:
        if message.get("role") == "system" and isinstance(message.get("content"), str):
            message["content"] = f"{message['content']}\n\n{instruction}"
            return out
    return [{"role": "system", "content": instruction}, *out]


def extract_json(text: str) -> object:
    """The JSON value in ``text``: the whole text, else a fenced block, else the first JSON object.

    Raises:
        InvalidAnswer: no JSON object could be found.
    """
    stripped = text.strip()
    candidates = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(stripped))]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", stripped):
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except json.JSONDecodeError:
            continue
        return value
    raise InvalidAnswer("the answer contains no JSON object")


def parse_answer(text: str | None, schema: type[BaseModel]) -> BaseModel:
    """Validate the model's answer against ``schema``.

    Raises:
        InvalidAnswer: empty, not JSON, or not matching the schema (the pydantic errors, shortened).
    """
    if not text or not text.strip():
        raise InvalidAnswer("the answer was empty")
    value = extract_json(text)
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        raise InvalidAnswer(_short_errors(exc)) from exc


def _short_errors(exc: ValidationError, limit: int = 8) -> str:
    lines = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        lines.append(f"{where}: {error['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        lines.append(f"... and {more} more")
    return "the JSON does not match the schema: " + "; ".join(lines)


def _schema_name(schema: type[BaseModel]) -> str:
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", schema.__name__)
    return name[:64] or "answer"
