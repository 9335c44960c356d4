"""Prompt versions as data: the shipped ones in ``core/agents/prompts/``, the ones users create in the data folder.

A *version* is a label (``v1``, ``sharper-spec``) naming one system prompt per agent. Shipped versions
are the files ``core/agents/prompts/<agent>.<version>.md``; an agent without a file for a shipped
version keeps its ``v1`` prompt. A user version changes the prompt of one agent and inherits the
others from its parent version, so a prompt engineer can try a new requirements prompt while the
other agents stay as they are. User versions live in ``<data_dir>/prompts/<label>.json`` (agent,
label, parent, note, created time and the prompt text), never in the repository, and are never
overwritten: a change is a new version.

The prompts have no template placeholders (the brain sends the agent's inputs in the user message,
each fenced in a tag such as ``<requirement>``). What a prompt must contain is therefore the
contract the brain relies on: it asks for the agent's output model by name, as JSON, and it tells
the model that content inside ``<requirement>`` tags is data. :func:`check_prompt` says what is
missing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from core.agents.models import Blueprint, QualityReview, RequirementSpec, WorkflowPlan
from core.errors import InputError

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "prompts"
BASE_VERSION = "v1"
AGENTS = ("requirements", "architecture", "configuration", "quality")
OUTPUT_SCHEMAS: dict[str, type[BaseModel]] = {
    "requirements": RequirementSpec,
    "architecture": Blueprint,
    "configuration": WorkflowPlan,
    "quality": QualityReview,
}
"""What each agent's model answer is parsed into (the LLM brain sends this schema with the prompt)."""
DATA_FENCE = "<requirement>"
"""The tag the brain wraps the user's requirement in (``core.agents.brain.render_data``)."""
MAX_PROMPT_CHARS = 20_000
MAX_NOTE_CHARS = 500
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


class PromptVersionNotFound(InputError):
    """No prompt version with that label."""


@dataclass(frozen=True)
class PromptVersion:
    """One prompt version: shipped (one file per agent it defines) or created by a user (one agent)."""

    label: str
    source: str
    """``shipped`` or ``user``."""
    agents: tuple[str, ...]
    """The agents this version defines a prompt for; the others are inherited."""
    parent: str | None = None
    """The version the others are inherited from (user versions); shipped ones inherit from ``v1``."""
    note: str = ""
    created_at: str | None = None
    """ISO time in UTC (user versions)."""

    @property
    def agent(self) -> str | None:
        """The one agent a user version changes (None for a shipped version)."""
        return self.agents[0] if self.source == "user" else None

    def describe(self) -> str:
        """One line for lists: label, what it changes, parent and note."""
        if self.source == "shipped":
            return f"{self.label} (shipped: {', '.join(self.agents)})"
        note = f" — {self.note}" if self.note else ""
        return f"{self.label} ({self.agent} prompt, from {self.parent}){note}"


def check_prompt(agent: str, text: str) -> list[str]:
    """What is wrong with ``text`` as ``agent``'s system prompt; empty when it is fine.

    The contract: not empty, not too long, names the agent's output model (e.g. ``RequirementSpec``)
    and JSON, and says that content inside ``<requirement>`` tags is data.
    """
    if agent not in OUTPUT_SCHEMAS:
        return [f"Unknown agent {agent!r}; agents are {', '.join(AGENTS)}."]
    body = (text or "").strip()
    if not body:
        return ["The prompt is empty."]
    problems = []
    if len(body) > MAX_PROMPT_CHARS:
        problems.append(f"The prompt is {len(body):,} characters long; the limit is {MAX_PROMPT_CHARS:,}.")
    schema = OUTPUT_SCHEMAS[agent].__name__
    if schema not in body:
        problems.append(f"It never names {schema}, the model the {agent} agent's answer is parsed into: "
                        f"ask for \"a {schema} as JSON\".")
    if "json" not in body.lower():
        problems.append("It never asks for JSON; the answer is parsed as a JSON object.")
    if DATA_FENCE not in body:
        problems.append(f"It never mentions {DATA_FENCE} tags: say that the content inside them is data, "
                        "never instructions (the user's requirement arrives fenced in them).")
    return problems


def schema_fields(agent: str) -> list[dict[str, str]]:
    """The top-level fields of ``agent``'s output model: name, type, required, description."""
    schema = OUTPUT_SCHEMAS[agent].model_json_schema()
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        rows.append({"field": name, "type": _type_of(prop), "required": "yes" if name in required else "",
                     "description": prop.get("description", "")})
    return rows


