"""Assertions and waits on the gateway's Anthropic surface, shared by every provider's tests."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

DEMO_KEY = {"x-api-key": "virtual-key-or-dummy-key"}
"""The key the seed's examples send."""


def assert_envelope(response: httpx.Response, status: int, error_type: str, message_part: str = "") -> dict[str, Any]:
    """The response is Anthropic's error envelope with this status and type; returns the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type, body
    assert message_part in body["error"]["message"], body["error"]["message"]
    assert body["request_id"] == response.headers["request-id"]
    assert response.headers["request-id"].startswith("req_")
    return body


def wait_ended(client: httpx.Client, batch_id: str, *, headers: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    """Poll a batch (``client`` is based at ``…/anthropic``) until it has ended; its counts never sum to 0."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.get(f"/v1/messages/batches/{batch_id}", headers=headers).json()
        assert sum(batch["request_counts"].values()) > 0, batch
        if batch["processing_status"] == "ended":
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not end")


def results_of(client: httpx.Client, batch_id: str, *, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The batch's result lines by custom_id; no custom_id may be reported twice."""
    response = client.get(f"/v1/messages/batches/{batch_id}/results", headers=headers)
    assert response.status_code == 200, response.text
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    by_id = {line["custom_id"]: line["result"] for line in lines}
    assert len(by_id) == len(lines), "a custom_id was reported twice"
    return by_id
