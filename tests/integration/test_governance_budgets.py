"""Budgets and rate limits: refusals happen before the provider is called, with the right status."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.governance import ADMIN, MODEL, create_key, expected_price, governed_gateway, params, wait_for


@pytest.fixture
def gateway(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    with governed_gateway(anthropic_emulator, sqlite_url) as base:
        yield base


def client_for(base: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/anthropic", timeout=30)


def test_tiny_budget_stops_the_right_request(gateway: str, anthropic_emulator: EmulatorHandle) -> None:
    client = client_for(gateway)
    probe = client.post("/v1/messages", headers={"x-api-key": "probe"}, json=params())
    one_request = expected_price(MODEL, probe.json()["usage"])
    # 2.5 requests' worth: requests 1-3 start under budget; after the 3rd the key has spent 3 > 2.5.
    budget = (one_request * Decimal("2.5")).quantize(Decimal("0.00000001"))
    key = create_key(gateway, "tiny", budget_usd=str(budget), budget_period="daily")
    headers = {"x-api-key": key["key"]}
    for _ in range(3):
        response = client.post("/v1/messages", headers=headers, json=params())
        assert response.status_code == 200, response.text
    before = anthropic_emulator.request_count()
    refused = client.post("/v1/messages", headers=headers, json=params())
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "permission_error"
    message = refused.json()["error"]["message"]
    assert "budget exceeded for key 'tiny'" in message and "(daily)" in message and "spent $" in message
    assert refused.headers["x-should-retry"] == "false"
    stream = client.post("/v1/messages", headers=headers, json=params(stream=True))
    assert stream.status_code == 403
    assert anthropic_emulator.request_count() == before

    # Raising the budget lets the key go on at once (the admin change drops the cached key).
    httpx.patch(f"{gateway}/admin/keys/{key['id']}", headers=ADMIN, json={"budget_usd": "1000"})
    assert client.post("/v1/messages", headers=headers, json=params()).status_code == 200


def test_batch_reservation_over_budget_is_refused_before_upstream(
    gateway: str, anthropic_emulator: EmulatorHandle
) -> None:
    client = client_for(gateway)
    key = create_key(gateway, "batcher", budget_usd="0.05", budget_period="monthly")
    headers = {"x-api-key": key["key"]}
    # 100 x 4096 output tokens at $15/M, halved for batch = $3.07 worst case: far over $0.05.
    big = {"requests": [{"custom_id": f"r{i}", "params": params() | {"max_tokens": 4096}} for i in range(100)]}
    before = anthropic_emulator.request_count()
    refused = client.post("/v1/messages/batches", headers=headers, json=big)
    assert refused.status_code == 403, refused.text
    assert "this batch may cost up to $" in refused.json()["error"]["message"]
    assert anthropic_emulator.request_count() == before

    # A small batch fits; its reservation counts as spend until the real cost replaces it.
    small = {"requests": [{"custom_id": "a", "params": params()}]}
    created = client.post("/v1/messages/batches", headers=headers, json=small)
    assert created.status_code == 200, created.text
    reserved = httpx.get(f"{gateway}/admin/keys/{key['id']}", headers=ADMIN).json()["spend_usd"]
    worst = 50 * 15 / 1e6 * 0.5  # at least the output part of the reservation
    assert reserved >= worst
    batch_id = created.json()["id"]
    wait_for(
        lambda: client.get(f"/v1/messages/batches/{batch_id}", headers=headers).json()["processing_status"] == "ended"
    )

    def settled() -> float | None:
        spend = httpx.get(f"{gateway}/admin/keys/{key['id']}", headers=ADMIN).json()["spend_usd"]
        return spend if spend < reserved else None

    actual = wait_for(settled)
    assert 0 < actual < reserved


def test_rpm_limit_answers_429_with_retry_after(gateway: str, anthropic_emulator: EmulatorHandle) -> None:
    client = client_for(gateway)
    headers = {"x-api-key": create_key(gateway, "rpm", rpm=3)["key"]}
    statuses = [client.post("/v1/messages", headers=headers, json=params()).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    before = anthropic_emulator.request_count()
    limited = client.post("/v1/messages", headers=headers, json=params())
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert anthropic_emulator.request_count() == before


def test_tpm_limit_counts_used_tokens(gateway: str) -> None:
    client = client_for(gateway)
    headers = {"x-api-key": create_key(gateway, "tpm", tpm=10)["key"]}
    assert client.post("/v1/messages", headers=headers, json=params()).status_code == 200
    limited = wait_for(
        lambda: (r := client.post("/v1/messages", headers=headers, json=params())).status_code == 429 and r
    )
    assert "tokens per minute" in limited.json()["error"]["message"]