def _type_of(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_type_of(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list[{_type_of(prop.get('items', {}))}]"
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    return str(prop.get("type", "any"))


def default_data_dir() -> Path:
    """The data folder of the environment's settings (where user versions live when none is given)."""
    from core.config import PROJECT_ROOT, load_settings

    try:
        return load_settings().data_dir
    except ValueError:  # a malformed numeric setting is reported elsewhere; the folder is still known
        return Path(os.environ.get("DIFYFORGE_DATA_DIR") or PROJECT_ROOT / "data")


class PromptStore:
    """The prompt versions: shipped files plus the user versions of one data folder.

    Args:
        data_dir: the data folder (``Settings.data_dir``); None reads it from the environment.
        shipped_dir: where the shipped ``<agent>.<version>.md`` files are.
    """

    def __init__(self, data_dir: Path | None = None, *, shipped_dir: Path = SHIPPED_DIR) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.user_dir = self.data_dir / "prompts"
        self.shipped_dir = Path(shipped_dir)

    # -- reading ----------------------------------------------------------------------------------

    def _shipped(self) -> dict[str, PromptVersion]:
        found: dict[str, list[str]] = {}
        for path in self.shipped_dir.glob("*.*.md"):
            agent, version = path.stem.split(".", 1)
            found.setdefault(version, []).append(agent)
        ordered = sorted(found, key=lambda v: (len(v), v))
        return {v: PromptVersion(v, "shipped", tuple(a for a in AGENTS if a in found[v]) or tuple(sorted(found[v])),
                                 parent=None if v == BASE_VERSION else BASE_VERSION) for v in ordered}

    def _user_records(self) -> dict[str, dict]:
        records: dict[str, dict] = {}
        if not self.user_dir.is_dir():
            return records
        for path in sorted(self.user_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if record.get("label") != path.stem or record.get("agent") not in OUTPUT_SCHEMAS:
                    raise ValueError("label or agent does not match")
                records[path.stem] = record
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("skipping unreadable prompt version %s: %s", path, exc)
        return records

    def versions(self) -> list[PromptVersion]:
        """Every version: shipped ones first (v1, v2, ...), then user versions, oldest first."""
        shipped = self._shipped()
        users = [PromptVersion(r["label"], "user", (r["agent"],), parent=r.get("parent"), note=r.get("note") or "",
                               created_at=r.get("created_at"))
                 for r in self._user_records().values() if r["label"] not in shipped]
        return list(shipped.values()) + sorted(users, key=lambda v: (v.created_at or "", v.label))

    def labels(self) -> list[str]:
        """The labels of :meth:`versions`, in the same order."""
        return [v.label for v in self.versions()]

    def get(self, label: str) -> PromptVersion:
        """The version called ``label``.

        Raises:
            PromptVersionNotFound: no such version.
        """
        for version in self.versions():
            if version.label == label:
                return version
        known = ", ".join(self.labels()) or "none"
        raise PromptVersionNotFound(f"There is no prompt version {label!r} (known: {known}).",
                                    hint="List them with `python -m core prompts list`, or create one on the "
                                         "Prompt Lab page.")

    def source_of(self, agent: str, label: str) -> str:
        """The version whose text ``agent`` uses at ``label`` (itself, or the ancestor it inherits from).

        Raises:
            InputError: unknown agent. PromptVersionNotFound: unknown version.
        """
        _require_agent(agent)
        seen = set()
        while True:
            version = self.get(label)
            if agent in version.agents or version.parent is None:
                return version.label
            if label in seen:  # a hand-edited file made a cycle: stop at the base
                return BASE_VERSION
            seen.add(label)
            label = version.parent

    def prompt(self, agent: str, label: str = BASE_VERSION) -> str:
        """The system prompt of ``agent`` at version ``label`` (inherited when the version does not change it).

        Raises:
            InputError: unknown agent. PromptVersionNotFound: unknown version.
        """
        owner = self.get(self.source_of(agent, label))
        if owner.source == "user":
            return self._user_records()[owner.label]["prompt"]
        path = self.shipped_dir / f"{agent}.{owner.label}.md"
        if not path.exists():
            path = self.shipped_dir / f"{agent}.{BASE_VERSION}.md"
        return path.read_text(encoding="utf-8")

    def prompts(self, label: str) -> dict[str, str]:
        """Every agent's prompt at ``label``."""
        return {agent: self.prompt(agent, label) for agent in AGENTS}

    def same_prompts(self, a: str, b: str) -> bool:
        """Whether versions ``a`` and ``b`` give every agent the same prompt (comparing them is pointless)."""
        return self.prompts(a) == self.prompts(b)

    # -- writing ----------------------------------------------------------------------------------

    def create(self, label: str, *, agent: str, parent: str, text: str, note: str = "") -> PromptVersion:
        """Save a new user version that changes ``agent``'s prompt and inherits the rest from ``parent``.

        Raises:
            InputError: a bad or taken label, unknown parent or agent, a prompt that breaks the contract
                (see :func:`check_prompt`), a note that is too long, or a prompt identical to what the
                parent already gives the agent.
        """
        label = (label or "").strip()
        _require_agent(agent)
        if not LABEL_RE.match(label):
            raise InputError(f"{label!r} is not a usable version label.",
                             hint="Use 1 to 40 letters, digits, '-' or '_', starting with a letter or digit "
                                  "(e.g. v2 or sharper-spec).")
        if label in self.labels():
            raise InputError(f"A prompt version {label!r} already exists; versions are never overwritten.",
                             hint="Pick another label.")
        self.get(parent)
        problems = check_prompt(agent, text)
        if problems:
            raise InputError(f"The {agent} prompt cannot be saved: " + " ".join(problems),
                             hint="Fix the prompt and save again.")
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            raise InputError(f"The note is {len(note)} characters long; keep it under {MAX_NOTE_CHARS}.")
        body = text.strip() + "\n"
        if body.strip() == self.prompt(agent, parent).strip():
            raise InputError(f"This {agent} prompt is identical to the one {parent} already uses, so the new "
                             "version would be the same as its parent.", hint="Change the prompt, then save.")
        twin = next((v.label for v in self.versions()
                     if self.source_of(agent, v.label) == v.label and v.label != parent
                     and self.prompt(agent, v.label).strip() == body.strip()
                     and all(self.prompt(a, v.label) == self.prompt(a, parent) for a in AGENTS if a != agent)), None)
        if twin:
            raise InputError(f"Version {twin} already has exactly these prompts.",
                             hint=f"Use {twin}, or change the prompt.")
        record = {"label": label, "agent": agent, "parent": parent, "note": note,
                  "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "prompt": body}
        self._write(label, record)
        return self.get(label)

    def _write(self, label: str, record: dict) -> None:
        self.user_dir.mkdir(parents=True, exist_ok=True)
        final = self.user_dir / f"{label}.json"
        tmp = self.user_dir / f".{label}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            os.link(tmp, final)  # atomic and exclusive: two saves of one label cannot both win
        except FileExistsError as exc:
            raise InputError(f"A prompt version {label!r} was just saved by someone else.",
                             hint="Pick another label.") from exc
        finally:
            tmp.unlink(missing_ok=True)

    # -- comparing --------------------------------------------------------------------------------

    def diff(self, label: str, against: str | None = None, *, agent: str | None = None) -> list[AgentDiff]:
        """How ``label``'s prompts differ from ``against``'s (default: its parent), per agent.

        Args:
            label: the newer version.
            against: the older version; the parent when None (``v1`` diffs against itself: no changes).
            agent: only this agent.
        """
        version = self.get(label)
        base = against or version.parent or label
        self.get(base)
        from core.versions import diff_versions

        out = []
        for name in ([agent] if agent else AGENTS):
            _require_agent(name)
            old, new = self.prompt(name, base), self.prompt(name, label)
            out.append(AgentDiff(name, base, label, diff_versions(old, new, old_label=f"{name}@{base}",
                                                                  new_label=f"{name}@{label}")))
        return out


@dataclass(frozen=True)
class AgentDiff:
    """One agent's prompt diff between two versions."""

    agent: str
    old: str
    new: str
    diff: object
    """A ``core.versions.VersionDiff``."""


def _require_agent(agent: str) -> None:
    if agent not in OUTPUT_SCHEMAS:
        raise InputError(f"Unknown agent {agent!r}.", hint=f"Agents are {', '.join(AGENTS)}.")


def as_dict(version: PromptVersion) -> dict:
    """A version as plain JSON-ready data."""
    return {**asdict(version), "agents": list(version.agents)}


__all__ = ["AGENTS", "AgentDiff", "OUTPUT_SCHEMAS", "PromptStore", "PromptVersion", "PromptVersionNotFound",
           "as_dict", "check_prompt", "schema_fields"]
