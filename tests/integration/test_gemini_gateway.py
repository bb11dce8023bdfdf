"""The gateway in front of the Gemini emulator, driven by the official Anthropic SDK (newest in-process,
0.60.0 in a subprocess): messages and streams, tool use with thought signatures, files through the resumable
upload, batches (inline, file input, per-request errors, cancel, two models), and upstream errors mapped."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from finops.emulators.gemini.app import create_app as gemini_emulator_app
from finops.providers.gemini import batch_lines
from tests.support.anthropic_api import assert_envelope, results_of, wait_ended
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.sdk import run_script
from tests.support.servers import serve_in_thread

UPSTREAM_KEY = "AIzaFinopsTestUpstreamKey0123456789abcdef"
GEMINI = {"x-model-provider": "gemini"}
KEY = {"x-api-key": "caller-key-a", **GEMINI}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def params(text: str = "What is 2+2?", model: str = "gemini-1.5-flash", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def gemini_emulator() -> Iterator[EmulatorHandle]:
    with serve_in_thread(gemini_emulator_app(batch_seconds=1.0)) as url:
        yield EmulatorHandle(url)


@pytest.fixture
def gateway(gemini_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    providers = {"gemini": {"api_key": UPSTREAM_KEY, "base_url": gemini_emulator.base_url}}
    with running_gateway(providers, sqlite_url) as base:
        yield f"{base}/anthropic"


@pytest.fixture
def http(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, timeout=60) as client:
        yield client


@pytest.fixture
def sdk(gateway: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway, api_key="caller-key-a", default_headers=GEMINI, max_retries=0)


def upstream_paths(emulator: EmulatorHandle, since: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in emulator.requests()[since:]]


# -- messages -------------------------------------------------------------------------------------------------


def test_message_and_stream_agree_and_stream_has_the_exact_sequence(sdk: anthropic.Anthropic, gateway: str) -> None:
    message = sdk.messages.create(**params("Tell me about the sea"))
    assert message.id.startswith("msg_") and message.model == "gemini-1.5-flash"
    assert message.content[0].type == "text" and message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    with sdk.messages.stream(**params("Tell me about the sea")) as stream:
        streamed = stream.get_final_message()
    assert streamed.content[0].text == message.content[0].text
    assert streamed.usage.output_tokens == message.usage.output_tokens
    assert streamed.usage.input_tokens == message.usage.input_tokens

    with httpx.stream(
        "POST", f"{gateway}/v1/messages", headers=KEY, json=params("Tell me about the sea", stream=True)
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        names = [line.removeprefix("event: ") for line in response.iter_lines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"} and len(names) > 6


def test_count_tokens_and_models(sdk: anthropic.Anthropic) -> None:
    counted = sdk.messages.count_tokens(model="gemini-1.5-flash", messages=[{"role": "user", "content": "hello"}])
    created = sdk.messages.create(**params("hello"))
    assert counted.input_tokens == created.usage.input_tokens > 0
    ids = [model.id for model in sdk.models.list()]
    assert "gemini-2.5-flash" in ids and "gemini-1.5-flash" in ids


def test_thinking_model_streams_thinking_then_text(sdk: anthropic.Anthropic) -> None:
    request = params("Why is the sky blue?", model="gemini-2.5-flash", max_tokens=400)
    request["thinking"] = {"type": "enabled", "budget_tokens": 200}
    with sdk.messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.usage.output_tokens > 0


def _assistant_turn(content: list[Any]) -> list[dict[str, Any]]:
    """The assistant's blocks as a client sends them back (ids and signatures untouched)."""
    blocks = []
    for block in content:
        if block.type == "text":
            blocks.append({"type": "text", "text": block.text})
        elif block.type == "thinking":
            blocks.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        elif block.type == "tool_use":
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
    return blocks


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("model", ["gemini-1.5-flash", "gemini-2.5-flash"])
def test_tool_use_round_trip(sdk: anthropic.Anthropic, model: str, stream: bool) -> None:
    question = {"role": "user", "content": "Use get_weather: what is the weather in Paris?"}
    request = {"model": model, "max_tokens": 200, "tools": [WEATHER_TOOL], "messages": [question]}
    if stream:
        with sdk.messages.stream(**request) as events:
            first = events.get_final_message()
    else:
        first = sdk.messages.create(**request)
    assert first.stop_reason == "tool_use"
    call = next(block for block in first.content if block.type == "tool_use")
    assert call.name == "get_weather" and isinstance(call.input["city"], str)
    if model == "gemini-2.5-flash":
        assert call.id.startswith("toolu_gsig_")  # the thought signature rides in the id

    result = {"type": "tool_result", "tool_use_id": call.id, "content": "18C and sunny"}
    follow_up = {
        **request,
        "messages": [
            question,
            {"role": "assistant", "content": _assistant_turn(first.content)},
            {
                "role": "user",
                "content": [result],
            },
        ],
    }
    if stream:
        with sdk.messages.stream(**follow_up) as events:
            second = events.get_final_message()
    else:
        second = sdk.messages.create(**follow_up)
    assert second.stop_reason == "end_turn"
    assert "18C and sunny" in second.content[-1].text


