"""Settings: from the environment and ``.streamlit/secrets.toml``, with defaults that work offline.

Environment variables (all optional):
    DIFYFORGE_DATA_DIR          where the ledger and the Chroma index live (default ``data/``)
    DIFYFORGE_PROVIDER          ``offline`` or ``openai`` (default: ``openai`` when an API key is set)
    OPENAI_API_KEY / DIFYFORGE_API_KEY
    OPENAI_BASE_URL / DIFYFORGE_BASE_URL   any OpenAI-compatible endpoint
    DIFYFORGE_MODEL, DIFYFORGE_FALLBACK_MODEL, DIFYFORGE_TIMEOUT, DIFYFORGE_TEMPERATURE
    DIFYFORGE_LOG_CONTENT       ``0`` to keep prompts and responses out of the ledger
    DIFYFORGE_REPAIR_ROUNDS     repair rounds of the pipeline (default 2)
    DIFYFORGE_MAX_COST_PER_RUN, DIFYFORGE_MAX_TOKENS_PER_RUN, DIFYFORGE_MAX_COST_PER_DAY
    DIFYFORGE_DSL_VERSION       target DSL version (``0.6.0`` default, ``0.7.0`` accepted)
    DIFYFORGE_CHROMA_URL        use a Chroma server (``http://host:port``) instead of the local folder
    DIFYFORGE_STRUCTURED_OUTPUT ``auto`` (default: step down json_schema -> json_object -> text when the
                                server refuses), or ``json_schema``, ``json_object``, ``text`` to fix it
    DIFYFORGE_MAX_OUTPUT_TOKENS the longest answer per model call: one number for every agent, or
                                ``agent=n`` pairs (``configuration=6000,quality=512``); defaults per agent
The same keys, lower-cased and without the prefix, may sit under ``[difyforge]`` in secrets.toml;
``OPENAI_API_KEY`` may also sit at its top level.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PATTERNS_DIR = PROJECT_ROOT / "patterns"
SUPPORTED_DSL_VERSIONS = ("0.6.0", "0.7.0")

ProviderKind = Literal["offline", "openai"]


@dataclass(frozen=True)
class ProviderConfig:
    """Which brain runs the agents, and how to reach the model when it is an LLM."""

    kind: ProviderKind = "offline"
    base_url: str | None = None
    """None means the OpenAI default endpoint."""
    api_key: str | None = field(default=None, repr=False)
    """Never logged, never written to the ledger or an export."""
    model: str = "gpt-4o-mini"
    fallback_model: str | None = None
    timeout_s: float = 60.0
    temperature: float = 0.2
    max_attempts: int = 4
    """Attempts per model (first try + retries) before the fallback model is tried."""
    structured_output: Literal["auto", "json_schema", "json_object", "text"] = "auto"
    max_output_tokens: tuple[tuple[str, int], ...] = ()
    """(agent, max_tokens) overrides of the agents' own answer limits; ``("*", n)`` applies to every agent."""
    key_source: str | None = None
    """Where ``api_key`` came from: ``environment``, ``secrets file`` or ``session`` (what the UI may say
    about a key instead of showing it)."""

    @property
    def label(self) -> str:
        """``offline`` or ``openai:<model>``: what the UI and the ledger show."""
        return "offline" if self.kind == "offline" else f"{self.kind}:{self.model}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = PROJECT_ROOT / "data"
    provider: ProviderConfig = ProviderConfig()
    log_content: bool = True
    """Store prompt and response text of each call in the ledger."""
    repair_rounds: int = 2
    max_cost_usd_per_run: float | None = None
    max_tokens_per_run: int | None = None
    max_cost_usd_per_day: float | None = None
    target_dsl_version: str = "0.6.0"
    chroma_url: str | None = None
    prompt_version: str = "v1"
    rules_stand_in: bool = True
    """With a model: the offline brain's design of the same spec replaces a model workflow that does not
    validate, does not test-run, or does less of the ask (said in ``result.drafts``). Prompt Lab
    comparisons turn it off, so that each arm is scored on its prompts' own workflows."""

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.duckdb"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def user_patterns_dir(self) -> Path:
        return self.data_dir / "user_patterns"

    def with_provider(self, **changes) -> Settings:
        """A copy with some provider fields changed (e.g. the session's API key)."""
        return replace(self, provider=replace(self.provider, **changes))


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


STRUCTURED_OUTPUT_SETTINGS = ("auto", "json_schema", "json_object", "text")


def _structured_output(value: str | None) -> str:
    value = (value or "auto").strip().lower()
    if value not in STRUCTURED_OUTPUT_SETTINGS:
        raise ValueError(f"DIFYFORGE_STRUCTURED_OUTPUT must be one of {', '.join(STRUCTURED_OUTPUT_SETTINGS)}, "
                         f"not {value!r}")
    return value


