"""The two brains behind every agent: an LLM (prompt file + structured output) and offline rules.

An agent calls ``brain.think(...)`` with its prompt name, the data it works on, the output schema
and its offline rule function; the brain returns the typed output and the calls it made. Each
call is handed to ``on_call`` the moment it happens, so the ledger never misses usage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel

from core.agents.prompt_store import SHIPPED_DIR, PromptStore
from core.config import Settings
from core.usage import CallRecord

PROMPTS_DIR = SHIPPED_DIR
OFFLINE_PROVIDER = "offline"
OFFLINE_MODEL = "offline-rules"

T = TypeVar("T", bound=BaseModel)
OnCall = Callable[[CallRecord], None]

MAX_OUTPUT_TOKENS = {"requirements": 2048, "architecture": 2048, "configuration": 4096, "quality": 1024}
"""The longest answer per agent, sized to its schema: the offline brain's answers for the eval cases
serialise (with every default) to about 600 tokens for a spec, 700 for a blueprint, 1,800 for a plan
and 100 for a review; the limits leave 2-3x room for a larger workflow and longer prompts. A model
that runs on (a grammar-constrained answer can loop until the context is full) is cut off there and
asked once for a shorter answer. ``DIFYFORGE_MAX_OUTPUT_TOKENS`` overrides them."""
DEFAULT_MAX_OUTPUT_TOKENS = 2048
"""For an agent not in the table."""

LANGUAGE_RULE = (
    "Language: write every text the workflow shows or sends (names, titles, prompts, instructions, "
    "labels, answers) in the language of the requirement between <requirement> tags, and copy the "
    "requirement's own words (classes, fields, sections, limits) as written, in that language. Keep "
    "the requirement text itself verbatim: never translate or shorten it. JSON keys, step ids, types "
    "and references stay as the schema says."
)
"""Added to every agent's system prompt by the LLM brain (the prompt files hold the agents' tasks)."""


def max_output_tokens(agent: str, overrides: tuple[tuple[str, int], ...] = ()) -> int:
    """The answer limit of ``agent``: its own override, else a ``*`` override, else the table."""
    given = dict(overrides)
    return given.get(agent) or given.get("*") or MAX_OUTPUT_TOKENS.get(agent, DEFAULT_MAX_OUTPUT_TOKENS)


def system_prompt(agent: str, version: str = "v1", *, data_dir: Path | None = None) -> str:
    """What the LLM brain sends as ``agent``'s system prompt: its prompt file, then the language rule.

    The expected fields are described by the model client (``core.llm.structured.describe_fields``),
    in every structured-output mode.
    """
    return f"{load_prompt(agent, version, data_dir=data_dir).rstrip()}\n\n{LANGUAGE_RULE}"


def prompt_versions(data_dir: Path | None = None) -> list[str]:
    """Every prompt version label: the shipped ones (``v1``, ``v2``, ...) then those users created
    (``core.agents.prompt_store``; user versions live in the data folder)."""
    return PromptStore(data_dir, shipped_dir=PROMPTS_DIR).labels()


def load_prompt(agent: str, version: str = "v1", *, data_dir: Path | None = None) -> str:
    """The system prompt of ``agent`` at ``version``, read through ``core.agents.prompt_store``.

    An agent a version does not change keeps its parent's prompt (``v1`` for shipped files such as
    ``requirements.v2.md``), so a prompt engineer can try one agent's prompt while the others stay.

    Raises:
        InputError: no such version (the run fails with that message rather than run another prompt).
    """
    return PromptStore(data_dir, shipped_dir=PROMPTS_DIR).prompt(agent, version)


class Brain(Protocol):
    """What an agent needs from a brain."""

    kind: str

    def think(self, agent: str, *, data: dict, schema: type[T], offline: Callable[[], T]) -> tuple[T, list[CallRecord]]:
        """Produce ``schema`` for ``agent`` from ``data`` (LLM) or by calling ``offline`` (rules)."""
        ...


class OfflineBrain:
    """Deterministic rules; every agent step is logged as one free, token-less call."""

    kind = "offline"

    def __init__(self, on_call: OnCall | None = None, *, log_content: bool = True) -> None:
        self.on_call = on_call or (lambda call: None)
        self.log_content = log_content

    def think(self, agent: str, *, data: dict, schema: type[T], offline: Callable[[], T]) -> tuple[T, list[CallRecord]]:
        started = time.perf_counter()
        result = offline()
        call = CallRecord(
            agent=agent,
            provider=OFFLINE_PROVIDER,
            model=OFFLINE_MODEL,
            latency_ms=(time.perf_counter() - started) * 1000,
            response_text=result.model_dump_json() if self.log_content else None,
        )
        self.on_call(call)
        return result, [call]


def render_data(data: dict) -> str:
    """The user message: the agent's inputs as compact JSON (indentation costs a small local model
    seconds of prompt processing per call), the requirement fenced as data."""
    parts = []
    for key, value in data.items():
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", exclude_defaults=True)
        if key == "requirement":
            parts.append(f"<requirement>\n{value}\n</requirement>")
        else:
            parts.append(f"<{key}>\n{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}\n</{key}>")
    return "\n\n".join(parts)


class LLMBrain:
    """Any OpenAI-compatible model through ``core.llm.ChatClient`` with structured output."""

    kind = "llm"

    def __init__(self, settings: Settings, on_call: OnCall | None = None, *, budget=None) -> None:
        from core.llm import ChatClient  # imported lazily: the offline path needs no SDK

        self.client = ChatClient(settings.provider, budget=budget)
        self.on_call = on_call or (lambda call: None)
        self.prompt_version = settings.prompt_version
        self.output_limits = settings.provider.max_output_tokens
        self.data_dir = settings.data_dir

    def think(self, agent: str, *, data: dict, schema: type[T], offline: Callable[[], T]) -> tuple[T, list[CallRecord]]:
        messages = [
            {"role": "system", "content": system_prompt(agent, self.prompt_version, data_dir=self.data_dir)},
            {"role": "user", "content": render_data(data)},
        ]
        completion = self.client.complete(agent=agent, messages=messages, schema=schema, on_call=self.on_call,
                                          max_tokens=max_output_tokens(agent, self.output_limits))
        parsed = completion.parsed
        if not isinstance(parsed, schema):
            parsed = schema.model_validate(parsed if parsed is not None else json.loads(completion.text))
        return parsed, list(completion.calls)