def test_dropped_thought_signature_is_refused_by_gemini(sdk: anthropic.Anthropic) -> None:
    """The emulator enforces signatures as Gemini does: proof the round trip above really carries them."""
    question = {"role": "user", "content": "Use get_weather: what is the weather in Paris?"}
    request = {"model": "gemini-2.5-flash", "max_tokens": 200, "tools": [WEATHER_TOOL], "messages": [question]}
    call = next(block for block in sdk.messages.create(**request).content if block.type == "tool_use")
    unsigned = {"type": "tool_use", "id": "toolu_plain", "name": call.name, "input": call.input}
    result = {"type": "tool_result", "tool_use_id": "toolu_plain", "content": "18C"}
    messages = [question, {"role": "assistant", "content": [unsigned]}, {"role": "user", "content": [result]}]
    with pytest.raises(anthropic.BadRequestError, match="thought_signature"):
        sdk.messages.create(**{**request, "messages": messages})


# -- files ----------------------------------------------------------------------------------------------------


def test_files_upload_list_retrieve_delete_and_download_refused(
    sdk: anthropic.Anthropic, gemini_emulator: EmulatorHandle
) -> None:
    before = gemini_emulator.request_count()
    uploaded = sdk.beta.files.upload(file=("notes.txt", b"gemini file body", "text/plain"))
    assert uploaded.id.startswith("file_") and uploaded.filename == "notes.txt"
    assert uploaded.size_bytes == 16 and uploaded.mime_type == "text/plain" and not uploaded.downloadable
    # The resumable protocol: start, then one ``upload, finalize`` chunk to the session URL.
    assert upstream_paths(gemini_emulator, before) == ["POST /upload/v1beta/files", "POST /upload/v1beta/files"]
    assert "upload_id=" in gemini_emulator.requests()[-1]["query"]

    assert uploaded.id in [f.id for f in sdk.beta.files.list()]
    assert sdk.beta.files.retrieve_metadata(uploaded.id).filename == "notes.txt"
    with pytest.raises(anthropic.BadRequestError, match="Gemini only allows downloading files it generated"):
        sdk.beta.files.download(uploaded.id)

    assert sdk.beta.files.delete(uploaded.id).id == uploaded.id
    assert gemini_emulator.requests()[-1]["method"] == "DELETE"
    assert gemini_emulator.requests()[-1]["path"].startswith("/v1beta/files/")
    with pytest.raises(anthropic.NotFoundError):
        sdk.beta.files.retrieve_metadata(uploaded.id)


