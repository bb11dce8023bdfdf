"""FOCUS rows from rollup rows: who sold, who published, list cost for batches, formats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest

from finops.core.errors import InvalidRequestError
from finops.governance.focus import export_day, focus_row, publisher


def _rollup(**changes: Any) -> dict[str, Any]:
    row = {
        "day": date(2026, 12, 31),
        "key_id": "vk_1",
        "key_name": "team-a",
        "provider": "anthropic",
        "model": "claude-3-sonnet-20240229",
        "batch": False,
        "requests": 3,
        "unpriced_requests": 0,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_read_tokens": 50,
        "cache_write_tokens": 5,
        "cost_usd": Decimal("0.0061500000"),
        "saved_usd": Decimal(0),
    }
    return {**row, **changes}


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("anthropic", "claude-3-haiku-20240307", "Anthropic"),
        ("openai", "gpt-4o-mini", "OpenAI"),
        ("gemini", "gemini-2.5-flash", "Google"),
        ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", "Anthropic"),
        ("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", "Anthropic"),
        ("bedrock", "amazon.nova-lite-v1:0", "Amazon"),
        ("bedrock", "meta.llama3-8b-instruct-v1:0", "Meta"),
        ("bedrock", "something-new", "Amazon Web Services"),
    ],
)
def test_publisher_is_who_made_the_model(provider: str, model: str, expected: str) -> None:
    assert publisher(provider, model) == expected


def test_a_row_names_seller_service_period_and_key() -> None:
    row = focus_row(_rollup())
    assert (row["ProviderName"], row["InvoiceIssuerName"], row["ServiceName"]) == (
        "Anthropic",
        "Anthropic",
        "Claude API",
    )
    assert (row["ChargePeriodStart"], row["ChargePeriodEnd"]) == ("2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z")
    assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == ("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert row["BilledCost"] == row["ListCost"] == "0.00615"
    assert row["ConsumedQuantity"] == row["PricingQuantity"] == "1255"
    assert orjson.loads(row["Tags"] or "") == {"finops/key-id": "vk_1", "finops/key-name": "team-a"}
    assert row["SkuPriceId"] == "anthropic/claude-3-sonnet-20240229/standard"
    bedrock = focus_row(_rollup(provider="bedrock", model="amazon.nova-lite-v1:0", key_id="", key_name=None))
    assert (bedrock["ProviderName"], bedrock["PublisherName"], bedrock["ServiceName"]) == (
        "Amazon Web Services",
        "Amazon",
        "Amazon Bedrock",
    )
    assert bedrock["SubAccountId"] is None and bedrock["Tags"] == "{}"


def test_batch_usage_lists_at_the_real_time_price() -> None:
    row = focus_row(_rollup(batch=True))
    # claude-3-sonnet has no batch price table in genai-prices: Anthropic's documented 50 % applies.
    assert Decimal(row["ListCost"] or "") == Decimal("0.0123")
    assert row["BilledCost"] == "0.00615" and row["x_Processing"] == "batch"
    unpriced = focus_row(_rollup(batch=True, model="no-such-model", cost_usd=Decimal(0), unpriced_requests=3))
    assert (unpriced["BilledCost"], unpriced["ListCost"], unpriced["x_UnpricedRequests"]) == ("0", "0", "3")


def test_export_bounds_are_whole_utc_days() -> None:
    assert export_day("from", "2026-11-30") == date(2026, 11, 30)
    assert export_day("to", "2026-11-30T00:00:00Z") == date(2026, 11, 30)
    assert export_day("to", "2026-11-30T01:00:00+01:00") == date(2026, 11, 30)
    assert export_day("from", None) is None
    for bad in ("2026-11-30T12:00:00Z", "30/11/2026", "tomorrow"):
        with pytest.raises(InvalidRequestError):
            export_day("from", bad)
