"""Usage records shared by the model client, the pipeline and the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class CallRecord:
    """One model call (one attempt) or one offline step, as the ledger stores it.

    The model client fills one of these for every attempt, successful or not, and hands it to
    the pipeline's ``on_call`` callback the moment the response (or the error) arrives.
    """

    agent: str
    """Which agent made the call: requirements, architecture, configuration, quality."""
    provider: str
    """``offline``, ``openai`` (any OpenAI-compatible endpoint), ..."""
    model: str
    attempt: int = 1
    """1 for the first try; retries and the fallback model count on."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens served from the provider's cache (a subset of prompt_tokens)."""
    latency_ms: float = 0.0
    outcome: str = "ok"
    """``ok`` or ``error``."""
    error_category: str | None = None
    """One of ``core.errors.ERROR_CATEGORIES`` when outcome is ``error``."""
    error_message: str | None = None
    prompt_text: str | None = None
    response_text: str | None = None
    is_fallback: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens of this call."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class RunUsage:
    """Sum of a run's calls; ``cost_usd`` is ``None`` when any priced call had an unknown price."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: Decimal | None = Decimal(0)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens of every call so far."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, call: CallRecord, cost_usd: Decimal | None) -> None:
        """Count one call and its cost; an unknown cost (``None``) makes the run's cost unknown."""
        self.calls += 1
        self.prompt_tokens += call.prompt_tokens
        self.completion_tokens += call.completion_tokens
        self.cached_tokens += call.cached_tokens
        if cost_usd is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += cost_usd
