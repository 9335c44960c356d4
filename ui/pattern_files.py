"""Turning what a user uploads on the Patterns page into a pattern file: a pattern file as it is, or a
plain Dify export wrapped with the metadata the user types in."""

from __future__ import annotations

import re

import yaml

PATTERN_MODES = ("workflow", "advanced-chat")


def read_yaml(text: str) -> object:
    """The parsed upload, or None when it is not YAML (the library's own check then says why)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def is_dify_export(doc: object) -> bool:
    """Whether ``doc`` is a Dify export (``app`` and ``workflow`` at the top) rather than a pattern file."""
    return isinstance(doc, dict) and "metadata" not in doc and isinstance(doc.get("app"), dict) \
        and isinstance(doc.get("workflow"), dict)


def pattern_id(name: str) -> str:
    """A pattern id from a name: lower case letters, digits and dashes (``Email triage`` -> ``email-triage``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80]
    return slug or "my-pattern"


def guess_complexity(doc: dict) -> str:
    """``simple`` up to 4 steps, ``moderate`` up to 8, else ``complex`` (sticky notes not counted)."""
    nodes = ((doc.get("workflow") or {}).get("graph") or {}).get("nodes") or []
    steps = sum(1 for n in nodes if isinstance(n, dict) and n.get("type") != "custom-note")
    return "simple" if steps <= 4 else "moderate" if steps <= 8 else "complex"


def split_list(text: str) -> list[str]:
    """Comma- or line-separated entries, trimmed, empty ones dropped."""
    return [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]


def pattern_from_export(export: dict, *, name: str, description: str, tags: list[str], use_cases: list[str],
                        complexity: str) -> str:
    """The pattern file (YAML text) for a Dify export and the metadata the user gave.

    The library validates it like any pattern file when it is added.
    """
    metadata = {"id": pattern_id(name), "name": name.strip(), "description": description.strip(),
                "use_cases": use_cases, "tags": tags, "complexity": complexity,
                "mode": (export.get("app") or {}).get("mode")}
    return yaml.safe_dump({"metadata": metadata, "dsl": export}, allow_unicode=True, sort_keys=False)