def _output_limits(value: str | None) -> tuple[tuple[str, int], ...]:
    """``"4000"`` -> (("*", 4000),); ``"configuration=6000, quality=512"`` -> per agent."""
    if not value:
        return ()
    pairs = []
    for part in value.split(","):
        agent, _, number = part.strip().rpartition("=")
        try:
            limit = int(number)
        except ValueError:
            limit = 0
        if limit <= 0:
            raise ValueError(f"DIFYFORGE_MAX_OUTPUT_TOKENS must be a positive number or agent=number pairs "
                             f"(e.g. 'configuration=6000,quality=512'), not {value!r}")
        pairs.append((agent.strip() or "*", limit))
    return tuple(pairs)


def _read_secrets(path: Path) -> dict[str, str]:
    """Flatten ``.streamlit/secrets.toml`` into DIFYFORGE_* style keys; a broken file is ignored."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    flat: dict[str, str] = {}
    if isinstance(data.get("OPENAI_API_KEY"), str):
        flat["OPENAI_API_KEY"] = data["OPENAI_API_KEY"]
    section = data.get("difyforge")
    if isinstance(section, dict):
        for key, value in section.items():
            flat[f"DIFYFORGE_{key.upper()}"] = str(value)
    return flat


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets_path: Path | None = None,
) -> Settings:
    """Read settings; the environment wins over secrets.toml, which wins over defaults.

    Raises:
        ValueError: a numeric setting is not a number (the message names it).
    """
    env = dict(os.environ if env is None else env)
    secrets = _read_secrets(secrets_path or PROJECT_ROOT / ".streamlit" / "secrets.toml")
    merged = {**secrets, **env}

    def get(name: str) -> str | None:
        value = merged.get(name)
        return value if value not in (None, "") else None

    api_key = get("DIFYFORGE_API_KEY") or get("OPENAI_API_KEY")
    key_name = next((n for n in ("DIFYFORGE_API_KEY", "OPENAI_API_KEY") if get(n)), None)
    key_source = None if key_name is None else ("environment" if env.get(key_name) else "secrets file")
    kind = get("DIFYFORGE_PROVIDER") or ("openai" if api_key else "offline")
    if kind not in ("offline", "openai"):
        raise ValueError(f"DIFYFORGE_PROVIDER must be 'offline' or 'openai', not {kind!r}")
    try:
        provider = ProviderConfig(
            kind=kind,  # type: ignore[arg-type]
            base_url=get("DIFYFORGE_BASE_URL") or get("OPENAI_BASE_URL"),
            api_key=api_key,
            key_source=key_source,
            model=get("DIFYFORGE_MODEL") or ProviderConfig.model,
            fallback_model=get("DIFYFORGE_FALLBACK_MODEL"),
            timeout_s=_float(get("DIFYFORGE_TIMEOUT")) or ProviderConfig.timeout_s,
            temperature=_float(get("DIFYFORGE_TEMPERATURE")) if get("DIFYFORGE_TEMPERATURE") else ProviderConfig.temperature,
            structured_output=_structured_output(get("DIFYFORGE_STRUCTURED_OUTPUT")),  # type: ignore[arg-type]
            max_output_tokens=_output_limits(get("DIFYFORGE_MAX_OUTPUT_TOKENS")),
        )
        version = get("DIFYFORGE_DSL_VERSION") or "0.6.0"
        if version not in SUPPORTED_DSL_VERSIONS:
            raise ValueError(f"DIFYFORGE_DSL_VERSION must be one of {SUPPORTED_DSL_VERSIONS}, not {version!r}")
        return Settings(
            data_dir=Path(get("DIFYFORGE_DATA_DIR") or PROJECT_ROOT / "data"),
            provider=provider,
            log_content=(get("DIFYFORGE_LOG_CONTENT") or "1").lower() not in ("0", "false", "no", "off"),
            repair_rounds=_int(get("DIFYFORGE_REPAIR_ROUNDS")) if get("DIFYFORGE_REPAIR_ROUNDS") else 2,
            max_cost_usd_per_run=_float(get("DIFYFORGE_MAX_COST_PER_RUN")),
            max_tokens_per_run=_int(get("DIFYFORGE_MAX_TOKENS_PER_RUN")),
            max_cost_usd_per_day=_float(get("DIFYFORGE_MAX_COST_PER_DAY")),
            target_dsl_version=version,
            chroma_url=get("DIFYFORGE_CHROMA_URL"),
            prompt_version=get("DIFYFORGE_PROMPT_VERSION") or "v1",
            rules_stand_in=(get("DIFYFORGE_RULES_STAND_IN") or "1").lower() not in ("0", "false", "no", "off"),
        )
    except ValueError as exc:
        if "DIFYFORGE_" in str(exc):
            raise
        raise ValueError(f"A numeric DifyForge setting is not a number: {exc}") from exc
