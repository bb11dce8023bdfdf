"""Accuracy: a mix of sync, streaming and batch requests is recorded at sum of tokens x the genai-prices price
(within 0.1 %), batch discount included; reports and /metrics (with its token) show it.

The Anthropic emulator reports no cache tokens, so cache pricing is covered at the unit level
(tests/unit/governance/test_pricing.py) against genai-prices directly."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import httpx
import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.governance import (
    ADMIN,
    MODEL,
    create_key,
    expected_price,
    governed_gateway,
    key_row,
    params,
    report,
    wait_for,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK flags the older model names

NEW_MODEL = "claude-sonnet-4-5-20250929"  # genai-prices has a batch price variant for it; claude-3-sonnet has not


def close(actual: float, expected: Decimal) -> bool:
    return abs(Decimal(str(actual)) - expected) <= expected * Decimal("0.001")


def test_recorded_spend_matches_genai_prices(anthropic_emulator: EmulatorHandle, database_url: str) -> None:
    with governed_gateway(anthropic_emulator, database_url, metrics_token="scrape-0123") as base:
        key = create_key(base, "accounting")
        client = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key=key["key"], max_retries=0)
        expected = Decimal(0)
        tokens = {"input_tokens": 0, "output_tokens": 0}

        def add(model: str, usage: dict, **batch: object) -> None:
            nonlocal expected
            expected += expected_price(model, usage, **batch)  # type: ignore[arg-type]
            tokens["input_tokens"] += usage["input_tokens"]
            tokens["output_tokens"] += usage["output_tokens"]

        for text in ("What is 2+2?", "Write a haiku about the sea " * 20):
            message = client.messages.create(**params(text))
            add(MODEL, message.usage.model_dump())
        for model in (MODEL, NEW_MODEL):
            with client.messages.stream(**params("Tell me a story " * 30, model=model)) as stream:
                final = stream.get_final_message()
            add(model, final.usage.model_dump())

        requests = [
            {"custom_id": f"r{index}", "params": params(f"question {index} " * (index + 1), model=model)}
            for index, model in enumerate([MODEL, MODEL, MODEL])
        ]
        old_batch = client.messages.batches.create(requests=requests)
        new_batch = client.messages.batches.create(
            requests=[{"custom_id": "n0", "params": params("a newer model " * 10, model=NEW_MODEL)}]
        )
        for batch_id in (old_batch.id, new_batch.id):
            wait_for(lambda b=batch_id: client.messages.batches.retrieve(b).processing_status == "ended")
        for entry in client.messages.batches.results(old_batch.id):
            add(MODEL, entry.result.message.usage.model_dump(), batch_fraction=Decimal("0.5"))
        for entry in client.messages.batches.results(new_batch.id):
            add(NEW_MODEL, entry.result.message.usage.model_dump(), batch_variant=True)

        total_requests = 4 + len(requests) + 1
        row = wait_for(lambda: (r := key_row(base, key["id"])) and r["requests"] == total_requests and r)
        assert row["key_name"] == "accounting" and row["unpriced_requests"] == 0
        assert row["input_tokens"] == tokens["input_tokens"] and row["output_tokens"] == tokens["output_tokens"]
        assert close(row["cost_usd"], expected), (row["cost_usd"], expected)

        by_model = {item["model"]: item for item in report(base, "model")["data"]}
        assert by_model[NEW_MODEL]["requests"] >= 2 and by_model[MODEL]["requests"] >= 5
        assert "anthropic" in [item["provider"] for item in report(base, "provider")["data"]]
        days = report(base, "day", **{"from": "2000-01-01"})["data"]
        assert sum(item["requests"] for item in days) >= total_requests
        assert report(base, "day", **{"from": "2999-01-01"})["data"] == []

        spend = httpx.get(f"{base}/admin/keys/{key['id']}", headers=ADMIN).json()["spend_usd"]
        assert close(spend, expected)

        # Per-key series only for the scraper holding governance.metrics_token.
        exposition = httpx.get(f"{base}/metrics", headers={"authorization": "Bearer scrape-0123"}).text
        assert (
            'finops_cost_usd_total{key="accounting",model="claude-3-sonnet-20240229",provider="anthropic"}'
            in exposition
        )
        assert "finops_llm_request_seconds_bucket" in exposition and "finops_tokens_total" in exposition


def test_batch_cost_kept_after_delete(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    # A slow reconciler: the delete itself must record the batch's usage before the batch is forgotten.
    with governed_gateway(anthropic_emulator, sqlite_url, reconcile_interval_seconds=3600) as base:
        key = create_key(base, "deleter")
        client = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key=key["key"], max_retries=0)
        batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
        wait_for(lambda: client.messages.batches.retrieve(batch.id).processing_status == "ended")
        usage = next(iter(client.messages.batches.results(batch.id))).result.message.usage.model_dump()
        client.messages.batches.delete(batch.id)
        row = key_row(base, key["id"])
        assert row is not None and row["requests"] == 1
        assert close(row["cost_usd"], expected_price(MODEL, usage, batch_fraction=Decimal("0.5")))
