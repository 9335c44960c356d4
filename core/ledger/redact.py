"""Scrub secrets from what reaches the ledger (defence in depth), without changing any structure.

The ledger's API never takes an API key, but a user may paste one into a requirement, or a model
may echo one. Two kinds of redaction, both replacing a secret by ``[REDACTED]``:

- prose (:func:`redact`): key-shaped *tokens* (``sk-...``, ``sk_live_...``, ``AKIA...``, ``xoxb-...``,
  ``Bearer ...``, ``api_key=...``). A match never spans a line break or leaves its token, so YAML or
  JSON text keeps its shape.
- DSL documents (:func:`redact_dsl`): the YAML is parsed and secret *values* are masked where they
  live (an HTTP node's ``authorization.config.api_key``, header values that carry keys, secret
  environment variables, plus key-shaped tokens in any string); the stored text reads back with
  ``load_dsl`` as the same document with only those values masked.
"""

from __future__ import annotations

import json
import re

REDACTED = "[REDACTED]"

_KEY_NAMES = r"api[_-]?key|apikey|x-api-key|access[_-]?token|auth[_-]?token|client[_-]?secret|secret[_-]?key|secret|password"
_VALUE_END = r"\s\"'`,;&}{\[\]<>"

_TOKENS = [
    re.compile(r"\bsk-(?!\[)[A-Za-z0-9_\-]{8,}"),  # OpenAI / Anthropic style (sk-..., sk-proj-..., sk-ant-...)
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"),  # Stripe
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),  # Slack
    re.compile(r"\b(?:xai|gsk|ghp|gho|ghu|ghs|github_pat|hf|glpat)[-_][A-Za-z0-9_\-]{12,}"),
    re.compile(r"\bAIza[A-Za-z0-9_\-]{20,}"),  # Google
]
_PREFIXED = [
    re.compile(r"(?i)\b(bearer[ \t]+)(?!\{\{)[A-Za-z0-9._\-~+/]{8,}=*"),
    re.compile(rf"(?i)\b((?:{_KEY_NAMES})[ \t]*[\"']?[ \t]*[:=][ \t]*[\"']?)(?!\{{\{{|\[REDACTED\])[^{_VALUE_END}]{{6,}}"),
]
_TEMPLATE_ONLY = re.compile(r"\s*(\{\{[^{}]*\}\}\s*)+")
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "apikey", "x-auth-token",
                             "x-access-token", "cookie", "x-goog-api-key", "openai-api-key", "x-secret"})
_SECRET_FIELDS = re.compile(rf"(?i)^(?:{_KEY_NAMES}|token|private[_-]?key)$")


def redact(text: str | None) -> str | None:
    """Return ``text`` with key-shaped tokens replaced; ``None`` stays ``None``.

    Only the secret token itself is replaced (``Bearer [REDACTED]``, ``api_key=[REDACTED]``); a
    match never crosses a line break, a quote or a bracket.
    """
    if not text:
        return text
    for pattern in _TOKENS:
        text = pattern.sub(REDACTED, text)
    for pattern in _PREFIXED:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def find_secrets(text: str) -> list[str]:
    """The key-shaped tokens in ``text`` (values :func:`redact` masks), in order, unique.

    Stricter than :func:`redact` for ``name: value`` pairs: a value made of letters only
    (``password: required``) is a word, not a key, and is not returned.
    """
    found: list[str] = []
    for pattern in _TOKENS:
        found += [m.group(0) for m in pattern.finditer(text)]
    for pattern in _PREFIXED:
        found += [value for m in pattern.finditer(text) if not (value := m.group(0)[len(m.group(1)):]).isalpha()]
    return list(dict.fromkeys(found))


def _is_placeholder(value: str) -> bool:
    """Empty, or only template references (``{{#env.API_KEY#}}``): not a secret itself."""
    return not value.strip() or _TEMPLATE_ONLY.fullmatch(value) is not None or value == REDACTED


def _mask(value: object) -> object:
    return REDACTED if isinstance(value, str) and not _is_placeholder(value) else value


def _redact_headers(text: str) -> str:
    """Dify's ``Key:value`` lines: a secret header's value is masked whole (its scheme kept)."""
    lines = []
    for line in text.split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in _SECRET_HEADERS and not _is_placeholder(value):
            scheme = re.match(r"[ \t]*(?:bearer|basic|token)[ \t]+", value, re.I)
            rest = value[scheme.end():] if scheme else value
            value = (scheme.group(0) if scheme else "") + (rest if _is_placeholder(rest) else REDACTED)
        else:
            value = redact(value) or value
        lines.append(name + sep + value)
    return "\n".join(lines)


def redact_value(value: object, key: object = None) -> object:
    """A copy of a parsed document (or any JSON/YAML value) with secret values masked in place.

    The shape never changes: mappings keep their keys, lists their lengths; only string values
    change. Masked: values of secret-named fields (``api_key``, ``password``, ...), secret header
    values in Dify's ``headers`` lines, ``value`` of a ``value_type: secret`` variable, and
    key-shaped tokens in every other string.
    """
    if isinstance(value, dict):
        secret_var = value.get("value_type") == "secret"
        out = {}
        for k, v in value.items():
            if secret_var and k == "value":
                out[k] = _mask(v)
            else:
                out[k] = redact_value(v, k)
        return out
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        if isinstance(key, str) and _SECRET_FIELDS.match(key):
            return _mask(value)
        if key == "headers":
            return _redact_headers(value)
        return redact(value) or value
    return value


def redact_dsl(text: str | None) -> str | None:
    """Mask the secrets of a DSL document given as YAML text, keeping the document as it is.

    Returns the text itself when it holds no secret (byte for byte), the text with only the secret
    tokens replaced when that still reads back as the masked document, and otherwise the masked
    document written out again (``dump_dsl``). Text that is not a YAML mapping gets prose redaction.
    """
    if not text:
        return text
    from core.dsl.io import DSLLoadError, dump_dsl, load_dsl

    try:
        doc = load_dsl(text)
    except DSLLoadError:
        return redact(text)
    if not isinstance(doc, dict | list):
        return redact(text)
    masked = redact_value(doc)
    candidate = redact(text) or text
    if candidate == text and masked == doc:
        return text
    try:
        if load_dsl(candidate) == masked:
            return candidate
    except DSLLoadError:
        pass
    return dump_dsl(masked) if isinstance(masked, dict) else redact(text)


def redact_json(payload: dict | None) -> str | None:
    """Serialise an event payload to JSON with secret values masked (structurally, then by token)."""
    if payload is None:
        return None
    safe = json.loads(json.dumps(payload, default=str, ensure_ascii=False))
    return json.dumps(redact_value(safe), ensure_ascii=False)
