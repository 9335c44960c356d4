"""Inputs of a test run: synthesized from the start variables, or the user's checked against them.

A text input gets a short sentence, a paragraph a few lines (an input meant for URLs gets URLs, one
per line in a paragraph), a select its first option, a number 3,
a checkbox ``True``, a JSON object ``{}``, and a file or file list a small generated text file. Chat
apps get ``sys.query``; conversation variables start at their declared (typed) values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import InputError

SAMPLE_QUERY = "What are your opening hours on Saturday?"
"""The synthesized chat question (distinctive, so a prompt that sends it twice can be spotted)."""

FILE_TYPES = ("file", "file-list")
_URLISH = re.compile(r"url|link|website|webpage|網址|网址|链接|鏈接|リンク", re.IGNORECASE)
_EMAILISH = re.compile(r"e-?mail(_?address)?$|邮箱|メールアドレス", re.IGNORECASE)
_DATEISH = re.compile(r"date|deadline|日付|日期|日にち|期限|截止", re.IGNORECASE)
_ENDISH = re.compile(r"end|until|截止|结束|終了|終わり", re.IGNORECASE)


def is_url_name(text: str) -> bool:
    """Whether a variable's name or label says it holds a URL (or a list of URLs)."""
    return bool(_URLISH.search(text or ""))


@dataclass(frozen=True)
class StartVariable:
    """One start-node input as the test run sees it."""

    name: str
    type: str
    label: str = ""
    required: bool = False
    options: tuple[str, ...] = ()
    max_length: int | None = None
    file_types: tuple[str, ...] = ()


@dataclass
class SampleFile:
    """A small file made up for a file input: its name, MIME type and bytes."""

    name: str
    mime_type: str
    content: bytes
    kind: str = "document"


@dataclass
class RunInputs:
    """Everything the caller puts in graphon's variable pool before the run.

    Attributes:
        values: start input name -> value (files as ``SampleFile`` or lists of them).
        query: ``sys.query`` for chat apps (``None`` in workflow mode).
        synthesized: names whose values were made up rather than given.
    """

    values: dict[str, Any] = field(default_factory=dict)
    query: str | None = None
    synthesized: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The inputs as JSON-ready data (files by name and size) for the report and the ledger."""
        def plain(v: Any) -> Any:
            if isinstance(v, SampleFile):
                return {"file": v.name, "mime_type": v.mime_type, "size": len(v.content)}
            if isinstance(v, list):
                return [plain(x) for x in v]
            return v

        out = {k: plain(v) for k, v in self.values.items()}
        if self.query is not None:
            out["sys.query"] = self.query
        return out


def start_variables(doc: Mapping[str, Any]) -> list[StartVariable]:
    """The start node's declared inputs (empty when there is no start node)."""
    nodes = (((doc.get("workflow") or {}).get("graph") or {}).get("nodes")) or []
    for node in nodes:
        data = node.get("data") if isinstance(node, Mapping) else None
        if isinstance(data, Mapping) and data.get("type") == "start":
            found = []
            for v in data.get("variables") or []:
                if not isinstance(v, Mapping) or not v.get("variable"):
                    continue
                max_length = v.get("max_length")
                found.append(StartVariable(
                    name=str(v["variable"]),
                    type=str(v.get("type") or "text-input"),
                    label=str(v.get("label") or v["variable"]),
                    required=bool(v.get("required")),
                    options=tuple(str(o) for o in v.get("options") or []),
                    max_length=max_length if isinstance(max_length, int) and max_length > 0 else None,
                    file_types=tuple(str(t) for t in v.get("allowed_file_types") or []),
                ))
            return found
    return []


def sample_file(var: StartVariable, index: int = 0) -> SampleFile:
    """A small generated file for a file input (an image input gets a tiny PNG)."""
    if var.file_types and "image" in var.file_types and "document" not in var.file_types:
        png = bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
        return SampleFile(f"{var.name}_{index + 1}.png", "image/png", png, "image")
    text = (f"Sample document {index + 1} for the input '{var.label}'.\n"
            "It has two short paragraphs so that extraction and summaries have something to read.\n\n"
            "The second paragraph mentions a date (2026-01-15), a number (42) and a name (Alex Chen).\n")
    return SampleFile(f"{var.name}_{index + 1}.txt", "text/plain", text.encode("utf-8"))


