"""Cost accuracy through the OpenAI adapter, whose emulator reports cached prompt tokens for long prompts:
sync, streaming and batch requests are recorded at the genai-prices price (cache reads and the OpenAI batch
price included) within 0.1 %."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from decimal import Decimal

import anthropic
import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.governance import create_key, expected_price, governed_gateway, key_row, params, wait_for
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("finops.providers.openai.adapter") is None, reason="the OpenAI adapter is not built yet"
)
MODEL = "gpt-4o-mini"
LONG = "Summarise the history of the printing press in great detail. " * 200  # > 1024 tokens: cached prefix


@pytest.fixture(scope="module")
def openai_emulator() -> Iterator[EmulatorHandle]:
    from finops.emulators.openai.app import create_app

    with serve_in_thread(create_app(batch_seconds=1.0)) as url:
        yield EmulatorHandle(url)


def test_openai_spend_with_cache_reads(openai_emulator: EmulatorHandle, sqlite_url: str) -> None:
    providers = {"openai": {"api_key": "sk-openai-upstream", "base_url": f"{openai_emulator.base_url}/v1"}}
    with governed_gateway(openai_emulator, sqlite_url, providers=providers) as base:
        key = create_key(base, "openai-accounting")
        client = anthropic.Anthropic(
            base_url=f"{base}/anthropic",
            api_key=key["key"],
            default_headers={"x-model-provider": "openai"},
            max_retries=0,
        )
        expected = Decimal(0)
        cache_reads = 0

        def add(usage: dict, **batch: object) -> None:
            nonlocal expected, cache_reads
            expected += expected_price(MODEL, usage, provider_id="openai", **batch)  # type: ignore[arg-type]
            cache_reads += usage.get("cache_read_input_tokens") or 0

        add(client.messages.create(**params(LONG, model=MODEL)).usage.model_dump())
        add(client.messages.create(**params("short one", model=MODEL)).usage.model_dump())
        with client.messages.stream(**params(LONG, model=MODEL)) as stream:
            add(stream.get_final_message().usage.model_dump())
        batch = client.messages.batches.create(
            requests=[{"custom_id": f"b{i}", "params": params(LONG + str(i), model=MODEL)} for i in range(2)]
        )
        wait_for(lambda: client.messages.batches.retrieve(batch.id).processing_status == "ended")
        for entry in client.messages.batches.results(batch.id):
            add(entry.result.message.usage.model_dump(), batch_variant=True)

        assert cache_reads > 0, "the emulator should report cached prompt tokens for long prompts"
        row = wait_for(lambda: (r := key_row(base, key["id"])) and r["requests"] == 5 and r)
        assert row["cache_read_tokens"] == cache_reads and row["unpriced_requests"] == 0
        assert abs(Decimal(str(row["cost_usd"])) - expected) <= expected * Decimal("0.001"), (row, expected)
