"""Pricing: known models priced from genai-prices' bundled data, unknown ones NULL, offline 0."""

from __future__ import annotations

from decimal import Decimal

from genai_prices import Usage, calc_price

from core.pricing import price_call


def test_known_openai_model_is_priced_like_genai_prices():
    price = price_call("openai", "gpt-4o-mini", 1000, 500, 0)
    expected = calc_price(Usage(input_tokens=1000, output_tokens=500), "gpt-4o-mini", provider_id="openai").total_price
    assert price.cost_usd == expected and price.cost_usd > 0
    assert price.source == "genai-prices:openai/gpt-4o-mini"


def test_cached_tokens_are_priced_as_cached():
    full = price_call("openai", "gpt-4o-mini", 1000, 0, 0).cost_usd
    cached = price_call("openai", "gpt-4o-mini", 1000, 0, 800).cost_usd
    assert Decimal(0) < cached < full


def test_unknown_model_costs_null_not_zero():
    price = price_call("openai", "my-local-llama-finetune", 1000, 500, 0)
    assert price.cost_usd is None and price.source == "unknown"


def test_offline_steps_cost_zero():
    price = price_call("offline", "offline", 0, 0, 0)
    assert price.cost_usd == Decimal(0) and price.source == "offline"


def test_openai_compatible_endpoint_serving_another_vendors_model():
    price = price_call("openai", "claude-3-5-haiku-latest", 1000, 100, 0)
    assert price.cost_usd is not None and price.cost_usd > 0
    assert price.source.startswith("genai-prices:anthropic/")


def test_pricing_does_not_start_a_price_updater():
    import genai_prices.data_snapshot as snap

    price_call("openai", "gpt-4o", 10, 10, 0)
    assert snap._custom_snapshot is None  # only the bundled snapshot, no fetched one
