"""Admin API (keys) and the two authentication modes, through a real gateway in front of the emulator."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.anthropic_api import assert_envelope
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import ADMIN, ADMIN_KEY, MODEL, create_key, governed_gateway, params


@pytest.fixture
def required(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    with governed_gateway(anthropic_emulator, sqlite_url, require_virtual_key=True) as base:
        yield base


@pytest.fixture
def open_mode(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    with governed_gateway(anthropic_emulator, sqlite_url) as base:
        yield base


def test_admin_api_disabled_without_admin_key(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}}
    with running_gateway(providers, sqlite_url) as base:
        response = httpx.post(f"{base}/admin/keys", headers=ADMIN, json={"name": "x"})
        assert_envelope(response, 403, "permission_error", "disabled")
        assert_envelope(httpx.get(f"{base}/admin/usage", headers=ADMIN), 403, "permission_error", "disabled")


def test_admin_api_refuses_missing_and_wrong_admin_key(open_mode: str) -> None:
    assert_envelope(httpx.get(f"{open_mode}/admin/keys"), 401, "authentication_error")
    assert_envelope(httpx.get(f"{open_mode}/admin/keys", headers={"x-api-key": "nope"}), 401, "authentication_error")
    created = create_key(open_mode, "team-x")
    # A virtual key is not an admin key.
    forged = httpx.get(f"{open_mode}/admin/keys", headers={"x-api-key": created["key"]})
    assert_envelope(forged, 401, "authentication_error")
    assert httpx.get(f"{open_mode}/admin/keys", headers={"x-api-key": ADMIN_KEY}).status_code == 200


def test_key_lifecycle_and_secret_is_only_stored_hashed(open_mode: str, sqlite_url: str) -> None:
    created = create_key(
        open_mode, "team-a", budget_usd=12.5, budget_period="weekly", rpm=100, tpm=5000, providers=["anthropic"]
    )
    secret = created["key"]
    assert secret.startswith("sk-fo-") and len(secret) - len("sk-fo-") >= 32
    assert created["id"].startswith("vk_") and created["budget_period"] == "weekly"
    key_id = created["id"]
    shown = httpx.get(f"{open_mode}/admin/keys/{key_id}", headers=ADMIN).json()
    assert "key" not in shown and shown["name"] == "team-a" and shown["spend_usd"] == 0
    listed = httpx.get(f"{open_mode}/admin/keys", headers=ADMIN).json()["data"]
    assert key_id in [item["id"] for item in listed] and all("key" not in item for item in listed)

    patched = httpx.patch(f"{open_mode}/admin/keys/{key_id}", headers=ADMIN, json={"rpm": None, "models": [MODEL]})
    assert patched.status_code == 200 and patched.json()["rpm"] is None and patched.json()["models"] == [MODEL]
    bad = httpx.patch(f"{open_mode}/admin/keys/{key_id}", headers=ADMIN, json={"budget_period": "hourly"})
    assert_envelope(bad, 400, "invalid_request_error", "budget_period")
    assert_envelope(httpx.get(f"{open_mode}/admin/keys/vk_missing", headers=ADMIN), 404, "not_found_error")

    database = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT * FROM virtual_keys WHERE id = ?", (key_id,)).fetchone()
    assert secret not in [str(value) for value in stored]
    assert hashlib.sha256(secret.encode()).hexdigest() in stored

    revoked = httpx.delete(f"{open_mode}/admin/keys/{key_id}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]


def test_required_mode_refuses_unknown_revoked_and_expired_keys(required: str) -> None:
    client = httpx.Client(base_url=f"{required}/anthropic", timeout=30)
    assert_envelope(
        client.post("/v1/messages", headers={"x-api-key": "dummy"}, json=params()), 401, "authentication_error"
    )
    assert_envelope(client.post("/v1/messages", json=params()), 401, "authentication_error")

    good = create_key(required, "good")
    ok = client.post("/v1/messages", headers={"authorization": f"Bearer {good['key']}"}, json=params())
    assert ok.status_code == 200, ok.text

    # Revocation is immediate in the process that made it (no wait for the key cache).
    httpx.delete(f"{required}/admin/keys/{good['id']}", headers=ADMIN)
    gone = client.post("/v1/messages", headers={"x-api-key": good["key"]}, json=params())
    assert_envelope(gone, 401, "authentication_error", "revoked")

    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = create_key(required, "expired", expires_at=past)
    late = client.post("/v1/messages", headers={"x-api-key": expired["key"]}, json=params())
    assert_envelope(late, 401, "authentication_error", "expired")

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    fresh = create_key(required, "fresh", expires_at=future)
    assert client.post("/v1/messages", headers={"x-api-key": fresh["key"]}, json=params()).status_code == 200


def test_required_mode_provider_and_model_permissions(required: str, anthropic_emulator: EmulatorHandle) -> None:
    client = httpx.Client(base_url=f"{required}/anthropic", timeout=30)
    only_openai = create_key(required, "openai-only", providers=["openai"])
    before = anthropic_emulator.request_count()
    refused = client.post("/v1/messages", headers={"x-api-key": only_openai["key"]}, json=params())
    assert_envelope(refused, 403, "permission_error", "provider 'anthropic'")
    assert refused.headers["x-should-retry"] == "false"

    one_model = create_key(required, "one-model", models=["claude-3-haiku-20240307"])
    headers = {"x-api-key": one_model["key"]}
    assert_envelope(client.post("/v1/messages", headers=headers, json=params()), 403, "permission_error", MODEL)
    batch = {"requests": [{"custom_id": "a", "params": params()}]}
    assert_envelope(client.post("/v1/messages/batches", headers=headers, json=batch), 403, "permission_error")
    assert anthropic_emulator.request_count() == before
    allowed = client.post("/v1/messages", headers=headers, json=params(model="claude-3-haiku-20240307"))
    assert allowed.status_code == 200, allowed.text


def test_open_mode_accepts_dummy_keys_and_applies_virtual_key_policy(open_mode: str) -> None:
    client = httpx.Client(base_url=f"{open_mode}/anthropic", timeout=30)
    assert client.post("/v1/messages", headers={"x-api-key": "any-dummy"}, json=params()).status_code == 200
    limited = create_key(open_mode, "limited", models=["claude-3-haiku-20240307"])
    refused = client.post("/v1/messages", headers={"x-api-key": limited["key"]}, json=params())
    assert_envelope(refused, 403, "permission_error")
    # Objects made with a virtual key belong to the key, not to the hash of its secret.
    upload = client.post("/v1/files", headers={"x-api-key": limited["key"]}, files={"file": ("a.txt", b"a")})
    assert upload.status_code == 200
    listed = client.get("/v1/files", headers={"x-api-key": limited["key"]}).json()["data"]
    assert [item["id"] for item in listed] == [upload.json()["id"]]


def _http_counts(base: str) -> dict[str, float]:
    """``finops_http_requests_total`` by status class, as ``/metrics`` shows it (before counting this read)."""
    counts = {}
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith("finops_http_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('"')[1]] = float(value)
    return counts


def test_metrics_count_answers_by_status_class_and_every_answer_has_a_request_id(open_mode: str) -> None:
    before = _http_counts(open_mode)
    ok = httpx.post(
        f"{open_mode}/anthropic/v1/messages",
        headers={"x-api-key": "dummy", "x-model-provider": "anthropic", "anthropic-version": "2023-06-01"},
        json=params(),
    )
    missing = httpx.get(f"{open_mode}/anthropic/v1/messages/batches/msgbatch_nope", headers={"x-api-key": "dummy"})
    assert ok.status_code == 200 and missing.status_code == 404
    assert ok.headers["request-id"].startswith("req_") and missing.headers["request-id"].startswith("req_")
    after = _http_counts(open_mode)
    # the first /metrics read is a 2xx answer too, counted once it was sent
    assert after["2xx"] == before.get("2xx", 0) + 2
    assert after["4xx"] == before.get("4xx", 0) + 1
    assert after.get("5xx", 0) == before.get("5xx", 0)
