"""Scrub key-like strings from text before it reaches the ledger (defence in depth).

The ledger's API never takes an API key, but a user may paste one into a requirement, or a model
may echo one. Anything that looks like a credential is replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import json
import re

REDACTED = "[REDACTED]"

_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),  # OpenAI-style keys (sk-..., sk-proj-...)
    re.compile(r"\b(?:xai|gsk|pk|rk|ghp|gho|hf|AIza)[-_][A-Za-z0-9_\-]{12,}"),
    re.compile(r"\bAIza[A-Za-z0-9_\-]{20,}"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-~+/]{8,}=*"),
    re.compile(r"(?i)\b((?:api[_-]?key|authorization|x-api-key|secret|password)\s*[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"),
]


def redact(text: str | None) -> str | None:
    """Return ``text`` with key-like substrings replaced; ``None`` stays ``None``."""
    if not text:
        return text
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact_json(payload: dict | None) -> str | None:
    """Serialise an event payload to JSON with key-like strings scrubbed."""
    if payload is None:
        return None
    return redact(json.dumps(payload, default=str, ensure_ascii=False))
