"""The gateway in front of the OpenAI emulator: Messages translated both ways (streaming and not, through the
newest SDK in-process and anthropic 0.60.0 in a subprocess), files, split and merged batches, refusals before
the upstream, upstream failures mapped to the Anthropic envelope."""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import orjson
import pytest

from finops.core.errors import RateLimitError
from finops.emulators.openai.app import create_app as openai_emulator_app
from finops.providers.openai import batch_plan
from finops.providers.openai.batch_lines import to_batch_line
from finops.providers.openai.batch_status import merge_status
from finops.providers.openai.sse import chat_events
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.openai.translate import openai_fault
from finops.providers.relay import relay_events
from finops.providers.sse import parse_events
from finops.providers.upstream_errors import ErrorPolicy
from tests.support.anthropic_api import assert_envelope, results_of, wait_ended
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.sdk import run_script
from tests.support.servers import serve_in_thread

UPSTREAM_KEY = "sk-openai-upstream-secret-0123456789"
MODEL = "gpt-4o-mini"
OPENAI = {"x-model-provider": "openai"}
KEY = {"x-api-key": "openai-caller-a", **OPENAI}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def params(text: str = "What is 2+2?", model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}], **extra}


def upstream_writes(emulator: EmulatorHandle) -> list[tuple[str, str]]:
    """Every request but GETs: the gateway's batch-cost reconciler polls running batches in the background, and
    bad input would show up as a POST (message, upload, batch) anyway. Method and path only: the emulator drops
    the bodies of older entries as its log grows, and the reconciler's GETs grow it at any time."""
    return [(r["method"], r["path"]) for r in emulator.requests() if r["method"] != "GET"]


