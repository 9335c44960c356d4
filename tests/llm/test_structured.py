"""JSON extraction, schema validation, request shapes and error classification helpers."""

from __future__ import annotations

import email.utils
import time
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from core.llm.errors import RETRY_AFTER_CAP_S, retry_after_seconds
from core.llm.structured import (
    InvalidAnswer,
    describe_fields,
    extract_json,
    first_level,
    next_mode,
    parse_answer,
    response_format,
    schema_instruction,
    with_instruction,
)


class Item(BaseModel):
    name: str
    count: int = 1


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "a"}',
        '```json\n{"name": "a"}\n```',
        '```\n{"name": "a"}\n```',
        'Here it is: {"name": "a"} hope that helps {"name": "b"}',
        'Sure.\n\n{"name": "a"}',
    ],
)
def test_extract_json_finds_the_first_object(text):
    assert extract_json(text) == {"name": "a"}


def test_extract_json_skips_braces_that_are_not_json():
    assert extract_json('use {placeholders} like {"name": "a"}') == {"name": "a"}


@pytest.mark.parametrize("text", ["no json here", "{broken", ""])
def test_extract_json_without_an_object_raises(text):
    with pytest.raises(InvalidAnswer):
        extract_json(text)


def test_parse_answer_validates_and_explains_mismatches():
    assert parse_answer('{"name": "a", "count": 3}', Item) == Item(name="a", count=3)
    with pytest.raises(InvalidAnswer, match=r"count: Input should be a valid integer"):
        parse_answer('{"name": "a", "count": "many"}', Item)
    with pytest.raises(InvalidAnswer, match="empty"):
        parse_answer("  ", Item)


def test_response_format_per_mode():
    fmt = response_format(Item, "json_schema")
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is False
    assert fmt["json_schema"]["schema"]["properties"]["name"]["type"] == "string"
    assert response_format(Item, "json_object+schema") == {"type": "json_object", "schema": Item.model_json_schema()}
    assert response_format(Item, "json_object") == {"type": "json_object"}
    assert response_format(Item, "text") is None


def test_the_ladder_steps_down_as_far_as_the_setting_allows():
    assert [next_mode(m) for m in ("json_schema", "json_object+schema", "json_object", "text")] == [
        "json_object+schema", "json_object", "text", None]
    assert next_mode("json_schema", "json_schema") is None  # an explicit mode never changes ...
    assert next_mode("text", "text") is None
    assert first_level("json_object") == "json_object+schema"  # ... but json_object may drop the schema key
    assert next_mode("json_object+schema", "json_object") == "json_object"
    assert next_mode("json_object", "json_object") is None
    assert first_level("auto") == "json_schema"


class Nested(BaseModel):
    """A schema with a nested type, a literal, an optional and a bounded number."""

    kind: Literal["a", "b"] = "a"
    items: list[Item] = Field(default_factory=list, description="the things")
    note: str | None = None
    rounds: int = Field(default=3, ge=1, le=9)


def test_field_description_names_every_field_with_its_type_one_line_each():
    text = describe_fields(Nested)
    assert text.splitlines() == [
        '- kind ("a" | "b", default "a")',
        "- items (list of Item): the things",
        "- note (string or null)",
        "- rounds (integer >= 1 <= 9, default 3)",
        "Item: object with",
        "- name* (string)",
        "- count (integer, default 1)",
    ]
    assert describe_fields(Nested) in schema_instruction(Nested)


def test_with_instruction_extends_the_system_message_or_adds_one():
    user = {"role": "user", "content": "hi"}
    assert with_instruction([user], "JSON!") == [{"role": "system", "content": "JSON!"}, user]
    messages = [{"role": "system", "content": "Be brief."}, user]
    assert with_instruction(messages, "JSON!")[0]["content"] == "Be brief.\n\nJSON!"
    assert messages[0]["content"] == "Be brief."  # the caller's list is not changed


def test_retry_after_parsing():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "99999"}) == RETRY_AFTER_CAP_S
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= retry_after_seconds({"retry-after": in_ten}) <= 10
