"""Isolation matrix: everything key B tries on key A's files and batches answers 404 or leaves them out."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.governance import create_key, governed_gateway, params, wait_for


@pytest.fixture(params=[False, True], ids=["open-mode", "required-mode"])
def gateway(request: pytest.FixtureRequest, anthropic_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    with governed_gateway(anthropic_emulator, sqlite_url, require_virtual_key=request.param) as base:
        yield base


def test_key_b_cannot_touch_key_a_objects(gateway: str) -> None:
    a = {"x-api-key": create_key(gateway, "iso-a")["key"]}
    b = {"x-api-key": create_key(gateway, "iso-b")["key"]}
    client = httpx.Client(base_url=f"{gateway}/anthropic", timeout=30)

    file_id = client.post("/v1/files", headers=a, files={"file": ("a.txt", b"secret of a", "text/plain")}).json()["id"]
    batch = client.post("/v1/messages/batches", headers=a, json={"requests": [{"custom_id": "x", "params": params()}]})
    assert batch.status_code == 200, batch.text
    batch_id = batch.json()["id"]
    ended = wait_for(
        lambda: client.get(f"/v1/messages/batches/{batch_id}", headers=a).json()["processing_status"] == "ended"
    )
    assert ended

    foreign = [
        client.get(f"/v1/files/{file_id}", headers=b),
        client.get(f"/v1/files/{file_id}/content", headers=b),
        client.delete(f"/v1/files/{file_id}", headers=b),
        client.get(f"/v1/messages/batches/{batch_id}", headers=b),
        client.get(f"/v1/messages/batches/{batch_id}/results", headers=b),
        client.post(f"/v1/messages/batches/{batch_id}/cancel", headers=b),
        client.delete(f"/v1/messages/batches/{batch_id}", headers=b),
    ]
    for response in foreign:
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.json()["error"]["type"] == "not_found_error"
    assert file_id not in [item["id"] for item in client.get("/v1/files", headers=b).json()["data"]]
    assert batch_id not in [item["id"] for item in client.get("/v1/messages/batches", headers=b).json()["data"]]

    # A's objects are intact after all of B's attempts.
    assert client.get(f"/v1/files/{file_id}", headers=a).status_code == 200
    assert client.get(f"/v1/messages/batches/{batch_id}/results", headers=a).status_code == 200
    assert file_id in [item["id"] for item in client.get("/v1/files", headers=a).json()["data"]]
    assert batch_id in [item["id"] for item in client.get("/v1/messages/batches", headers=a).json()["data"]]
