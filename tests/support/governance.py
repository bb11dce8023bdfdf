"""Helpers for governance tests: a gateway with an admin key, key creation through the admin API, and the
expected price of a usage straight from genai-prices (independently of the gateway's pricing module)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
from genai_prices import Usage, calc_price

from tests.conftest import UPSTREAM_KEY
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway

ADMIN_KEY = "admin-secret-for-tests-0123456789"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
MODEL = "claude-3-sonnet-20240229"


def governance_section(**overrides: Any) -> dict[str, Any]:
    return {
        "admin_key": ADMIN_KEY,
        "reconcile_interval_seconds": 0.2,
        "key_cache_seconds": 5.0,
        "spend_cache_seconds": 2.0,
        **overrides,
    }


@contextmanager
def governed_gateway(
    emulator: EmulatorHandle,
    database_url: str,
    *,
    redis_url: str | None = None,
    providers: dict[str, Any] | None = None,
    **governance: Any,
) -> Iterator[str]:
    """Yields the gateway base URL (``http://host:port``; clients use ``/anthropic``, admins ``/admin``).
    ``providers`` replaces the default (Anthropic on ``emulator``)."""
    providers = providers or {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator.base_url}}
    sections: dict[str, Any] = {"governance": governance_section(**governance)}
    if redis_url:
        sections["redis"] = {"url": redis_url}
    with running_gateway(providers, database_url, **sections) as base:
        yield base


def create_key(base: str, name: str, **fields: Any) -> dict[str, Any]:
    response = httpx.post(f"{base}/admin/keys", headers=ADMIN, json={"name": name, **fields}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def report(base: str, group_by: str = "key", **params: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/admin/usage", headers=ADMIN, params={"group_by": group_by, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def key_row(base: str, key_id: str) -> dict[str, Any] | None:
    return next((row for row in report(base)["data"] if row["key_id"] == key_id), None)


def wait_for(predicate: Any, *, timeout: float = 20.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def params(text: str = "What is 2+2?", model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}], **extra}


def expected_price(
    model: str,
    usage: dict[str, Any],
    *,
    batch_fraction: Decimal | None = None,
    batch_variant: bool = False,
    provider_id: str = "anthropic",
) -> Decimal:
    """sum of tokens x the genai-prices price. ``batch_fraction`` scales the standard price (providers' documented
    batch discount) for models without a genai-prices batch variant; ``batch_variant`` uses that variant."""
    cache_read = usage.get("cache_read_input_tokens") or 0
    cache_write = usage.get("cache_creation_input_tokens") or 0
    genai_usage = Usage(
        input_tokens=usage["input_tokens"] + cache_read + cache_write,
        output_tokens=usage["output_tokens"],
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    context = {"processing": "batch"} if batch_variant else None
    price = calc_price(genai_usage, model, provider_id=provider_id, price_context=context).total_price
    return price * batch_fraction if batch_fraction is not None else price