def synthesize_value(var: StartVariable) -> Any:
    """A plausible value of the declared type."""
    if var.type == "select":
        return var.options[0] if var.options else "option"
    if var.type == "number":
        return 3
    if var.type == "checkbox":
        return True
    if var.type == "json_object":
        return {}
    if var.type == "file":
        return sample_file(var)
    if var.type == "file-list":
        return [sample_file(var, 0), sample_file(var, 1)]
    if var.type == "paragraph" and is_url_name(f"{var.name} {var.label}"):
        text = "https://example.com/sample-page\nhttps://example.org/another-page"
    elif var.type == "paragraph":
        text = (f"This is a sample {var.label} for a test run.\nIt has a second line with a few more words.\n"
                "Contact: alex@example.com, order 1042, due 2026-01-15.")
    elif is_url_name(f"{var.name} {var.label}"):
        text = "https://example.com/sample-page"
    elif _EMAILISH.search(f"{var.name} {var.label}"):
        text = "alex@example.com"
    elif _DATEISH.search(f"{var.name} {var.label}"):
        text = "2026-02-13" if _ENDISH.search(f"{var.name} {var.label}") else "2026-01-15"  # a start before an end
    else:
        text = f"sample {var.label}"
    return text[: var.max_length] if var.max_length else text


def _coerce(var: StartVariable, value: Any) -> Any:  # noqa: C901 - one table of start types
    """The user's value checked (and lightly coerced) against the variable's type."""
    where = f"Input '{var.name}' ({var.type})"
    if var.type in FILE_TYPES:
        if isinstance(value, SampleFile) or (isinstance(value, list) and all(isinstance(v, SampleFile) for v in value)):
            return value
        raise InputError(f"{where} needs a file; got {type(value).__name__}.",
                         hint="Upload a file in the form, or leave it empty to use a generated sample file.")
    if var.type == "number":
        if isinstance(value, bool):
            raise InputError(f"{where} must be a number, not a boolean.")
        if isinstance(value, float) and value.is_integer():
            return int(value)  # a form's number widget gives 3.0 for 3
        if isinstance(value, int | float):
            return value
        try:
            return float(value) if "." in str(value) else int(str(value).strip())
        except ValueError:
            raise InputError(f"{where} must be a number; got {value!r}.", hint="Give digits, e.g. 3 or 2.5.") from None
    if var.type == "checkbox":
        if isinstance(value, bool):
            return value
        raise InputError(f"{where} must be true or false; got {value!r}.")
    if var.type == "json_object":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise InputError(f"{where} must be a JSON object; got text that is not JSON.") from None
        if isinstance(value, dict):
            return value
        raise InputError(f"{where} must be a JSON object; got {type(value).__name__}.")
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            raise InputError(f"{where} must be text; got {type(value).__name__}.", hint="Give a string.")
    if var.type == "select" and var.options and value not in var.options:
        raise InputError(f"{where} must be one of {', '.join(var.options)}; got {value!r}.")
    if var.max_length and len(value) > var.max_length:
        raise InputError(f"{where} is longer than its max length {var.max_length} ({len(value)} characters).")
    return value


def resolve_inputs(doc: Mapping[str, Any], given: Mapping[str, Any] | None, *, chat: bool) -> RunInputs:
    """The run's inputs: the user's values checked against the start variables, the rest synthesized.

    Raises:
        InputError: a given value has the wrong type, or names an input the workflow does not have.
    """
    given = dict(given or {})
    query = given.pop("sys.query", None)
    if query is None:
        query = given.pop("query", None) if chat and "query" not in {v.name for v in start_variables(doc)} else None
    variables = start_variables(doc)
    names = {v.name for v in variables}
    unknown = sorted(k for k in given if k not in names)
    if unknown:
        raise InputError(
            f"The workflow has no input named {', '.join(unknown)}.",
            hint=f"Its start inputs are: {', '.join(sorted(names)) or '(none)'}.",
        )
    out = RunInputs()
    for var in variables:
        if var.name in given and given[var.name] not in (None, ""):
            out.values[var.name] = _coerce(var, given[var.name])
        else:
            out.values[var.name] = synthesize_value(var)
            out.synthesized.append(var.name)
    if chat:
        if query is not None and not isinstance(query, str):
            raise InputError(f"sys.query must be text; got {type(query).__name__}.")
        out.query = query or SAMPLE_QUERY
        if not query:
            out.synthesized.append("sys.query")
    return out


def parse_inputs_arg(text: str) -> dict[str, Any]:
    """Parse the CLI's ``--inputs`` value (a JSON object, or ``@file`` holding one).

    Raises:
        InputError: the text (or file) is not a JSON object, or the file cannot be read.
    """
    if text.startswith("@"):
        path = text[1:]
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise InputError(f"Cannot read the inputs file {path}: {exc.strerror}.",
                             hint="Give --inputs @path/to/inputs.json with a JSON object.") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"--inputs is not valid JSON: {exc}.", hint='Give a JSON object, e.g. {"text": "hello"}.') from None
    if not isinstance(value, dict):
        raise InputError("--inputs must be a JSON object (name -> value).", hint='e.g. {"text": "hello"}.')
    return value