def batch_posts(emulator: EmulatorHandle) -> int:
    return sum(1 for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/v1/batches")


@pytest.fixture(scope="module")
def openai_emulator() -> Iterator[EmulatorHandle]:
    with serve_in_thread(openai_emulator_app(batch_seconds=1.0)) as url:
        yield EmulatorHandle(url)


@pytest.fixture(scope="module")
def openai_gateway(openai_emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Gateway in front of the OpenAI emulator; yields the client base URL (``.../anthropic``)."""
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('openai') / 'finops.db'}"
    providers = {"openai": {"api_key": UPSTREAM_KEY, "base_url": f"{openai_emulator.base_url}/v1"}}
    with running_gateway(providers, database) as base:
        yield f"{base}/anthropic"


@pytest.fixture
def client(openai_gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=openai_gateway, timeout=30) as http:
        yield http


@pytest.fixture
def sdk(openai_gateway: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=openai_gateway, api_key="openai-sdk-caller", default_headers=OPENAI, max_retries=0
    )


# -- messages through the newest SDK ---------------------------------------------------------------------


def test_messages_round_trip(sdk: anthropic.Anthropic) -> None:
    message = sdk.messages.create(**params("What is 15 * 7?"), system="Be brief.")
    assert message.id.startswith("msg_")
    assert message.model == MODEL and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text.startswith("15 * 7 = 105")
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_streaming_round_trip(sdk: anthropic.Anthropic) -> None:
    with sdk.messages.stream(**params("What is 15 * 7?")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.startswith("15 * 7 = 105") and final.content[0].text == text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0 and final.usage.input_tokens > 0


def test_streaming_event_sequence(openai_gateway: str) -> None:
    with httpx.stream(
        "POST", f"{openai_gateway}/v1/messages", headers=KEY, json=params("Tell me a story", stream=True)
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("event: ") for line in response.iter_lines() if line.startswith("event: ")]
    assert events[:3] == ["message_start", "ping", "content_block_start"]  # the ping where Anthropic sends it
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(events[3:-3]) == {"content_block_delta"}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tool_use_round_trip(sdk: anthropic.Anthropic, stream: bool) -> None:
    question = {"role": "user", "content": "What is the weather in Paris?"}

    def ask(messages: list[dict[str, Any]]) -> anthropic.types.Message:
        body = {"model": MODEL, "max_tokens": 200, "tools": [WEATHER_TOOL], "messages": messages}
        if not stream:
            return sdk.messages.create(**body)
        with sdk.messages.stream(**body) as events:
            return events.get_final_message()

    first = ask([question])
    assert first.stop_reason == "tool_use"
    tool_use = next(block for block in first.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and isinstance(tool_use.input, dict) and tool_use.id

    result = {"type": "tool_result", "tool_use_id": tool_use.id, "content": "18 C and sunny"}
    final = ask([question, {"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}])
    assert final.stop_reason == "end_turn"
    assert final.content[0].type == "text" and "18 C and sunny" in final.content[0].text


def test_count_tokens_and_models(sdk: anthropic.Anthropic) -> None:
    counted = sdk.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hello there"}])
    assert 5 < counted.input_tokens < 20
    models = list(sdk.models.list())
    assert MODEL in {model.id for model in models}
    assert all(model.type == "model" and model.display_name for model in models)
    assert [model.created_at for model in models] == sorted((model.created_at for model in models), reverse=True)


# -- the same through anthropic 0.60.0 (the seed's era) ----------------------------------------------------

SDK_060_MESSAGES = """
import anthropic
client = anthropic.Anthropic(base_url="{URL}", api_key="old-sdk-caller",
                             default_headers={{"x-model-provider": "openai"}}, max_retries=0)
arithmetic = dict(model="gpt-4o-mini", max_tokens=50, messages=[{{"role": "user", "content": "What is 6 * 7?"}}])
message = client.messages.create(**arithmetic)
print("TEXT", message.content[0].text)
print("STOP", message.stop_reason, message.usage.input_tokens > 0, message.usage.output_tokens > 0)
with client.messages.stream(**arithmetic) as stream:
    streamed = "".join(stream.text_stream)
    final = stream.get_final_message()
print("STREAM", streamed == message.content[0].text, final.stop_reason, final.usage.input_tokens > 0)
tool = {TOOL}
question = {{"role": "user", "content": "What is the weather in Paris?"}}
for streaming in (False, True):
    def ask(messages):
        body = dict(model="gpt-4o-mini", max_tokens=200, tools=[tool], messages=messages)
        if not streaming:
            return client.messages.create(**body)
        with client.messages.stream(**body) as events:
            return events.get_final_message()
    first = ask([question])
    call = [block for block in first.content if block.type == "tool_use"][0]
    result = {{"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}}
    final = ask([question, {{"role": "assistant", "content": first.content}}, {{"role": "user", "content": [result]}}])
    print("TOOL", streaming, first.stop_reason, call.name, final.stop_reason, "18 C and sunny" in final.content[0].text)
"""


def test_messages_through_sdk_060(openai_gateway: str) -> None:
    code = textwrap.dedent(SDK_060_MESSAGES).format(URL=openai_gateway, TOOL=repr(WEATHER_TOOL))
    completed = run_script("0.60.0", code)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("TEXT 6 * 7 = 42")
    assert lines[1:] == [
        "STOP end_turn True True",
        "STREAM True end_turn True",
        "TOOL False tool_use get_weather end_turn True",
        "TOOL True tool_use get_weather end_turn True",
    ]


# -- files ----------------------------------------------------------------------------------------------


def test_files_purposes_download_and_delete(client: httpx.Client, openai_emulator: EmulatorHandle) -> None:
    jsonl = orjson.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": params()})
    uploaded = client.post("/v1/files", headers=KEY, files={"file": ("in.jsonl", jsonl, "application/jsonl")})
    assert uploaded.status_code == 200, uploaded.text
    batch_file = uploaded.json()
    assert batch_file["id"].startswith("file_") and batch_file["mime_type"] == "application/jsonl"
    assert batch_file["size_bytes"] == batch_file["size"] == len(jsonl) and batch_file["downloadable"] is True

    text = client.post("/v1/files", headers=KEY, files={"file": ("notes.txt", b"plain notes", "text/plain")}).json()
    assert text["mime_type"] == "text/plain" and text["downloadable"] is False
    # Not an OpenAI batch input, though named .jsonl: kept as user data rather than refused.
    odd = client.post("/v1/files", headers=KEY, files={"file": ("rows.jsonl", b'{"x": 1}\n', "application/jsonl")})
    assert odd.status_code == 200, odd.text

    upstream_files = httpx.get(f"{openai_emulator.base_url}/v1/files", headers={"authorization": "Bearer test"}).json()[
        "data"
    ]
    # Upstream, each name starts with its create's intent key (``finops-<20 chars>-``): recovery finds it by that.
    purposes = {re.sub(r"^finops-[A-Za-z0-9]{20}-", "", f["filename"]): f["purpose"] for f in upstream_files}
    assert purposes["in.jsonl"] == "batch" and purposes["notes.txt"] == "user_data"
    assert purposes["rows.jsonl"] == "user_data"

    downloaded = client.get(f"/v1/files/{batch_file['id']}/content", headers={"x-api-key": "openai-caller-a"})
    assert downloaded.status_code == 200 and downloaded.content == jsonl

    assert client.delete(f"/v1/files/{batch_file['id']}", headers=KEY).json()["type"] == "file_deleted"
    assert_envelope(client.get(f"/v1/files/{batch_file['id']}", headers=KEY), 404, "not_found_error")
    remaining = httpx.get(f"{openai_emulator.base_url}/v1/files", headers={"authorization": "Bearer t"}).json()
    assert "in.jsonl" not in {f["filename"] for f in remaining["data"]}


def test_explicit_purpose_is_forwarded(client: httpx.Client, openai_emulator: EmulatorHandle) -> None:
    response = client.post(
        "/v1/files", headers=KEY, files={"file": ("v.png", b"\x89PNG", "image/png")}, data={"purpose": "vision"}
    )
    assert response.status_code == 200, response.text
    listed = httpx.get(f"{openai_emulator.base_url}/v1/files", headers={"authorization": "Bearer t"}).json()["data"]
    assert {re.sub(r"^finops-[A-Za-z0-9]{20}-", "", f["filename"]): f["purpose"] for f in listed}["v.png"] == "vision"


# -- batches --------------------------------------------------------------------------------------------


def test_batch_with_two_models_is_split_and_merged(client: httpx.Client, openai_emulator: EmulatorHandle) -> None:
    before = batch_posts(openai_emulator)
    requests = [{"custom_id": f"mini-{i}", "params": params(f"What is {i} + 1?")} for i in range(3)] + [
        {"custom_id": f"big-{i}", "params": params(f"What is {i} * 3?", model="gpt-4o")} for i in range(2)
    ]
    created = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests})
    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["processing_status"] == "in_progress"
    assert batch["request_counts"] == {"processing": 5, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    assert batch_posts(openai_emulator) == before + 2  # one upstream batch per model

    ended = wait_ended(client, batch["id"], headers=KEY)
    assert ended["request_counts"] == {"processing": 0, "succeeded": 5, "errored": 0, "canceled": 0, "expired": 0}
    results = results_of(client, batch["id"], headers=KEY)
    assert set(results) == {r["custom_id"] for r in requests}
    assert all(result["type"] == "succeeded" for result in results.values())
    assert results["mini-2"]["message"]["content"][0]["text"].startswith("2 + 1 = 3")
    assert results["big-1"]["message"]["content"][0]["text"].startswith("1 * 3 = 3")
    assert results["big-1"]["message"]["model"].startswith("gpt-4o")


def test_batch_with_failing_lines_mixes_succeeded_and_errored(client: httpx.Client) -> None:
    bad_choice = params("Weather in Paris?", tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "nope"})
    requests = [
        {"custom_id": "ok-1", "params": params("What is 1 + 1?")},
        {"custom_id": "bad-tool-choice", "params": bad_choice},
        {"custom_id": "ok-2", "params": params("What is 2 + 2?")},
        {"custom_id": "unknown-model", "params": params("Hi", model="not-a-model")},
    ]
    batch = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    ended = wait_ended(client, batch["id"], headers=KEY)
    assert ended["request_counts"] == {"processing": 0, "succeeded": 2, "errored": 2, "canceled": 0, "expired": 0}
    results = results_of(client, batch["id"], headers=KEY)
    assert results["ok-1"]["type"] == results["ok-2"]["type"] == "succeeded"
    assert results["bad-tool-choice"]["type"] == "errored"
    assert results["bad-tool-choice"]["error"]["error"]["type"] == "invalid_request_error"
    assert "nope" in results["bad-tool-choice"]["error"]["error"]["message"]
    assert results["unknown-model"]["error"]["error"]["type"] == "not_found_error"
    assert "not-a-model" in results["unknown-model"]["error"]["error"]["message"]


def test_cancelled_batch_reports_canceled_results(client: httpx.Client) -> None:
    requests = [{"custom_id": f"r{i}", "params": params(f"question {i}")} for i in range(4)]
    requests.append({"custom_id": "other-model", "params": params("hello", model="gpt-4.1")})
    batch = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    refused = client.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY)
    assert_envelope(refused, 400, "invalid_request_error", "cannot be deleted while it is in_progress")

    canceled = client.post(f"/v1/messages/batches/{batch['id']}/cancel", headers=KEY).json()
    assert canceled["processing_status"] == "canceling" and canceled["cancel_initiated_at"] is not None
    assert sum(canceled["request_counts"].values()) == 5
    ended = wait_ended(client, batch["id"], headers=KEY)
    counts = ended["request_counts"]
    assert sum(counts.values()) == 5 and counts["canceled"] > 0 and counts["processing"] == 0
    results = results_of(client, batch["id"], headers=KEY)
    assert set(results) == {r["custom_id"] for r in requests}
    assert {result["type"] for result in results.values()} <= {"canceled", "succeeded"}
    assert sum(result["type"] == "canceled" for result in results.values()) == counts["canceled"]

    assert client.delete(f"/v1/messages/batches/{batch['id']}", headers=KEY).json()["type"] == "message_batch_deleted"
    assert_envelope(client.get(f"/v1/messages/batches/{batch['id']}", headers=KEY), 404, "not_found_error")


def test_deleting_a_batch_deletes_its_upstream_files(client: httpx.Client, openai_emulator: EmulatorHandle) -> None:
    def upstream_file_ids() -> set[str]:
        listed = httpx.get(f"{openai_emulator.base_url}/v1/files", headers={"authorization": "Bearer t"}).json()
        return {f["id"] for f in listed["data"]}

    before = upstream_file_ids()
    one = {"requests": [{"custom_id": "x", "params": params()}]}
    batch = client.post("/v1/messages/batches", headers=KEY, json=one)
    wait_ended(client, batch.json()["id"], headers=KEY)
    assert len(upstream_file_ids() - before) == 2  # input + output
    assert client.delete(f"/v1/messages/batches/{batch.json()['id']}", headers=KEY).status_code == 200
    assert upstream_file_ids() - before == set()


def test_batch_results_through_the_sdk_without_the_header(client: httpx.Client, openai_gateway: str) -> None:
    """The stored provider serves calls on an ID: the results example sends no x-model-provider."""
    batch = client.post(
        "/v1/messages/batches", headers=KEY, json={"requests": [{"custom_id": "q", "params": params()}]}
    ).json()
    wait_ended(client, batch["id"], headers=KEY)
    sdk = anthropic.Anthropic(base_url=openai_gateway, api_key="openai-caller-a", max_retries=0)
    results = list(sdk.messages.batches.results(batch["id"]))
    assert [r.custom_id for r in results] == ["q"]
    assert results[0].result.type == "succeeded" and results[0].result.message.content[0].text.startswith("2 + 2")


def test_large_parts_roll_over_into_more_upstream_batches(
    client: httpx.Client, openai_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_plan, "MAX_LINES_PER_FILE", 2)  # stands in for OpenAI's 50,000 (same process)
    before = batch_posts(openai_emulator)
    requests = [{"custom_id": f"r{i}", "params": params(f"What is {i} + {i}?")} for i in range(5)]
    batch = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    assert batch_posts(openai_emulator) == before + 3
    ended = wait_ended(client, batch["id"], headers=KEY)
    assert ended["request_counts"]["succeeded"] == 5
    results = results_of(client, batch["id"], headers=KEY)
    assert results["r4"]["message"]["content"][0]["text"].startswith("4 + 4 = 8")


def test_upstream_batch_that_fails_validation_errors_every_request(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def wrong_url_line(custom_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return {**to_batch_line(custom_id, params), "url": "/v1/embeddings"}

    monkeypatch.setattr(batch_plan, "to_batch_line", wrong_url_line)
    requests = [{"custom_id": f"r{i}", "params": params()} for i in range(2)]
    batch = client.post("/v1/messages/batches", headers=KEY, json={"requests": requests}).json()
    ended = wait_ended(client, batch["id"], headers=KEY)
    assert ended["request_counts"] == {"processing": 0, "succeeded": 0, "errored": 2, "canceled": 0, "expired": 0}
    results = results_of(client, batch["id"], headers=KEY)
    assert set(results) == {"r0", "r1"}
    for result in results.values():
        assert result["type"] == "errored"
        assert "does not match the batch endpoint" in result["error"]["error"]["message"]


def _openai_batch(status: str, completed: int = 0, failed: int = 0, **extra: Any) -> dict[str, Any]:
    return {"status": status, "request_counts": {"total": 0, "completed": completed, "failed": failed}, **extra}


def test_merged_status_and_counts_always_sum_to_the_total() -> None:
    parts = [{"count": 3}, {"count": 2}]
    zero = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)

    half_done = merge_status(parts, [_openai_batch("completed", 3), _openai_batch("in_progress", 1)], False)
    assert half_done.processing_status == "in_progress" and half_done.request_counts == zero | {"processing": 5}

    stopping = merge_status(parts, [_openai_batch("cancelling"), _openai_batch("completed", 2)], False)
    assert stopping.processing_status == "canceling"

    ended = merge_status(
        parts,
        [_openai_batch("cancelled", 1, 1, cancelled_at=200), _openai_batch("expired", 1, completed_at=None)],
        False,
    )
    assert ended.processing_status == "ended"
    assert ended.request_counts == zero | {"succeeded": 2, "errored": 1, "canceled": 1, "expired": 1}
    assert ended.ended_at is not None and ended.ended_at.timestamp() == 200

    refused = merge_status(parts, [_openai_batch("failed"), _openai_batch("completed", 5, 5)], True)
    assert refused.request_counts == zero | {"errored": 3, "succeeded": 2}  # upstream over-counts are clamped


# -- refusals and upstream failures ---------------------------------------------------------------------

BAD_INPUTS = [
    ("/v1/messages", params(stop_sequences=["a", "b", "c", "d", "e"]), "at most 4 stop sequences"),
    ("/v1/messages", {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, "max_tokens: Field required"),
    (
        "/v1/messages",
        params(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
        "only OpenAI's search models search the web",
    ),
    (
        "/v1/messages",
        params(stream=True, stop_sequences=["1", "2", "3", "4", "5"]),
        "at most 4 stop sequences",
    ),
    ("/v1/messages/batches", {"requests": []}, "at least 1 request"),
    ("/v1/messages/batches", {"requests": [{"custom_id": "bad id!", "params": params()}]}, "custom_id"),
    (
        "/v1/messages/batches",
        {"requests": [{"custom_id": "a", "params": params()}, {"custom_id": "a", "params": params()}]},
        "duplicate custom_id",
    ),
    (
        "/v1/messages/batches",
        {"requests": [{"custom_id": "a", "params": {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}}]},
        "max_tokens: Field required",
    ),
    (
        "/v1/messages/batches",
        {
            "requests": [
                {"custom_id": "a", "params": params()},
                {"custom_id": "b", "params": params(stop_sequences=["1", "2", "3", "4", "5"])},
            ]
        },
        "requests.1.params.stop_sequences",
    ),
    (
        "/v1/messages/batches",
        {"requests": [{"custom_id": f"m{i}", "params": params(model=f"gpt-model-{i}")} for i in range(17)]},
        "at most 16 models",
    ),
]


@pytest.mark.parametrize(("path", "body", "message"), BAD_INPUTS, ids=[case[2] for case in BAD_INPUTS])
def test_bad_input_never_reaches_openai(
    client: httpx.Client, openai_emulator: EmulatorHandle, path: str, body: Any, message: str
) -> None:
    before = upstream_writes(openai_emulator)
    assert_envelope(client.post(path, headers=KEY, json=body), 400, "invalid_request_error", message)
    assert upstream_writes(openai_emulator) == before


@pytest.mark.parametrize(
    ("upstream_status", "status", "error_type"),
    [(429, 429, "rate_limit_error"), (500, 500, "api_error"), (503, 529, "overloaded_error")],
)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_upstream_failures_map_to_the_envelope(
    client: httpx.Client,
    openai_emulator: EmulatorHandle,
    upstream_status: int,
    status: int,
    error_type: str,
    stream: bool,
) -> None:
    openai_emulator.fail_next(upstream_status, path_prefix="/v1/chat/completions")
    response = client.post("/v1/messages", headers=KEY, json=params(stream=stream))
    assert_envelope(response, status, error_type, "openai")


def test_upstream_failure_on_batch_create_leaves_nothing_running(
    client: httpx.Client, openai_emulator: EmulatorHandle
) -> None:
    for _ in range(3):  # a background poll of /v1/batches/{id} may take the fault first: then try again
        before = openai_emulator.request_count()
        openai_emulator.fail_next(429, path_prefix="/v1/batches")
        one = {"requests": [{"custom_id": "a", "params": params()}]}
        response = client.post("/v1/messages/batches", headers=KEY, json=one)
        if response.status_code != 200:
            break
    assert_envelope(response, 429, "rate_limit_error")
    # Background pollers may interleave GETs; what matters is upload -> refused create -> the upload deleted.
    calls = [(r["method"], r["path"]) for r in openai_emulator.requests()[before:] if r["method"] != "GET"]
    assert [method for method, _ in calls] == ["POST", "POST", "DELETE"]
    assert calls[0][1] == "/v1/files" and calls[1][1] == "/v1/batches" and calls[2][1].startswith("/v1/files/")


def test_rejected_gateway_credentials_are_a_500_and_do_not_leak(tmp_path: Path) -> None:
    with serve_in_thread(openai_emulator_app(batch_seconds=1, api_keys={"the-right-key"})) as emulator:
        providers = {"openai": {"api_key": UPSTREAM_KEY, "base_url": f"{emulator}/v1"}}
        with running_gateway(providers, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}") as base:
            for stream in (False, True):
                response = httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=params(stream=stream))
                assert_envelope(response, 500, "api_error", "the gateway's openai credentials were rejected")
                assert UPSTREAM_KEY[:12] not in response.text and "sk-" not in response.text


# -- mid-stream errors (the emulator cannot fail half-way, so the relay is fed directly) -----------------


class _Body(httpx.AsyncByteStream):
    def __init__(self, events: tuple[str, ...]) -> None:
        self._events = events

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self._events:  # one upstream read per event
            yield event.encode() + b"\n\n"


def _relay(*events: str) -> list[bytes]:
    async def open_response() -> httpx.Response:
        return httpx.Response(200, stream=_Body(events))

    async def collect() -> list[bytes]:
        source = chat_events(open_response, ChatStreamTranslator(model=MODEL), "openai")
        return [frame async for frame in relay_events(ErrorPolicy("openai", [], openai_fault), source)]

    return asyncio.run(collect())


def _chunk(content: str) -> str:
    return "data: " + orjson.dumps({"choices": [{"index": 0, "delta": {"content": content}}]}).decode()


def test_error_after_the_first_frame_becomes_an_error_event() -> None:
    error = {"error": {"message": "server overloaded", "type": "server_error"}}
    frames = _relay(_chunk("Hel"), "data: " + orjson.dumps(error).decode())
    assert frames[-1].startswith(b"event: error\n")
    assert b"server overloaded" in frames[-1] and b"message_stop" not in b"".join(frames)

    cut = _relay(_chunk("Hel"), _chunk("lo"))  # body ended without [DONE]
    assert cut[-1].startswith(b"event: error\n") and b"before it was complete" in cut[-1]

    done = _relay(": keep-alive", _chunk("Hi"), "data: [DONE]")
    last_event = b"".join(done).rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    assert last_event.startswith(b"event: message_stop\n")


def _event_names(frame: bytes) -> list[str]:
    return [name for name, _ in parse_events(frame)]


def test_the_events_of_one_upstream_read_leave_in_one_frame() -> None:
    frames = _relay(_chunk("Hel"), _chunk("lo") + "\n\ndata: [DONE]")
    assert [_event_names(frame) for frame in frames] == [
        ["message_start", "ping", "content_block_start", "content_block_delta"],
        ["content_block_delta", "content_block_stop", "message_delta", "message_stop"],
    ]


def test_what_a_read_completed_before_a_failing_chunk_goes_out_first() -> None:
    error = {"error": {"message": "server overloaded", "type": "server_error"}}
    frames = _relay(_chunk("Hel"), _chunk("lo") + "\n\ndata: " + orjson.dumps(error).decode())
    assert _event_names(frames[-2]) == ["content_block_delta"] and b'"text":"lo"' in frames[-2]
    assert frames[-1].startswith(b"event: error\n") and b"server overloaded" in frames[-1]


def test_error_before_the_first_frame_raises() -> None:
    rate_limited = {"error": {"message": "slow down", "type": "requests"}}
    with pytest.raises(Exception, match="slow down") as raised:
        _relay("data: " + orjson.dumps(rate_limited).decode())
    assert not isinstance(raised.value, RateLimitError)  # an error inside a 200 stream is the upstream's (500)
