"""Token usage to US dollars, from genai-prices' bundled price data (never fetched at run time).

A model genai-prices does not know costs ``None`` with source ``unknown`` (shown as unknown, never
as $0). Offline steps cost 0 with source ``offline``. Our provider ``openai`` means any
OpenAI-compatible endpoint, so the model name is first matched on its own (genai-prices finds the
provider: ``claude-3-5-haiku`` prices as Anthropic even behind a gateway), then as an OpenAI model.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price

OFFLINE = "offline"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Price:
    """What one call cost."""

    cost_usd: Decimal | None
    """``None`` means the price is unknown, not zero."""
    source: str
    """``genai-prices:<provider>/<model>``, ``offline`` or ``unknown``."""


def _candidates(provider: str) -> list[str | None]:
    """Provider ids to try with genai-prices, in order (None = let it detect the provider)."""
    if provider in ("openai", "openai-compatible", ""):
        return [None, "openai"]
    return [provider, None]


@lru_cache(maxsize=1024)
def _resolve(provider: str, model: str) -> str | None | bool:
    """The provider id that prices ``model`` (None: auto-detect), or False when nothing does."""
    probe = Usage(input_tokens=1, output_tokens=1)
    for candidate in _candidates(provider):
        try:
            calc_price(probe, model, provider_id=candidate)
            return candidate
        except LookupError:
            continue
    return False


def price_call(provider: str, model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Price:
    """Price one call from its token counts.

    Args:
        provider: our provider kind (``offline``, ``openai``) or a genai-prices provider id.
        model: the model name the endpoint reported (or was asked for).
        prompt_tokens: input tokens, including the cached ones.
        completion_tokens: output tokens.
        cached_tokens: the part of ``prompt_tokens`` served from the provider's cache (priced as cached).

    Returns:
        The cost (``None`` when unknown) and where the price came from.
    """
    if provider == OFFLINE:
        return Price(Decimal(0), OFFLINE)
    if not model:
        return Price(None, UNKNOWN)
    provider_id = _resolve(provider, model)
    if provider_id is False:
        return Price(None, UNKNOWN)
    usage = Usage(
        input_tokens=max(0, prompt_tokens),
        output_tokens=max(0, completion_tokens),
        cache_read_tokens=max(0, min(cached_tokens, prompt_tokens)),
    )
    try:
        calc = calc_price(usage, model, provider_id=provider_id)  # type: ignore[arg-type]
    except (LookupError, ValueError):  # e.g. a usage shape this model has no price for
        return Price(None, UNKNOWN)
    return Price(calc.total_price, f"genai-prices:{calc.provider.id}/{calc.model.id}")
