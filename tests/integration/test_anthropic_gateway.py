"""The gateway in front of the Anthropic emulator: routing by stored ID, refusals before the upstream,
upstream failures mapped to the envelope, persistence across restarts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import orjson
import pytest

from finops.emulators.anthropic.app import create_app as anthropic_emulator_app
from tests.conftest import UPSTREAM_KEY
from tests.support.anthropic_api import assert_envelope, wait_ended
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.servers import free_port, serve_in_thread

MODEL = "claude-3-sonnet-20240229"
KEY = {"x-api-key": "caller-key-a"}
OTHER_KEY = {"x-api-key": "caller-key-b"}


def params(text: str = "What is 2+2?", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture
def client(anthropic_gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=anthropic_gateway, timeout=30) as http:
        yield http


def test_both_auth_styles_and_request_id(client: httpx.Client) -> None:
    for headers in (KEY, {"authorization": "Bearer caller-key-a"}):
        response = client.post("/v1/messages", headers=headers, json=params())
        assert response.status_code == 200, response.text
        assert response.json()["content"][0]["text"].startswith("2 + 2 = 4")
        assert response.headers["request-id"].startswith("req_")
    assert_envelope(client.post("/v1/messages", json=params()), 401, "authentication_error")


def test_beta_query_is_accepted_everywhere(client: httpx.Client) -> None:
    upload = client.post("/v1/files?beta=true", headers=KEY, files={"file": ("a.txt", b"abc", "text/plain")})
    assert upload.status_code == 200, upload.text
    file_id = upload.json()["id"]
    assert client.get(f"/v1/files/{file_id}?beta=true", headers=KEY).json()["size"] == 3
    assert file_id in [f["id"] for f in client.get("/v1/files?beta=true", headers=KEY).json()["data"]]
    batch = client.post(
        "/v1/messages/batches?beta=true", headers=KEY, json={"requests": [{"custom_id": "a", "params": params()}]}
    )
    assert batch.status_code == 200 and batch.json()["id"].startswith("msgbatch_")


def test_claude_codes_connectivity_probe_is_answered(client: httpx.Client) -> None:
    """Claude Code sends ``HEAD /api/hello`` under its base URL at start-up (findings of issue 12)."""
    assert client.head("/api/hello").status_code == 200
    assert client.get("/api/hello?beta=true").status_code == 200


def test_ids_work_without_provider_header_and_foreign_ids_are_404(client: httpx.Client) -> None:
    created = client.post(
        "/v1/messages/batches",
        headers={**KEY, "x-model-provider": "anthropic"},
        json={"requests": [{"custom_id": "a", "params": params()}, {"custom_id": "b", "params": params("hi")}]},
    ).json()
    batch_id = created["id"]
    assert created["results_url"] is None
    ended = wait_ended(client, batch_id, headers=KEY)
    assert ended["request_counts"]["succeeded"] == 2
    assert ended["results_url"] == f"{str(client.base_url).rstrip('/')}/v1/messages/batches/{batch_id}/results"
    lines = [
        orjson.loads(line)
        for line in client.get(f"/v1/messages/batches/{batch_id}/results", headers=KEY).content.splitlines()
    ]
    assert sorted(line["custom_id"] for line in lines) == ["a", "b"]
    assert all(line["result"]["type"] == "succeeded" for line in lines)

    for method, path in [
        ("GET", f"/v1/messages/batches/{batch_id}"),
        ("POST", f"/v1/messages/batches/{batch_id}/cancel"),
        ("GET", f"/v1/messages/batches/{batch_id}/results"),
        ("DELETE", f"/v1/messages/batches/{batch_id}"),
    ]:
        assert_envelope(client.request(method, path, headers=OTHER_KEY), 404, "not_found_error")
    assert batch_id not in [b["id"] for b in client.get("/v1/messages/batches", headers=OTHER_KEY).json()["data"]]
    assert_envelope(client.get("/v1/messages/batches/msgbatch_doesnotexist", headers=KEY), 404, "not_found_error")
    # Raw upstream IDs are never accepted: only the gateway's own.
    assert_envelope(client.get("/v1/files/file-upstream-raw-id", headers=KEY), 404, "not_found_error")

    deleted = client.delete(f"/v1/messages/batches/{batch_id}", headers=KEY)
    assert deleted.json() == {"id": batch_id, "type": "message_batch_deleted"}
    assert_envelope(client.get(f"/v1/messages/batches/{batch_id}", headers=KEY), 404, "not_found_error")


def test_cancel_then_delete_rules(client: httpx.Client, anthropic_emulator: EmulatorHandle) -> None:
    requests = [{"custom_id": f"r{i}", "params": params(f"question {i}")} for i in range(3)]
    batch = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    refused = client.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY)
    assert_envelope(refused, 400, "invalid_request_error", "cannot be deleted while it is in_progress")
    canceled = client.post(f"/v1/messages/batches/{batch['id']}/cancel", headers=KEY).json()
    assert canceled["processing_status"] in ("canceling", "ended")
    assert canceled["cancel_initiated_at"] is not None
    ended = wait_ended(client, batch["id"], headers=KEY)
    assert sum(ended["request_counts"].values()) == 3
    results = client.get(f"/v1/messages/batches/{batch['id']}/results", headers=KEY).content.splitlines()
    assert {orjson.loads(line)["result"]["type"] for line in results} <= {"canceled", "succeeded"}
    assert client.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY).status_code == 200


BAD_INPUTS = [
    ("POST", "/v1/messages/batches", {"requests": []}, 400, "at least 1 request"),
    ("POST", "/v1/messages/batches", {"requests": [{"custom_id": "bad id!", "params": params()}]}, 400, "custom_id"),
    (
        "POST",
        "/v1/messages/batches",
        {"requests": [{"custom_id": "a", "params": params()}] * 2},
        400,
        "duplicate custom_id",
    ),
    (
        "POST",
        "/v1/messages/batches",
        {"requests": [{"custom_id": "a", "params": {"max_tokens": 5, "messages": []}}]},
        400,
        "model: Field required",
    ),
    (
        "POST",
        "/v1/messages/batches",
        {"requests": [{"custom_id": "a", "params": {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}}]},
        400,
        "max_tokens: Field required",
    ),
    (
        "POST",
        "/v1/messages/batches",
        {"requests": [{"custom_id": "a", "params": {"model": MODEL, "max_tokens": 5}}]},
        400,
        "messages: Field required",
    ),
    (
        "POST",
        "/v1/messages",
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
        400,
        "max_tokens: Field required",
    ),
    (
        "POST",
        "/v1/messages",
        {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        400,
        "model: Field required",
    ),
    ("POST", "/v1/messages", {"model": MODEL, "max_tokens": 5}, 400, "messages: Field required"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD_INPUTS, ids=[c[4] for c in BAD_INPUTS])
def test_bad_input_never_reaches_the_provider(
    client: httpx.Client,
    anthropic_emulator: EmulatorHandle,
    method: str,
    path: str,
    body: Any,
    status: int,
    message: str,
) -> None:
    before = anthropic_emulator.request_count()
    assert_envelope(client.request(method, path, headers=KEY, json=body), status, "invalid_request_error", message)
    assert anthropic_emulator.request_count() == before


def test_more_than_100000_requests_is_refused_before_upstream(
    client: httpx.Client, anthropic_emulator: EmulatorHandle
) -> None:
    one = {"custom_id": "", "params": params("x")}
    requests = [{**one, "custom_id": f"r{i}"} for i in range(100_001)]
    before = anthropic_emulator.request_count()
    response = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests})
    assert_envelope(response, 400, "invalid_request_error", "at most 100,000 requests")
    assert anthropic_emulator.request_count() == before


def large_batch(count: int = 8_000) -> list[dict[str, Any]]:
    """Over 1 MB of JSON: the gateway parses it in pieces and checks it in slices."""
    return [{"custom_id": f"r{i}", "params": params(f"Question {i}: what is {i} + {i}?")} for i in range(count)]


def test_a_large_batch_is_created_whole(client: httpx.Client) -> None:
    requests = large_batch()
    body = orjson.dumps({"requests": requests})
    assert len(body) > 1024 * 1024
    response = client.post("/v1/messages/batches", headers={**KEY, "content-type": "application/json"}, content=body)
    assert response.status_code == 200, response.text
    assert sum(response.json()["request_counts"].values()) == len(requests)


LARGE_BODY = orjson.dumps({"requests": large_batch()})


@pytest.mark.parametrize(
    "body",
    [LARGE_BODY.replace(b'"custom_id":"r5000"', b'"custom_id":r5000'), LARGE_BODY[:-2], LARGE_BODY + b"{}"],
    ids=["invalid in the middle", "cut short", "trailing data"],
)
def test_a_large_body_that_is_not_json_is_refused(
    client: httpx.Client, anthropic_emulator: EmulatorHandle, body: bytes
) -> None:
    before = anthropic_emulator.request_count()
    response = client.post("/v1/messages/batches", headers={**KEY, "content-type": "application/json"}, content=body)
    assert_envelope(response, 400, "invalid_request_error", "Request body is not valid JSON")
    assert anthropic_emulator.request_count() == before


def test_a_bad_request_deep_in_a_large_batch_is_named(client: httpx.Client, anthropic_emulator: EmulatorHandle) -> None:
    requests = large_batch()
    requests[6_543]["params"]["max_tokens"] = "many"
    before = anthropic_emulator.request_count()
    response = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests})
    assert_envelope(response, 400, "invalid_request_error", "requests.6543.params.max_tokens")
    assert anthropic_emulator.request_count() == before


@pytest.mark.parametrize(
    ("path", "headers", "content", "message"),
    [
        ("/v1/messages", {}, b"{not json", "not valid JSON"),
        ("/v1/messages/batches", {}, b"", "empty"),
        (
            "/v1/messages",
            {"x-model-provider": "azure"},
            orjson.dumps(params()),
            "valid values are anthropic, openai, gemini, bedrock",
        ),
        ("/v1/messages/batches", {"x-model-provider": "azure"}, orjson.dumps({"requests": []}), "valid values are"),
    ],
)
def test_malformed_requests(
    client: httpx.Client,
    anthropic_emulator: EmulatorHandle,
    path: str,
    headers: dict[str, str],
    content: bytes,
    message: str,
) -> None:
    before = anthropic_emulator.request_count()
    response = client.post(path, headers={**KEY, **headers, "content-type": "application/json"}, content=content)
    assert_envelope(response, 400, "invalid_request_error", message)
    assert anthropic_emulator.request_count() == before


def test_body_over_the_limit_is_413(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}}
    limits = {"max_message_bytes": 1000, "max_batch_bytes": 2000, "max_file_bytes": 3000}
    with (
        running_gateway(providers, sqlite_url, server=limits) as base,
        httpx.Client(base_url=f"{base}/anthropic") as client,
    ):
        before = anthropic_emulator.request_count()
        big = params("x" * 2000)
        assert_envelope(client.post("/v1/messages", headers=KEY, json=big), 413, "request_too_large")

        def chunked() -> Iterator[bytes]:  # no content-length: the limit holds while reading
            yield orjson.dumps({"requests": [{"custom_id": "a", "params": params("y" * 3000)}]})

        assert_envelope(client.post("/v1/messages/batches", headers=KEY, content=chunked()), 413, "request_too_large")
        upload = client.post(
            "/v1/files", headers=KEY, files={"file": ("big.bin", b"z" * 100_000, "application/octet-stream")}
        )
        assert_envelope(upload, 413, "request_too_large")
        assert anthropic_emulator.request_count() == before


@pytest.mark.parametrize(
    ("upstream_status", "status", "error_type"),
    [
        (429, 429, "rate_limit_error"),
        (500, 500, "api_error"),
        (529, 529, "overloaded_error"),
        (503, 529, "overloaded_error"),
    ],
)
def test_upstream_failures_map_to_the_envelope(
    client: httpx.Client, anthropic_emulator: EmulatorHandle, upstream_status: int, status: int, error_type: str
) -> None:
    anthropic_emulator.fail_next(upstream_status, path_prefix="/v1/messages")
    assert_envelope(client.post("/v1/messages", headers=KEY, json=params()), status, error_type)
    anthropic_emulator.fail_next(upstream_status, path_prefix="/v1/messages")
    assert_envelope(client.post("/v1/messages", headers=KEY, json=params(stream=True)), status, error_type)


def test_rejected_gateway_credentials_do_not_leak(sqlite_url: str) -> None:
    with serve_in_thread(anthropic_emulator_app(batch_seconds=1, api_keys={"the-right-key"})) as emulator:
        providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator}}
        with running_gateway(providers, sqlite_url) as base:
            response = httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=params())
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"
    assert UPSTREAM_KEY not in response.text and "caller-key-a" not in response.text


def test_stopped_upstream_gives_a_clean_error_not_a_hang(sqlite_url: str) -> None:
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": f"http://127.0.0.1:{free_port()}"}}
    with running_gateway(providers, sqlite_url) as base:
        started = time.monotonic()
        response = httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=params(), timeout=30)
        assert time.monotonic() - started < 5
    assert_envelope(response, 502, "api_error", "could not be reached")


def test_slow_upstream_times_out_with_timeout_error(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    providers = {
        "anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url, "timeouts": {"read": 0.5}}
    }
    with running_gateway(providers, sqlite_url) as base:
        anthropic_emulator.fail_next(0, path_prefix="/v1/messages", delay_seconds=3)
        response = httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=params(), timeout=30)
    assert_envelope(response, 504, "timeout_error")


def test_batch_survives_a_gateway_restart(anthropic_emulator: EmulatorHandle, tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}}
    with running_gateway(providers, database) as base:
        batch = httpx.post(
            f"{base}/anthropic/v1/messages/batches",
            headers=KEY,
            json={"requests": [{"custom_id": "kept", "params": params()}]},
        ).json()
    with running_gateway(providers, database) as base, httpx.Client(base_url=f"{base}/anthropic") as client:
        ended = wait_ended(client, batch["id"], headers=KEY)
        assert ended["id"] == batch["id"] and ended["results_url"].startswith(base)
        line = orjson.loads(client.get(f"/v1/messages/batches/{batch['id']}/results", headers=KEY).content)
        assert line["custom_id"] == "kept" and line["result"]["type"] == "succeeded"


def test_file_pagination_in_both_styles(client: httpx.Client) -> None:
    owner = {"x-api-key": "pagination-owner"}
    ids = [
        client.post("/v1/files", headers=owner, files={"file": (f"f{i}.txt", b"x" * i, "text/plain")}).json()["id"]
        for i in range(5)
    ]
    newest_first = list(reversed(ids))

    first = client.get("/v1/files", headers=owner, params={"limit": 2}).json()
    assert [f["id"] for f in first["data"]] == newest_first[:2]
    assert first["has_more"] and first["first_id"] == newest_first[0] and first["last_id"] == newest_first[1]
    second = client.get("/v1/files", headers=owner, params={"limit": 2, "after_id": first["last_id"]}).json()
    assert [f["id"] for f in second["data"]] == newest_first[2:4]
    back = client.get("/v1/files", headers=owner, params={"limit": 2, "before_id": second["first_id"]}).json()
    assert [f["id"] for f in back["data"]] == newest_first[:2]

    seen, page = [], None
    while True:
        query = {"limit": 2, **({"page": page} if page else {})}
        body = client.get("/v1/files", headers=owner, params=query).json()
        seen += [f["id"] for f in body["data"]]
        page = body["next_page"]
        if not page:
            break
    assert seen == newest_first
    assert_envelope(client.get("/v1/files", headers=owner, params={"limit": 0}), 400, "invalid_request_error", "limit")


def test_sdk_paginates_files_in_its_own_style(anthropic_gateway: str) -> None:
    client = anthropic.Anthropic(base_url=anthropic_gateway, api_key="sdk-pagination-owner", max_retries=0)
    ids = [client.beta.files.upload(file=(f"s{i}.txt", b"data", "text/plain")).id for i in range(5)]
    listed = [f.id for f in client.beta.files.list(limit=2)]  # auto-pagination across pages
    assert listed == list(reversed(ids))


def test_streaming_passes_the_exact_event_sequence(anthropic_gateway: str) -> None:
    events = []
    with httpx.stream(
        "POST", f"{anthropic_gateway}/v1/messages", headers=KEY, json=params("Tell me a story", stream=True)
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("event: ") for line in response.iter_lines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "ping" in events and "content_block_delta" in events
    assert events.index("content_block_start") < events.index("content_block_stop") < events.index("message_delta")
