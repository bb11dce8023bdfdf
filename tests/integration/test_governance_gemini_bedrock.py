"""Cost accuracy through the Gemini and Bedrock adapters: Gemini reports cached prompt tokens (long prompts) and
thinking tokens (2.5 models); Bedrock's Claude reports cache writes and reads (``cache_control``). Sync, streaming
and (Gemini) batch requests are recorded at the genai-prices price within 0.1 %, batch discounts included."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest

from finops.emulators.bedrock.app import create_app as bedrock_app
from finops.emulators.gemini.app import create_app as gemini_app
from tests.support.emulator import EmulatorHandle
from tests.support.governance import create_key, expected_price, governed_gateway, key_row, params, wait_for
from tests.support.servers import serve_in_thread

LONG = "Explain the water cycle step by step with examples from three continents. " * 120  # > 1024 tokens
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-lite-v1:0"


def close(actual: float, expected: Decimal) -> bool:
    return abs(Decimal(str(actual)) - expected) <= expected * Decimal("0.001")


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[str, str]]:
    with serve_in_thread(gemini_app(batch_seconds=1.0)) as gemini, serve_in_thread(bedrock_app()) as bedrock:
        yield gemini, bedrock


def sdk(base: str, key: str, provider: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{base}/anthropic", api_key=key, max_retries=0, default_headers={"x-model-provider": provider}
    )


def test_gemini_and_bedrock_spend(upstreams: tuple[str, str], sqlite_url: str) -> None:
    gemini_url, bedrock_url = upstreams
    providers = {
        "gemini": {"api_key": "gemini-upstream-key", "base_url": gemini_url},
        "bedrock": {
            "region": "us-east-1",
            "base_url": bedrock_url,
            "access_key_id": "AKIAFINOPSEMULATOR",
            "secret_access_key": "finops-emulator-secret",
        },
    }
    with governed_gateway(EmulatorHandle(gemini_url), sqlite_url, providers=providers) as base:
        key = create_key(base, "gemini-bedrock")
        gemini, bedrock = sdk(base, key["key"], "gemini"), sdk(base, key["key"], "bedrock")
        expected = Decimal(0)
        seen = {"requests": 0, "cache_read": 0, "cache_write": 0}

        def add(model: str, provider_id: str, usage: dict[str, Any], **batch: Any) -> None:
            nonlocal expected
            expected += expected_price(model, usage, provider_id=provider_id, **batch)
            seen["requests"] += 1
            seen["cache_read"] += usage.get("cache_read_input_tokens") or 0
            seen["cache_write"] += usage.get("cache_creation_input_tokens") or 0

        add(
            "gemini-2.5-flash",
            "google",
            gemini.messages.create(**params(LONG, model="gemini-2.5-flash")).usage.model_dump(),
        )
        add(
            "gemini-1.5-flash",
            "google",
            gemini.messages.create(**params("short", model="gemini-1.5-flash")).usage.model_dump(),
        )
        with gemini.messages.stream(**params(LONG, model="gemini-2.5-flash")) as stream:
            add("gemini-2.5-flash", "google", stream.get_final_message().usage.model_dump())
        batches = {
            "gemini-2.5-flash": {"batch_variant": True},  # genai-prices has Gemini 2.5's batch price
            "gemini-1.5-flash": {"batch_fraction": Decimal("0.5")},  # it has none for 1.5: Google's 50 %
        }
        for model, discount in batches.items():
            batch = gemini.messages.batches.create(
                requests=[{"custom_id": f"g{i}", "params": params(LONG + str(i), model=model)} for i in range(2)]
            )
            wait_for(lambda b=batch.id: gemini.messages.batches.retrieve(b).processing_status == "ended")
            for entry in gemini.messages.batches.results(batch.id):
                add(model, "google", entry.result.message.usage.model_dump(), **discount)

        cached_system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
        for _ in range(2):  # the first call writes the cache, the second reads it
            add(
                CLAUDE,
                "aws-bedrock",
                bedrock.messages.create(**params("hi", model=CLAUDE, system=cached_system)).usage.model_dump(),
            )
        with bedrock.messages.stream(**params("tell me more", model=CLAUDE, system=cached_system)) as stream:
            add(CLAUDE, "aws-bedrock", stream.get_final_message().usage.model_dump())
        add(NOVA, "aws-bedrock", bedrock.messages.create(**params("hello nova", model=NOVA)).usage.model_dump())

        assert seen["cache_read"] > 0 and seen["cache_write"] > 0  # the cache paths really were priced
        row = wait_for(lambda: (r := key_row(base, key["id"])) and r["requests"] == seen["requests"] and r)
        assert row["unpriced_requests"] == 0
        assert close(row["cost_usd"], expected), (row["cost_usd"], expected)
