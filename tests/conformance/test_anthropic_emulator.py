"""The Anthropic emulator, proven with the official SDKs and validated against Anthropic's OpenAPI spec.

Two SDK generations are covered: the installed ``anthropic`` 2.13.0 (``Authorization: Bearer``, no
``?beta=true``, ``page`` cursors for files) runs in-process; ``anthropic==0.60.0`` (``x-api-key``,
``?beta=true``, ``before_id``/``after_id``) runs ``anthropic_060/scenario.py`` in a subprocess.
Raw responses are checked against ``shared/specs/anthropic/openapi.json`` with ``jsonschema``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import anthropic
import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from finops.emulators._common.tokens import count_tokens
from finops.emulators.anthropic.app import create_app
from finops.emulators.anthropic.conversation import REPLY_TURN_TOKENS
from tests.support.servers import serve_in_thread
from tests.support.specs import SPECS_DIR

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = SPECS_DIR / "anthropic" / "openapi.json"
SDK_060_PATH = Path(os.environ.get("FINOPS_ANTHROPIC_060_PATH", str(REPO / ".sdk" / "anthropic-0.60.0")))
SCENARIO_060 = Path(__file__).parent / "anthropic_060" / "scenario.py"
MODEL = "claude-3-sonnet-20240229"
KEY = "test-key"
BATCH_SECONDS = 0.6
HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": KEY}


# --- spec validation --------------------------------------------------------------------------------------

_SPEC_URI = "urn:anthropic-openapi"


@cache
def _spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


@cache
def _registry() -> Registry:
    return Registry().with_resource(_SPEC_URI, Resource.from_contents(_spec(), default_specification=DRAFT202012))


def _validate_ref(ref: str, instance: Any) -> None:
    schema = {"$ref": f"{_SPEC_URI}{ref}"}
    jsonschema.Draft202012Validator(schema, registry=_registry()).validate(instance)


def validate_component(name: str, instance: Any) -> None:
    _validate_ref(f"#/components/schemas/{name}", instance)


def validate_response(method: str, path_key: str, instance: Any, status: str = "200") -> None:
    """Validate against the schema the spec gives for ``path_key`` (beta keys end in ``?beta=true``)."""
    responses = _spec()["paths"][path_key][method.lower()]["responses"]
    content = responses[status]["content"]
    schema = next(iter(content.values()))["schema"]
    _validate_ref(schema["$ref"], instance)


def assert_rfc3339(value: str | None) -> datetime:
    assert value is not None and value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[tuple[str, Any]]:
    app = create_app(batch_seconds=BATCH_SECONDS, api_keys={KEY})
    with serve_in_thread(app) as base_url:
        yield base_url, app


@pytest.fixture
def base_url(emulator: tuple[str, Any]) -> str:
    return emulator[0]


@pytest.fixture
def client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=base_url, max_retries=0)


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=10) as raw:
        yield raw


def _ask(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 200, "messages": [{"role": "user", "content": prompt}], **extra}


# --- messages ---------------------------------------------------------------------------------------------


def test_message_is_deterministic_with_real_token_counts(client: anthropic.Anthropic, http: httpx.Client) -> None:
    system, prompt = "You are terse.", "What is 12 * 12?"
    first = client.messages.create(**_ask(prompt, system=system))
    again = client.messages.create(**_ask(prompt, system=system))
    other = client.messages.create(**_ask("Name a colour."))

    assert first.id.startswith("msg_") and first.id != again.id
    assert first.content[0].type == "text"
    assert "144" in first.content[0].text
    assert first.content[0].text == again.content[0].text != other.content[0].text
    assert first.stop_reason == "end_turn" and first.stop_sequence is None
    assert first.usage.input_tokens == count_tokens(system) + count_tokens(prompt) + REPLY_TURN_TOKENS
    assert first.usage.output_tokens == count_tokens(first.content[0].text)

    counted = client.messages.count_tokens(model=MODEL, system=system, messages=[{"role": "user", "content": prompt}])
    assert counted.input_tokens == first.usage.input_tokens

    raw = http.post("/v1/messages", json=_ask(prompt, system=system))
    assert raw.status_code == 200 and raw.headers["request-id"].startswith("req_")
    validate_response("post", "/v1/messages", raw.json())
    validate_response("post", "/v1/messages?beta=true", http.post("/v1/messages?beta=true", json=_ask(prompt)).json())
    counted_raw = http.post(
        "/v1/messages/count_tokens", json={"model": MODEL, "messages": [_ask(prompt)["messages"][0]]}
    )
    validate_response("post", "/v1/messages/count_tokens", counted_raw.json())


def _sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_stream_sends_the_exact_event_sequence(client: anthropic.Anthropic, http: httpx.Client) -> None:
    params = _ask("Explain streaming in one sentence.", system="Be brief.")
    expected = client.messages.create(**params)

    with http.stream("POST", "/v1/messages", json={**params, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["request-id"].startswith("req_")
        events = _sse_events(response)

    names = [name for name, _ in events]
    deltas = names.count("content_block_delta")
    assert deltas >= 2
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for name, data in events:
        assert data["type"] == name
        validate_component("MessageStreamEvent", data)
    start, final_delta = events[0][1]["message"], events[-2][1]
    assert start["stop_reason"] is None and start["content"] == []
    assert start["usage"]["input_tokens"] == expected.usage.input_tokens
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == expected.content[0].text
    assert final_delta["delta"]["stop_reason"] == "end_turn"
    assert final_delta["usage"]["output_tokens"] == expected.usage.output_tokens

    with client.messages.stream(**params) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text == expected.content[0].text
    assert final.usage.output_tokens == expected.usage.output_tokens
    assert final.usage.input_tokens == expected.usage.input_tokens


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "days", "unit"],
    },
}
TIME_TOOL = {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}


def test_tool_use_follows_tool_choice(client: anthropic.Anthropic, http: httpx.Client) -> None:
    tools = [TIME_TOOL, WEATHER_TOOL]
    forced = client.messages.create(**_ask("Forecast for Oslo, 3 days", tools=tools, tool_choice={"type": "any"}))
    assert forced.stop_reason == "tool_use"
    (block,) = forced.content
    assert block.type == "tool_use" and block.id.startswith("toolu_")
    assert block.name == "get_time"  # "any" with no tool named in the prompt: the first tool
    named = client.messages.create(
        **_ask("Forecast for Oslo, 3 days", tools=tools, tool_choice={"type": "tool", "name": "get_weather"})
    )
    (weather,) = named.content
    assert weather.name == "get_weather"
    assert isinstance(weather.input["city"], str) and weather.input["days"] == 3 and weather.input["unit"] == "c"
    assert named.usage.output_tokens > 0

    mentioned = client.messages.create(**_ask("Please call get_weather for Rome", tools=tools))
    assert mentioned.stop_reason == "tool_use" and mentioned.content[0].name == "get_weather"
    plain = client.messages.create(**_ask("Tell me a joke", tools=tools))
    assert plain.stop_reason == "end_turn" and plain.content[0].type == "text"

    follow_up = client.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=tools,
        messages=[
            {"role": "user", "content": "Please call get_weather for Rome"},
            {"role": "assistant", "content": [mentioned.content[0].model_dump(exclude={"caller"})]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": mentioned.content[0].id, "content": "Sunny, 24C"}],
            },
        ],
    )
    assert follow_up.stop_reason == "end_turn" and "Sunny, 24C" in follow_up.content[0].text

    with client.messages.stream(
        **_ask("Forecast for Oslo, 3 days", tools=tools, tool_choice={"type": "tool", "name": "get_weather"})
    ) as stream:
        streamed = stream.get_final_message()
    assert streamed.content[0].input == weather.input and streamed.stop_reason == "tool_use"

    raw = http.post("/v1/messages", json=_ask("x", tools=tools, tool_choice={"type": "any"}))
    validate_response("post", "/v1/messages", raw.json())
    missing = http.post("/v1/messages", json=_ask("x", tools=tools, tool_choice={"type": "tool", "name": "nope"}))
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"


def test_stop_sequences_and_max_tokens_cut_the_reply(client: anthropic.Anthropic) -> None:
    full = client.messages.create(**_ask("Hello there")).content[0].text
    assert "deterministic" in full

    stopped = client.messages.create(**_ask("Hello there", stop_sequences=["zzz", "deterministic"]))
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "deterministic"
    assert stopped.content[0].text == full.split("deterministic")[0]
    assert stopped.usage.output_tokens == count_tokens(stopped.content[0].text)

    cut = client.messages.create(**{**_ask("Hello there"), "max_tokens": 3})
    assert cut.stop_reason == "max_tokens" and cut.stop_sequence is None
    assert cut.usage.output_tokens == 3 and full.startswith(cut.content[0].text) and cut.content[0].text != full

    with client.messages.stream(**{**_ask("Hello there"), "max_tokens": 3}) as stream:
        streamed = stream.get_final_message()
    assert streamed.stop_reason == "max_tokens" and streamed.content[0].text == cut.content[0].text


def test_models_list_and_retrieve(client: anthropic.Anthropic, http: httpx.Client) -> None:
    ids = [model.id for model in client.models.list(limit=2)]  # auto-paginates with after_id
    assert MODEL in ids and len(ids) == len(set(ids)) >= 3
    assert client.models.retrieve(MODEL).id == MODEL
    validate_response("get", "/v1/models", http.get("/v1/models").json())
    validate_response("get", "/v1/models/{model_id}", http.get(f"/v1/models/{MODEL}").json())
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-none")


# --- files ------------------------------------------------------------------------------------------------


def test_files_upload_list_retrieve_delete(client: anthropic.Anthropic, http: httpx.Client) -> None:
    uploaded = [client.beta.files.upload(file=(f"doc{i}.txt", f"content {i}".encode(), "text/plain")) for i in range(5)]
    newest_first = [f.id for f in reversed(uploaded)]
    assert all(f.id.startswith("file_") and f.type == "file" for f in uploaded)
    assert uploaded[0].filename == "doc0.txt" and uploaded[0].mime_type == "text/plain"
    assert uploaded[0].size_bytes == len(b"content 0") and uploaded[0].downloadable is False

    # 2.13.0 pages files with opaque `page` cursors (next_page)
    assert [f.id for f in client.beta.files.list(limit=2)] == newest_first
    first = client.beta.files.list(limit=2)
    assert first.next_page and first.next_page.startswith("page_")
    assert [f.id for f in client.beta.files.list(ids=[uploaded[1].id, uploaded[3].id])] == [
        uploaded[3].id,
        uploaded[1].id,
    ]

    # ... and before_id/after_id with data/has_more/first_id/last_id, on the beta path as 0.x SDKs call it
    page1 = http.get("/v1/files?beta=true", params={"limit": 2}).json()
    page2 = http.get("/v1/files?beta=true", params={"limit": 2, "after_id": page1["last_id"]}).json()
    page3 = http.get("/v1/files?beta=true", params={"limit": 2, "after_id": page2["last_id"]}).json()
    back = http.get("/v1/files?beta=true", params={"limit": 2, "before_id": page2["first_id"]}).json()
    for page in (page1, page2, page3, back):
        validate_response("get", "/v1/files?beta=true", page)
    assert [f["id"] for p in (page1, page2, page3) for f in p["data"]] == newest_first
    assert (page1["has_more"], page2["has_more"], page3["has_more"]) == (True, True, False)
    assert page3["next_page"] is None and back["data"] == page1["data"]
    assert http.get("/v1/files", params={"limit": 0}).status_code == 400

    retrieved = client.beta.files.retrieve_metadata(uploaded[2].id)
    assert retrieved == uploaded[2]
    validate_response("get", "/v1/files/{file_id}?beta=true", http.get(f"/v1/files/{uploaded[2].id}").json())

    with pytest.raises(anthropic.BadRequestError) as refused:
        client.beta.files.download(uploaded[2].id)
    assert refused.value.status_code == 400 and "not downloadable" in refused.value.message
    validate_response("get", "/v1/files?beta=true", refused.value.body, status="4XX")

    deleted = http.delete(f"/v1/files/{uploaded[2].id}?beta=true")
    assert deleted.json() == {"id": uploaded[2].id, "type": "file_deleted"}
    validate_response("delete", "/v1/files/{file_id}?beta=true", deleted.json())
    with pytest.raises(anthropic.NotFoundError):
        client.beta.files.retrieve_metadata(uploaded[2].id)
    # paging continues past a deleted file
    after_deleted = http.get("/v1/files", params={"after_id": uploaded[2].id, "limit": 10}).json()
    assert [f["id"] for f in after_deleted["data"]] == [uploaded[1].id, uploaded[0].id]


def test_upload_is_streamed_to_disk_intact(client: anthropic.Anthropic, emulator: tuple[str, Any]) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 7)
    uploaded = client.beta.files.upload(file=("blob.bin", payload, "application/octet-stream"))
    assert uploaded.size_bytes == len(payload) and uploaded.mime_type == "application/octet-stream"
    # Download is refused for uploads (as on the real API), so check the stored bytes where they are kept.
    state = emulator[1].app.app.state.emulator
    assert (state.upload_dir / uploaded.id).read_bytes() == payload
    client.beta.files.delete(uploaded.id)
    assert not (state.upload_dir / uploaded.id).exists()


# --- batches ----------------------------------------------------------------------------------------------


def _wait_until_ended(client: anthropic.Anthropic, batch_id: str) -> Any:
    deadline = time.monotonic() + 10
    while (batch := client.messages.batches.retrieve(batch_id)).processing_status != "ended":
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)
    return batch


def _counts_sum(batch: Any) -> int:
    counts = batch.request_counts
    return counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired


def test_batch_runs_to_ended_with_jsonl_results(client: anthropic.Anthropic, http: httpx.Client, base_url: str) -> None:
    ok = _ask("What is 2+2?")
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": "ok-1", "params": ok},
            {"custom_id": "ok-2", "params": _ask("Name a planet", max_tokens=4)},
            {"custom_id": "no-max", "params": {"model": MODEL, "messages": ok["messages"]}},
        ]
    )
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    assert batch.results_url is None and batch.ended_at is None and batch.cancel_initiated_at is None
    assert batch.request_counts.processing == 3 == _counts_sum(batch)
    raw = http.get(f"/v1/messages/batches/{batch.id}").json()
    validate_response("get", "/v1/messages/batches/{message_batch_id}", raw)
    assert set(raw) >= {"archived_at", "cancel_initiated_at", "ended_at", "expires_at", "results_url"}
    created = assert_rfc3339(raw["created_at"])
    assert assert_rfc3339(raw["expires_at"]) - created == timedelta(hours=24)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.delete(batch.id)

    ended = _wait_until_ended(client, batch.id)
    counts = ended.request_counts
    assert (counts.succeeded, counts.errored, counts.processing, _counts_sum(ended)) == (2, 1, 0, 3)
    assert ended.results_url == f"{base_url}/v1/messages/batches/{batch.id}/results"
    assert ended.ended_at is not None and ended.ended_at >= ended.created_at
    validate_response(
        "get",
        "/v1/messages/batches/{message_batch_id}?beta=true",
        http.get(f"/v1/messages/batches/{batch.id}?beta=true").json(),
    )

    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert set(results) == {"ok-1", "ok-2", "no-max"}
    direct = client.messages.create(**ok)
    assert results["ok-1"].type == "succeeded"
    assert results["ok-1"].message.content[0].text == direct.content[0].text
    assert results["ok-1"].message.usage.input_tokens == direct.usage.input_tokens
    assert results["ok-2"].message.stop_reason == "max_tokens"
    assert results["no-max"].type == "errored"
    assert results["no-max"].error.error.type == "invalid_request_error"
    assert "max_tokens" in results["no-max"].error.error.message

    lines = http.get(ended.results_url).text.splitlines()
    assert len(lines) == 3
    for line in lines:
        validate_response("get", "/v1/messages/batches/{message_batch_id}/results", json.loads(line))

    deleted = client.messages.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(batch.id)


def test_batch_cancel_goes_through_canceling(client: anthropic.Anthropic, http: httpx.Client) -> None:
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": "bad-params", "params": {"model": MODEL, "max_tokens": 5}},
            {"custom_id": "slow", "params": _ask("Take your time")},
        ]
    )
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    assert canceling.request_counts.processing == 2 and canceling.results_url is None
    validate_response(
        "get", "/v1/messages/batches/{message_batch_id}", http.get(f"/v1/messages/batches/{batch.id}").json()
    )

    ended = _wait_until_ended(client, batch.id)
    assert (ended.request_counts.canceled, ended.request_counts.errored, _counts_sum(ended)) == (1, 1, 2)
    results = {r.custom_id: r.result.type for r in client.messages.batches.results(batch.id)}
    assert results == {"slow": "canceled", "bad-params": "errored"}
    assert client.messages.batches.cancel(batch.id).processing_status == "ended"


def test_batch_list_is_newest_first_and_pages(client: anthropic.Anthropic, http: httpx.Client) -> None:
    created = [
        client.messages.batches.create(requests=[{"custom_id": f"r{i}", "params": _ask("hi")}]) for i in range(3)
    ]
    newest_first = [b.id for b in reversed(created)]
    assert [b.id for b in client.messages.batches.list(limit=2)] == newest_first
    page = http.get("/v1/messages/batches", params={"limit": 1, "after_id": newest_first[0]}).json()
    validate_response("get", "/v1/messages/batches", page)
    assert [b["id"] for b in page["data"]] == [newest_first[1]] and page["has_more"] is True
    back = http.get("/v1/messages/batches?beta=true", params={"limit": 5, "before_id": newest_first[2]}).json()
    validate_response("get", "/v1/messages/batches?beta=true", back)
    assert [b["id"] for b in back["data"]] == newest_first[:2] and back["has_more"] is False


@pytest.mark.parametrize(
    ("requests", "needle"),
    [
        ([{"custom_id": "has space", "params": _ask("x")}], "custom_id"),
        ([{"custom_id": "x" * 65, "params": _ask("x")}], "custom_id"),
        ([{"custom_id": "dup", "params": _ask("x")}, {"custom_id": "dup", "params": _ask("y")}], "dup"),
        ([], "requests"),
    ],
)
def test_batch_create_refuses_bad_input(client: anthropic.Anthropic, requests: list[Any], needle: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.batches.create(requests=requests)
    assert refused.value.body["error"]["type"] == "invalid_request_error"
    assert needle in refused.value.body["error"]["message"]
    assert not client.messages.batches.list().data


# --- errors -----------------------------------------------------------------------------------------------


def test_authentication_both_styles_and_failures(base_url: str) -> None:
    body = _ask("hi")
    version = {"anthropic-version": "2023-06-01"}
    assert httpx.post(f"{base_url}/v1/messages", json=body, headers={**version, "x-api-key": KEY}).status_code == 200
    bearer = {**version, "authorization": f"Bearer {KEY}"}
    assert httpx.post(f"{base_url}/v1/messages", json=body, headers=bearer).status_code == 200

    for headers in (version, {**version, "x-api-key": "wrong"}):
        refused = httpx.post(f"{base_url}/v1/messages", json=body, headers=headers)
        assert refused.status_code == 401 and refused.headers["request-id"].startswith("req_")
        assert refused.json()["error"]["type"] == "authentication_error"
        assert refused.json()["request_id"] == refused.headers["request-id"]
        validate_response("post", "/v1/messages", refused.json(), status="4XX")

    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(api_key="wrong", base_url=base_url, max_retries=0).models.list()


def test_any_key_is_accepted_without_a_key_list() -> None:
    with serve_in_thread(create_app(batch_seconds=BATCH_SECONDS)) as url:
        open_client = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        assert open_client.messages.create(**_ask("hi")).content
        missing = httpx.get(f"{url}/v1/models", headers={"anthropic-version": "2023-06-01"})
        assert missing.status_code == 401


def test_error_envelopes(client: anthropic.Anthropic, http: httpx.Client) -> None:
    with pytest.raises(anthropic.NotFoundError) as unknown:
        client.beta.files.retrieve_metadata("file_unknown")
    assert unknown.value.body["error"]["type"] == "not_found_error"
    assert unknown.value.request_id and unknown.value.request_id.startswith("req_")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.results("msgbatch_unknown")

    malformed = http.post("/v1/messages", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"]["type"] == "invalid_request_error"
    validate_response("post", "/v1/messages", malformed.json(), status="4XX")

    for missing_field in ("model", "max_tokens", "messages"):
        params = {k: v for k, v in _ask("hi").items() if k != missing_field}
        refused = http.post("/v1/messages", json=params)
        assert refused.status_code == 400 and missing_field in refused.json()["error"]["message"]

    no_version = http.post("/v1/messages", json=_ask("hi"), headers={"anthropic-version": ""})
    assert no_version.status_code == 400
    beta_header = http.post("/v1/messages", json=_ask("hi"), headers={"anthropic-beta": "files-api-2025-04-14"})
    assert beta_header.status_code == 200

    unknown_route = http.get("/v1/nothing-here")
    assert unknown_route.status_code == 404 and unknown_route.json()["type"] == "error"

    http.post("/_emulator/faults", json={"status": 529, "count": 1, "path_prefix": "/v1/messages"})
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(**_ask("hi"))
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"


# --- anthropic 0.60.0 -------------------------------------------------------------------------------------


def test_sdk_0_60_0_scenario(emulator: tuple[str, Any], http: httpx.Client) -> None:
    if not (SDK_060_PATH / "anthropic").is_dir():
        pytest.fail(
            f"anthropic 0.60.0 is not installed at {SDK_060_PATH}. Install it with:\n"
            f"  .venv/bin/pip install --no-deps --target {SDK_060_PATH} anthropic==0.60.0\n"
            "or point FINOPS_ANTHROPIC_060_PATH at an existing install."
        )
    base_url = emulator[0]
    env = {**os.environ, "PYTHONPATH": str(SDK_060_PATH), "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    run = subprocess.run(
        [sys.executable, str(SCENARIO_060), base_url, KEY], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["version"] == "0.60.0"

    message = seen["message"]
    assert "42" in message["content"][0]["text"]
    prompt_tokens = count_tokens("Be brief.") + count_tokens("What is 6*7?")
    assert message["usage"]["input_tokens"] == prompt_tokens + REPLY_TURN_TOKENS
    assert seen["stream_final"]["content"] == message["content"]
    assert seen["stream_events"][0] == "message_start" and seen["stream_events"][-1] == "message_stop"
    assert seen["tool_message"]["stop_reason"] == "tool_use"
    assert seen["tool_message"]["content"][0]["name"] == "get_weather"

    uploaded = [f["id"] for f in seen["uploaded"]]
    assert seen["listed_auto"] == uploaded[::-1]
    assert seen["pages"]["first"] == uploaded[::-1][:2] and seen["pages"]["first_has_more"] is True
    assert seen["pages"]["second"] == uploaded[::-1][2:4]
    assert seen["pages"]["back"] == seen["pages"]["first"]
    assert seen["retrieved"] == seen["uploaded"][0]
    assert seen["download_error"]["status"] == 400
    assert "not downloadable" in seen["download_error"]["body"]["error"]["message"]
    assert seen["deleted"] == {"id": uploaded[0], "type": "file_deleted"}
    assert seen["deleted_retrieve_error"]["class"] == "NotFoundError"

    assert seen["batch_created"]["processing_status"] == "in_progress"
    ended = seen["batch_ended"]
    assert ended["processing_status"] == "ended" and ended["results_url"].startswith(base_url)
    assert ended["request_counts"] == {"processing": 0, "succeeded": 1, "errored": 1, "canceled": 0, "expired": 0}
    results = {line["custom_id"]: line["result"] for line in seen["batch_results"]}
    assert results["ok-1"]["type"] == "succeeded" and results["ok-1"]["message"]["content"]
    assert results["bad-1"]["type"] == "errored"
    assert seen["batch_listed"] == [seen["batch_created"]["id"]]
    assert seen["batch_canceling"]["processing_status"] == "canceling"
    assert seen["batch_cancel_ended"]["request_counts"]["canceled"] == 1
    assert [line["result"]["type"] for line in seen["batch_cancel_results"]] == ["canceled"]
    assert seen["batch_deleted"]["type"] == "message_batch_deleted"
    assert seen["bad_custom_id_error"]["status"] == 400
    assert seen["unknown_batch_error"]["status"] == 404
    assert seen["auth_error"]["status"] == 401
    validate_response("get", "/v1/messages/batches?beta=true", seen["bad_custom_id_error"]["body"], status="4XX")

    # The old SDK really used the beta routes and x-api-key
    logged = http.get("/_emulator/requests").json()["requests"]
    beta_paths = {r["path"] for r in logged if "beta=true" in r["query"]}
    assert {"/v1/files", "/v1/messages/batches"} <= beta_paths
    assert any("after_id=" in r["query"] for r in logged) and any("before_id=" in r["query"] for r in logged)