def test_large_upload_goes_in_8_mib_chunks(sdk: anthropic.Anthropic, gemini_emulator: EmulatorHandle) -> None:
    body = bytes(range(256)) * (9 * 1024 * 1024 // 256 + 10)
    before = gemini_emulator.request_count()
    uploaded = sdk.beta.files.upload(file=("big.bin", body, "application/octet-stream"))
    assert uploaded.size_bytes == len(body)
    chunks = [r for r in gemini_emulator.requests()[before:] if "upload_id=" in r["query"]]
    assert len(chunks) == 2  # 8 MiB, then the rest with finalize
    sdk.beta.files.delete(uploaded.id)


# -- batches --------------------------------------------------------------------------------------------------


def test_inline_batch_with_a_per_request_error(http: httpx.Client, gemini_emulator: EmulatorHandle) -> None:
    # An empty content list translates to a request with no contents, which Gemini rejects on its own.
    empty = {"model": "gemini-1.5-flash", "max_tokens": 20, "messages": [{"role": "user", "content": []}]}
    requests = [
        {"custom_id": "good-1", "params": params("What is 2+2?")},
        {"custom_id": "bad", "params": empty},
        {"custom_id": "good-2", "params": params("Capital of France?")},
    ]
    before = gemini_emulator.request_count()
    created = http.post("/v1/messages/batches", headers=KEY, json={"requests": requests})
    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["id"].startswith("msgbatch_") and batch["processing_status"] == "in_progress"
    assert batch["request_counts"]["processing"] == 3
    assert upstream_paths(gemini_emulator, before) == ["POST /v1beta/models/gemini-1.5-flash:batchGenerateContent"]

    ended = wait_ended(http, batch["id"], headers=KEY)
    assert ended["request_counts"] == {"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0}
    results = results_of(http, batch["id"], headers=KEY)
    assert results["good-1"]["type"] == "succeeded" and results["good-2"]["type"] == "succeeded"
    assert results["good-1"]["message"]["content"][0]["text"].startswith("2 + 2 = 4")
    assert results["bad"]["type"] == "errored"
    assert results["bad"]["error"]["error"]["type"] == "invalid_request_error"
    assert "contents" in results["bad"]["error"]["error"]["message"]

    assert http.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY).status_code == 200
    assert gemini_emulator.requests()[-1]["method"] == "DELETE"


def test_large_batch_takes_the_file_input_path(
    http: httpx.Client, gemini_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_lines, "INLINE_BATCH_LIMIT_BYTES", 4096)
    requests = [{"custom_id": f"req-{i}", "params": params(f"Question number {i} " + "x" * 200)} for i in range(40)]
    before = gemini_emulator.request_count()
    batch = http.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    calls = upstream_paths(gemini_emulator, before)
    assert calls[0] == "POST /upload/v1beta/files" and calls[-1].endswith("gemini-1.5-flash:batchGenerateContent")
    wait_ended(http, batch["id"], headers=KEY)
    since = gemini_emulator.request_count()
    results = results_of(http, batch["id"], headers=KEY)
    assert sorted(results) == sorted(r["custom_id"] for r in requests)
    assert all(result["type"] == "succeeded" for result in results.values())
    assert "Question number 7 " in results["req-7"]["message"]["content"][0]["text"]
    assert any(":download" in path for path in upstream_paths(gemini_emulator, since))  # the responses file


def test_two_model_batch_is_split_and_merged(http: httpx.Client, gemini_emulator: EmulatorHandle) -> None:
    requests = [
        {"custom_id": f"r{i}", "params": params(f"q{i}", model="gemini-1.5-flash" if i % 2 else "gemini-2.0-flash")}
        for i in range(6)
    ]
    before = gemini_emulator.request_count()
    batch = http.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    creates = [p for p in upstream_paths(gemini_emulator, before) if p.endswith(":batchGenerateContent")]
    assert sorted(creates) == [
        "POST /v1beta/models/gemini-1.5-flash:batchGenerateContent",
        "POST /v1beta/models/gemini-2.0-flash:batchGenerateContent",
    ]
    assert batch["request_counts"]["processing"] == 6
    ended = wait_ended(http, batch["id"], headers=KEY)
    assert ended["request_counts"]["succeeded"] == 6
    results = results_of(http, batch["id"], headers=KEY)
    for request in requests:
        result = results[request["custom_id"]]
        assert result["type"] == "succeeded"
        assert result["message"]["model"] == request["params"]["model"]
        assert result["message"]["content"][0]["text"].startswith(
            f"You asked: {request['params']['messages'][0]['content']}"
        )


@pytest.mark.parametrize("model", ["gemini-1.5-flash/../../files", "bad\x06model", "two words"])
def test_a_batch_model_name_stays_inside_its_url_segment(
    http: httpx.Client, gemini_emulator: EmulatorHandle, model: str
) -> None:
    # The model names the batch's URL (models/{model}:batchGenerateContent): a name that is not URL-safe is sent
    # quoted, so Gemini refuses an unknown model, instead of the gateway failing to build the URL (a 500 found by
    # tests/integration/test_schemathesis.py). Quoted whole, a ``/`` in the name cannot open another segment.
    before = gemini_emulator.request_count()
    refused = http.post(
        "/v1/messages/batches", headers=KEY, json={"requests": [{"custom_id": "r", "params": params("q", model=model)}]}
    )
    assert_envelope(refused, 404, "not_found_error")
    # One request, whose path (as the emulator decodes it) is the model's own: sent as one segment, not resolved
    assert upstream_paths(gemini_emulator, before) == [f"POST /v1beta/models/{model}:batchGenerateContent"]


def test_cancelled_batch(sqlite_url: str) -> None:
    with serve_in_thread(gemini_emulator_app(batch_seconds=60)) as emulator:
        providers = {"gemini": {"api_key": UPSTREAM_KEY, "base_url": emulator}}
        with running_gateway(providers, sqlite_url) as base, httpx.Client(base_url=f"{base}/anthropic") as http:
            requests = [{"custom_id": f"c{i}", "params": params(f"q{i}")} for i in range(4)]
            requests.append({"custom_id": "other-model", "params": params("q", model="gemini-2.0-flash")})
            batch = http.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
            refused = http.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY)
            assert_envelope(refused, 400, "invalid_request_error", "cannot be deleted while it is in_progress")

            canceled = http.post(f"/v1/messages/batches/{batch['id']}/cancel", headers=KEY).json()
            assert canceled["processing_status"] in ("canceling", "ended")
            assert canceled["cancel_initiated_at"] is not None
            ended = wait_ended(http, batch["id"], headers=KEY)
            assert sum(ended["request_counts"].values()) == 5
            assert ended["request_counts"]["canceled"] == 5
            results = results_of(http, batch["id"], headers=KEY)
            assert sorted(results) == sorted(r["custom_id"] for r in requests)
            assert {result["type"] for result in results.values()} == {"canceled"}
            assert http.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY).status_code == 200


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upstream_status", "status", "error_type"),
    [(429, 429, "rate_limit_error"), (500, 500, "api_error"), (503, 529, "overloaded_error")],
)
def test_upstream_failures_are_mapped(
    http: httpx.Client, gemini_emulator: EmulatorHandle, upstream_status: int, status: int, error_type: str
) -> None:
    gemini_emulator.fail_next(upstream_status, path_prefix="/v1beta/models")
    assert_envelope(http.post("/v1/messages", headers=KEY, json=params()), status, error_type, "Gemini API error")
    gemini_emulator.fail_next(upstream_status, path_prefix="/v1beta/models")
    assert_envelope(http.post("/v1/messages", headers=KEY, json=params(stream=True)), status, error_type)
    gemini_emulator.fail_next(upstream_status, path_prefix="/v1beta/models")
    batch = {"requests": [{"custom_id": "a", "params": params()}]}
    assert_envelope(http.post("/v1/messages/batches", headers=KEY, json=batch), status, error_type)


