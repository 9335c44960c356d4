"""Structured output: the request side (response_format per mode) and the answer side (JSON -> model).

Levels, from most to least capable server: ``json_schema`` (the pydantic JSON schema is sent as
``response_format``), ``json_object+schema`` (llama.cpp's grammar form ``{"type": "json_object",
"schema": ...}``: JSON mode constrained by the schema), ``json_object`` (plain JSON mode) and ``text``
(the first JSON object is cut out of the answer). The setting (``DIFYFORGE_STRUCTURED_OUTPUT``) picks
where to start and how far a refusal may step down: ``auto`` walks the whole ladder, ``json_object``
tries the grammar form then plain JSON mode, ``json_schema`` and ``text`` never change.

Whatever the level, the prompt describes the expected fields (``describe_fields``: names, types, one
line each): guided decoding alone makes a small model fill the required keys and guess the rest.

The schema is sent with ``strict: False``: our agent types use optional fields, defaults and free-form
dicts, which OpenAI's strict mode rejects, and local servers use the schema for guided decoding either
way. Pydantic validates every answer on our side, and the client re-asks once with the validation error.
"""

from __future__ import annotations

import functools
import json
import re

from pydantic import BaseModel, ValidationError

SETTINGS = ("auto", "json_schema", "json_object", "text")
"""Values of ``DIFYFORGE_STRUCTURED_OUTPUT``."""
LEVELS = ("json_schema", "json_object+schema", "json_object", "text")
"""What is sent, most capable first."""
_LADDER = {
    "auto": LEVELS,
    "json_schema": ("json_schema",),
    "json_object": ("json_object+schema", "json_object"),
    "text": ("text",),
}

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class InvalidAnswer(ValueError):
    """The answer is not JSON, or not JSON of the expected schema; the message says why."""


def first_level(setting: str) -> str:
    """The level a client with ``setting`` (one of ``SETTINGS``) starts at."""
    return _LADDER[setting][0]


def next_mode(mode: str, setting: str = "auto") -> str | None:
    """The simpler level to try after ``mode`` was refused by the server, or None when ``setting``
    allows no further step."""
    ladder = _LADDER[setting]
    index = ladder.index(mode) if mode in ladder else len(ladder)
    return ladder[index + 1] if index + 1 < len(ladder) else None


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
    if mode == "json_object+schema":
        return {"type": "json_object", "schema": _json_schema(schema)}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def schema_instruction(schema: type[BaseModel]) -> str:
    """The system-prompt part that asks for JSON of ``schema``: sent in every mode (see ``describe_fields``)."""
    return (
        "Answer with one JSON object only, no prose and no code fences. Its fields (* = required; fill "
        "every field that applies to this request, not only the required ones):\n" + describe_fields(schema)
    )


@functools.lru_cache(maxsize=64)
def describe_fields(schema: type[BaseModel]) -> str:
    """A compact description of ``schema``'s fields, generated from its JSON schema: one line per field
    (``- name* (type, default x): description``), nested object types described once each below."""
    root = _json_schema(schema)
    defs = root.get("$defs", {})
    lines: list[str] = []
    queue: list[str] = []

    def kind(prop: dict) -> str:
        if "$ref" in prop:
            name = prop["$ref"].rsplit("/", 1)[-1]
            if name not in queue:
                queue.append(name)
            return name
        if "enum" in prop:
            return " | ".join(json.dumps(v, ensure_ascii=False) for v in prop["enum"])
        if "const" in prop:
            return json.dumps(prop["const"], ensure_ascii=False)
        if "anyOf" in prop:
            options = [kind(p) for p in prop["anyOf"] if p.get("type") != "null"]
            nullable = any(p.get("type") == "null" for p in prop["anyOf"])
            return " or ".join(options) + (" or null" if nullable else "")
        type_ = prop.get("type")
        if type_ == "array":
            return f"list of {kind(prop.get('items') or {})}"
        if type_ == "object":
            return "object"
        bounds = [f"{word} {prop[key]}" for key, word in (("minimum", ">="), ("maximum", "<=")) if key in prop]
        return " ".join([type_ or "any", *bounds])

    def describe(obj: dict, title: str | None) -> None:
        if title:
            lines.append(f"{title}: object with")
        required = set(obj.get("required", ()))
        for name, prop in (obj.get("properties") or {}).items():
            parts = [kind(prop)]
            if "default" in prop and prop["default"] not in (None, [], {}, ""):
                parts.append(f"default {json.dumps(prop['default'], ensure_ascii=False)}")
            line = f"- {name}{'*' if name in required else ''} ({', '.join(parts)})"
            if prop.get("description"):
                line += f": {prop['description']}"
            lines.append(line)

    describe(root, None)
    done: set[str] = set()
    while len(done) < len(queue):
        name = next(n for n in queue if n not in done)
        done.add(name)
        describe(defs.get(name, {}), name)
    return "\n".join(lines)


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
