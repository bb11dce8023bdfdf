"""Prices from the ``genai-prices`` package, never guessed: an unknown model prices as ``None``.

Anthropic's usage counts ``input_tokens`` WITHOUT cache tokens; genai-prices wants the total input with the cache
reads and writes as parts of it, so the conversion happens here, in one place.

Batch discounts: genai-prices models them as a ``processing=batch`` price variant for the models whose providers
publish a batch price table (it covers current Anthropic and OpenAI models, not retired ones). When no variant
applies, the documented provider discount in ``BATCH_DISCOUNT`` is applied instead, so every batch is discounted
exactly once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from genai_prices import Usage, data_snapshot
from genai_prices.types import ModelPrice, TieredPrices

from finops.core.providers import ProviderName, is_provider_name

# Gateway provider name -> genai-prices provider id.
PROVIDER_IDS: dict[ProviderName, str] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "gemini": "google",
    "bedrock": "aws",
}

# Batch price as a fraction of the standard price, when genai-prices has no batch variant for the model.
# Anthropic, OpenAI and Gemini batch APIs are 50 % of standard; Bedrock batch inference is 50 % too.
BATCH_DISCOUNT: dict[ProviderName, Decimal] = {
    "anthropic": Decimal("0.5"),
    "openai": Decimal("0.5"),
    "gemini": Decimal("0.5"),
    "bedrock": Decimal("0.5"),
}
_BATCH_CONTEXT = {"processing": "batch"}


@dataclass(frozen=True)
class TokenUsage:
    """Anthropic-style counts: ``input_tokens`` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @classmethod
    def from_anthropic(cls, usage: dict[str, Any] | None) -> TokenUsage:
        if not usage:
            return cls()
        creation = usage.get("cache_creation") or {}
        return cls(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
            cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            cache_write_1h_tokens=int(creation.get("ephemeral_1h_input_tokens") or 0),
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    def for_genai_prices(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + self.cache_read_tokens + self.cache_write_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_write_1h_tokens=min(self.cache_write_1h_tokens, self.cache_write_tokens),
        )


_MTOK = 1_000_000


@dataclass(frozen=True)
class _Resolved:
    price: ModelPrice
    multiplier: Decimal
    per_mtok: tuple[Decimal, Decimal, Decimal, Decimal, Decimal] | None = None
    """(uncached input, cache read, 5m cache write, 1h cache write, output) USD per million tokens, when the
    price has no tiers: pricing is then linear and ``cost`` skips genai-prices' per-call work (~50 µs)."""


def _linear(price: ModelPrice) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal] | None:
    """Per-token rates measured through genai-prices itself (so its fallbacks, e.g. a missing cache price,
    carry over exactly); ``None`` for tiered prices, whose cost depends on the prompt size."""
    if any(isinstance(value, TieredPrices) for value in price.__dict__.values()):
        return None

    def at(**counts: int) -> Decimal:
        return price.calc_price(Usage(**counts))["total_price"]

    if at() != 0:
        return None  # a fixed per-request part: not linear in tokens
    base = at(input_tokens=_MTOK)
    return (
        base,
        at(input_tokens=_MTOK, cache_read_tokens=_MTOK),
        at(input_tokens=_MTOK, cache_write_tokens=_MTOK),
        at(input_tokens=_MTOK, cache_write_tokens=_MTOK, cache_write_1h_tokens=_MTOK),
        at(output_tokens=_MTOK),
    )


def load_price_table() -> None:
    """Load genai-prices' bundled table now, at startup: the first lookup imports it (~0.2 s of one module's code,
    part of it one long unmarshal), which in a request would hold the event loop and every request behind it."""
    data_snapshot.get_snapshot()


@functools.lru_cache(maxsize=4096)
def _resolve(provider: str, model: str, batch: bool, day: date) -> _Resolved | None:
    """The model's price table for ``day`` (cached: a lookup costs ~100 µs, a cached hit nothing)."""
    if not is_provider_name(provider):
        return None
    try:
        found_provider, found_model = data_snapshot.get_snapshot().find_provider_model(
            model, None, PROVIDER_IDS[provider], None
        )
    except LookupError:
        return None
    when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    standard = found_model.get_prices(when)
    if not batch:
        return _Resolved(standard, Decimal(1), _linear(standard))
    # genai-prices only applies variants to a model listed under the provider itself (not a fallback match).
    own_model = any(found_model is candidate for candidate in found_provider.models)
    variant = found_model.get_prices(when, _BATCH_CONTEXT) if own_model else standard
    if variant != standard:
        return _Resolved(variant, Decimal(1), _linear(variant))
    return _Resolved(standard, BATCH_DISCOUNT[provider], _linear(standard))


def cost(
    provider: str, model: str, usage: TokenUsage, *, batch: bool = False, when: date | None = None
) -> Decimal | None:
    """USD cost of ``usage``; ``None`` when genai-prices does not know the model (never guessed)."""
    resolved = _resolve(provider, model, batch, when or datetime.now(UTC).date())
    if resolved is None:
        return None
    if resolved.per_mtok is not None:
        uncached, read, write, write_1h, output = resolved.per_mtok
        long_writes = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
        total = (
            usage.input_tokens * uncached
            + usage.cache_read_tokens * read
            + (usage.cache_write_tokens - long_writes) * write
            + long_writes * write_1h
            + usage.output_tokens * output
        ) / _MTOK
        return total * resolved.multiplier
    try:
        total = resolved.price.calc_price(usage.for_genai_prices())["total_price"]
    except (ValueError, KeyError):
        return None
    return total * resolved.multiplier


def worst_case(provider: str, model: str, input_tokens: int, max_tokens: int, *, batch: bool) -> Decimal | None:
    """Most a request can cost: all of ``input_tokens`` uncached plus ``max_tokens`` of output."""
    return cost(provider, model, TokenUsage(input_tokens=input_tokens, output_tokens=max_tokens), batch=batch)
