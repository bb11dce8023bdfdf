"""Pricing against genai-prices directly: cache reads/writes, the 1h cache tier, batch discounts, unknown models."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from finops.governance import pricing
from finops.governance.pricing import TokenUsage


def test_anthropic_usage_counts_cache_tokens_as_part_of_the_input() -> None:
    usage = TokenUsage.from_anthropic(
        {
            "input_tokens": 100,
            "output_tokens": 50,
            "cache_read_input_tokens": 2000,
            "cache_creation_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400},
        }
    )
    model = "claude-3-5-haiku-20241022"
    direct = calc_price(
        Usage(
            input_tokens=3100,
            output_tokens=50,
            cache_read_tokens=2000,
            cache_write_tokens=1000,
            cache_write_1h_tokens=400,
        ),
        model,
        provider_id="anthropic",
    ).total_price
    assert pricing.cost("anthropic", model, usage) == direct
    # By hand: $0.8/M input, $0.08/M cache read, $1/M 5m write, $1.6/M 1h write, $4/M output.
    by_hand = (100 * Decimal("0.8") + 2000 * Decimal("0.08") + 600 + 400 * Decimal("1.6") + 50 * 4) / 1_000_000
    assert pricing.cost("anthropic", model, usage) == by_hand


@pytest.mark.parametrize(
    ("provider", "model", "genai_provider"),
    [("openai", "gpt-4o-mini", "openai"), ("gemini", "gemini-2.0-flash", "google")],
)
def test_cache_reads_on_other_providers(provider: str, model: str, genai_provider: str) -> None:
    usage = TokenUsage(input_tokens=1000, output_tokens=200, cache_read_tokens=4000)
    direct = calc_price(
        Usage(input_tokens=5000, output_tokens=200, cache_read_tokens=4000), model, provider_id=genai_provider
    ).total_price
    assert pricing.cost(provider, model, usage) == direct
    assert pricing.cost(provider, model, usage) < pricing.cost(provider, model, TokenUsage(5000, 200))


def test_batch_uses_the_genai_prices_variant_when_there_is_one() -> None:
    usage = TokenUsage(input_tokens=10_000, output_tokens=1_000)
    model = "claude-sonnet-4-5-20250929"
    variant = calc_price(
        usage.for_genai_prices(), model, provider_id="anthropic", price_context={"processing": "batch"}
    ).total_price
    standard = pricing.cost("anthropic", model, usage)
    assert variant < standard
    assert pricing.cost("anthropic", model, usage, batch=True) == variant  # not discounted twice


def test_batch_falls_back_to_the_documented_discount() -> None:
    usage = TokenUsage(input_tokens=10_000, output_tokens=1_000)
    model = "claude-3-sonnet-20240229"  # retired: genai-prices has no batch variant for it
    standard = pricing.cost("anthropic", model, usage)
    assert standard is not None
    assert pricing.cost("anthropic", model, usage, batch=True) == standard * pricing.BATCH_DISCOUNT["anthropic"]


def test_unknown_models_and_providers_are_not_guessed() -> None:
    assert pricing.cost("anthropic", "no-such-model-xyz", TokenUsage(10, 10)) is None
    assert pricing.cost("nowhere", "gpt-4o", TokenUsage(10, 10)) is None


def test_bedrock_model_ids_are_priced() -> None:
    cost = pricing.cost("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", TokenUsage(1_000_000, 0))
    assert cost == Decimal(3)


def test_worst_case_is_all_input_plus_max_tokens_at_batch_price() -> None:
    model = "claude-3-sonnet-20240229"
    worst = pricing.worst_case("anthropic", model, 1_000_000, 1_000_000, batch=True)
    assert worst == (Decimal(3) + Decimal(15)) / 2


@pytest.mark.parametrize(
    ("provider", "genai_provider", "model"),
    [
        ("anthropic", "anthropic", "claude-3-5-haiku-20241022"),
        ("anthropic", "anthropic", "claude-sonnet-4-5-20250929"),  # tiered: the slow path
        ("anthropic", "anthropic", "claude-opus-4-1-20250805"),
        ("openai", "openai", "gpt-4o"),
        ("openai", "openai", "gpt-4.1-mini"),
        ("gemini", "google", "gemini-2.5-flash"),
        ("gemini", "google", "gemini-1.5-pro"),
        ("bedrock", "aws", "amazon.nova-lite-v1:0"),
    ],
)
def test_fast_linear_path_equals_genai_prices(provider: str, genai_provider: str, model: str) -> None:
    rng = random.Random(model)
    for batch in (False, True):
        for _ in range(50):
            usage = TokenUsage(
                input_tokens=rng.randint(0, 300_000),
                output_tokens=rng.randint(0, 20_000),
                cache_read_tokens=rng.choice([0, rng.randint(0, 100_000)]),
                cache_write_tokens=(writes := rng.choice([0, rng.randint(0, 50_000)])),
                cache_write_1h_tokens=rng.randint(0, writes),
            )
            context = {"processing": "batch"} if batch else None
            direct = calc_price(usage.for_genai_prices(), model, provider_id=genai_provider, price_context=context)
            ours = pricing.cost(provider, model, usage, batch=batch)
            assert ours is not None
            if (
                batch
                and direct.model_price
                == calc_price(usage.for_genai_prices(), model, provider_id=genai_provider).model_price
            ):
                expected = direct.total_price * pricing.BATCH_DISCOUNT[provider]  # no variant: documented discount
            else:
                expected = direct.total_price
            assert abs(ours - expected) <= Decimal("1e-18"), (usage, batch, ours, expected)