def test_sdk_raises_the_matching_exceptions(sdk: anthropic.Anthropic, gemini_emulator: EmulatorHandle) -> None:
    gemini_emulator.fail_next(429, path_prefix="/v1beta/models")
    with pytest.raises(anthropic.RateLimitError):
        sdk.messages.create(**params())
    gemini_emulator.fail_next(500, path_prefix="/v1beta/models")
    with pytest.raises(anthropic.InternalServerError):
        sdk.messages.create(**params())


def test_rejected_gateway_key_is_a_500_that_leaks_nothing(sqlite_url: str) -> None:
    with serve_in_thread(gemini_emulator_app(api_keys={"the-right-key"})) as emulator:
        providers = {"gemini": {"api_key": UPSTREAM_KEY, "base_url": emulator}}
        with running_gateway(providers, sqlite_url) as base:
            for body in (params(), params(stream=True)):
                response = httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=body)
                assert_envelope(response, 500, "api_error", "the gateway's gemini credentials were rejected")
                assert UPSTREAM_KEY not in response.text and "caller-key-a" not in response.text


BAD_INPUTS = [
    ("/v1/messages", {**params(), "tool_choice": {"type": "tool", "name": "nope"}, "tools": [WEATHER_TOOL]}, "nope"),
    ("/v1/messages", params(stop_sequences=["a", "b", "c", "d", "e", "f"]), "at most 5"),
    (
        "/v1/messages",
        {
            **params(),
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}],
                }
            ],
        },
        "does not fetch URLs",
    ),
    ("/v1/messages", {"model": "gemini-1.5-flash", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    (
        "/v1/messages/batches",
        {
            "requests": [
                {"custom_id": "fine", "params": params()},
                {"custom_id": "bad", "params": params(stop_sequences=["1", "2", "3", "4", "5", "6"])},
            ]
        },
        "at most 5",
    ),
    ("/v1/messages/batches", {"requests": [{"custom_id": "a", "params": params()}] * 2}, "duplicate custom_id"),
]


@pytest.mark.parametrize(("path", "body", "message"), BAD_INPUTS, ids=[f"{c[0]}:{c[2]}" for c in BAD_INPUTS])
def test_bad_input_never_reaches_gemini(
    http: httpx.Client, gemini_emulator: EmulatorHandle, path: str, body: dict[str, Any], message: str
) -> None:
    before = gemini_emulator.request_count()
    assert_envelope(http.post(path, headers=KEY, json=body), 400, "invalid_request_error", message)
    assert gemini_emulator.request_count() == before


# -- anthropic 0.60.0 -----------------------------------------------------------------------------------------

SDK_060_SCRIPT = """
import anthropic
client = anthropic.Anthropic(
    base_url="{GATEWAY}", api_key="caller-key-060", default_headers={{"x-model-provider": "gemini"}}, max_retries=0
)
message = client.messages.create(
    model="gemini-1.5-flash", max_tokens=64, messages=[{{"role": "user", "content": "What is 2+2?"}}]
)
print("TEXT", message.content[0].text)
with client.messages.stream(
    model="gemini-1.5-flash", max_tokens=64, messages=[{{"role": "user", "content": "What is 2+2?"}}]
) as stream:
    print("STREAM", stream.get_final_message().content[0].text)
tool = {TOOL!r}
question = {{"role": "user", "content": "Use get_weather for Paris"}}
for streaming in (False, True):
    request = dict(model="gemini-2.5-flash", max_tokens=200, tools=[tool], messages=[question])
    if streaming:
        with client.messages.stream(**request) as stream:
            first = stream.get_final_message()
    else:
        first = client.messages.create(**request)
    call = [b for b in first.content if b.type == "tool_use"][0]
    turn = [{{"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}}]
    thinking = [b for b in first.content if b.type == "thinking"]
    result = {{"type": "tool_result", "tool_use_id": call.id, "content": "18C"}}
    request["messages"] = [question, {{"role": "assistant", "content": turn}}, {{"role": "user", "content": [result]}}]
    second = client.messages.create(**request)
    print("TOOL", streaming, first.stop_reason, call.id.startswith("toolu_gsig_"), second.stop_reason)
"""


def test_anthropic_060_messages_streams_and_tools(gateway: str) -> None:
    script = SDK_060_SCRIPT.format(GATEWAY=gateway, TOOL=WEATHER_TOOL)
    completed = run_script("0.60.0", textwrap.dedent(script))
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "TEXT 2 + 2 = 4" in out and "STREAM 2 + 2 = 4" in out
    assert "TOOL False tool_use True end_turn" in out and "TOOL True tool_use True end_turn" in out
