"""The OpenAI emulator, driven by the official ``openai`` SDK and checked against OpenAI's own OpenAPI spec.

Every response body the tests look at is validated against ``specs/openai/openapi.json`` on the raw wire JSON
(not the SDK's parsed objects), every JSON request the SDK sends is validated against the request schema,
and batch JSONL lines are validated against the line schemas in ``batch_jsonl_lines.excerpt.yaml``.

Two readings of the spec are applied (see ``_openapi30_nulls``):
- ``nullable: true`` (an OpenAPI 3.0 keyword the 3.1 spec still carries) means "or null".
- In *responses*, a property may be null: the real API sends ``null`` for unset fields (the spec's own Batch
  example has ``"errors": null, "failed_at": null``), while the schemas type them as plain strings/integers.
  Required properties must still be present, and every non-null value must match its schema.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from finops.emulators.openai.app import create_app
from tests.support.servers import serve_in_thread
from tests.support.specs import SPECS_DIR

SPEC_DIR = SPECS_DIR
OPENAI_SPEC = SPEC_DIR / "openai" / "openapi.json"
JSONL_SPEC = SPEC_DIR / "openai" / "batch_jsonl_lines.excerpt.yaml"
API_KEY = "sk-emulator-test"
BATCH_SECONDS = 0.6
CHAT = "/v1/chat/completions"

# --------------------------------------------------------------------------------------------- spec loading


def _openapi30_nulls(node: Any, *, relax_properties: bool) -> Any:
    """Rewrite OpenAPI 3.0 ``nullable`` into JSON Schema; optionally let every response property be null."""
    if isinstance(node, list):
        return [_openapi30_nulls(item, relax_properties=relax_properties) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _openapi30_nulls(value, relax_properties=relax_properties) for key, value in node.items()}
    properties = out.get("properties")
    if relax_properties and isinstance(properties, dict) and all(isinstance(v, dict) for v in properties.values()):
        out["properties"] = {name: {"anyOf": [schema, {"type": "null"}]} for name, schema in properties.items()}
    if out.pop("nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _registry(relax: bool) -> Registry:
    spec = json.loads(OPENAI_SPEC.read_text())
    contents = _openapi30_nulls(spec, relax_properties=relax)
    return Registry().with_resource("urn:openai", Resource(contents=contents, specification=DRAFT202012))


@functools.cache
def _validator(name: str, *, response: bool) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"urn:openai#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry(response))


def check_response(name: str, payload: Any) -> Any:
    """Validate a response body against ``components.schemas[name]``; returns it for chaining."""
    _validator(name, response=True).validate(payload)
    return payload


def check_request(name: str, payload: Any) -> None:
    _validator(name, response=False).validate(payload)


@functools.cache
def _jsonl_validators() -> dict[str, jsonschema.Draft202012Validator]:
    schemas = yaml.safe_load(JSONL_SPEC.read_text())
    return {
        name: jsonschema.Draft202012Validator(_openapi30_nulls(schema, relax_properties=False))
        for name, schema in schemas.items()
    }


def check_jsonl_line(name: str, line: dict[str, Any]) -> None:
    _jsonl_validators()[name].validate(line)


def test_schema_checks_reject_wrong_shapes() -> None:
    """The validators used everywhere below do catch a broken object (so a pass means something)."""
    with pytest.raises(jsonschema.ValidationError):
        check_response("OpenAIFile", {"id": "file-1", "object": "file", "bytes": "12"})
    with pytest.raises(jsonschema.ValidationError):
        check_response("Batch", {"id": "batch_1", "object": "batch", "status": "done"})
    with pytest.raises(jsonschema.ValidationError):
        check_jsonl_line("BatchRequestOutput", {"id": "x", "custom_id": 7, "response": None, "error": None})


# ------------------------------------------------------------------------------------------------- fixtures


class Wire:
    """Records the JSON request bodies the SDK sends, to validate them against the spec."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    def hook(self, request: Any) -> None:
        if request.headers.get("content-type", "").startswith("application/json") and request.content:
            self.requests.append((request.method, request.url.path, json.loads(request.content)))

    def last(self, method: str, path: str) -> Any:
        for seen_method, seen_path, body in reversed(self.requests):
            if (seen_method, seen_path) == (method, path):
                return body
        raise AssertionError(f"the SDK sent no {method} {path}")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(batch_seconds=BATCH_SECONDS, api_keys={API_KEY})) as url:
        yield url


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def client(base_url: str, wire: Wire) -> Iterator[openai.OpenAI]:
    http_client = openai.DefaultHttpxClient(event_hooks={"request": [wire.hook]})
    sdk = openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key=API_KEY,
        max_retries=0,
        http_client=http_client,
        # The SDK also checks every response against its own typed models.
        _strict_response_validation=True,
    )
    yield sdk
    sdk.close()


def raw_json(response: Any) -> Any:
    """The wire JSON of a ``with_raw_response`` call."""
    return json.loads(response.http_response.content)


# --------------------------------------------------------------------------------------------------- models


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    raw = client.models.with_raw_response.list()
    check_response("ListModelsResponse", raw_json(raw))
    ids = [model.id for model in raw.parse()]
    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1"} <= set(ids)

    raw_model = client.models.with_raw_response.retrieve("gpt-4.1")
    model = raw_model.parse()
    check_response("Model", raw_json(raw_model))
    assert (model.id, model.object) == ("gpt-4.1", "model")

    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-does-not-exist")
    check_response("ErrorResponse", caught.value.response.json())


# ----------------------------------------------------------------------------------------- chat completions


def test_chat_completion_answers_deterministically(client: openai.OpenAI, wire: Wire) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
    check_request("CreateChatCompletionRequest", wire.last("POST", CHAT))
    check_response("CreateChatCompletionResponse", raw_json(raw))
    completion = raw.parse()

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert "2 + 2 = 4" in (choice.message.content or "")
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details and usage.completion_tokens_details.reasoning_tokens == 0

    again = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    other = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi!"}])
    assert again.choices[0].message.content == choice.message.content
    assert again.usage == usage
    assert other.choices[0].message.content != choice.message.content


def test_chat_accepts_every_role_and_content_part(client: openai.OpenAI, wire: Wire) -> None:
    pdf = "data:application/pdf;base64," + "JVBERi0xLjQK" * 200
    messages: list[Any] = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "system", "content": [{"type": "text", "text": "Be precise."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe these."},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
                {"type": "file", "file": {"filename": "a.pdf", "file_data": pdf}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"cat"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "A cat sitting on a PDF."},
    ]
    raw = client.chat.completions.with_raw_response.create(model="gpt-4.1", messages=messages)
    check_request("CreateChatCompletionRequest", wire.last("POST", CHAT))
    completion = raw.parse()
    check_response("CreateChatCompletionResponse", raw_json(raw))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content
    text_only = client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "Describe these."}]
    )
    # The image and the document are billed as prompt tokens.
    assert completion.usage and text_only.usage
    assert completion.usage.prompt_tokens > text_only.usage.prompt_tokens + 85


def _stream_lines(base_url: str, body: dict[str, Any]) -> list[str]:
    """The raw ``data:`` payloads of a streamed chat completion, as sent on the wire."""
    check_request("CreateChatCompletionRequest", body)
    headers = {"authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", f"{base_url}{CHAT}", json=body, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events), events
    return [line.removeprefix("data: ") for line in events]


def test_chat_stream_with_usage(client: openai.OpenAI, base_url: str) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Tell me about streams"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    payloads = _stream_lines(base_url, body)
    assert payloads[-1] == "[DONE]"
    chunks = [check_response("CreateChatCompletionStreamResponse", json.loads(p)) for p in payloads[:-1]]
    assert {chunk["id"] for chunk in chunks} == {chunks[0]["id"]}
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    *content_chunks, usage_chunk = chunks
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] > 0
    assert all(chunk["usage"] is None for chunk in content_chunks)
    assert content_chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in content_chunks].count("stop") == 1
    assert content_chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len(content_chunks) > 3  # really streamed in pieces

    streamed_text = "".join(c["choices"][0]["delta"].get("content") or "" for c in content_chunks)
    plain = client.chat.completions.create(model="gpt-4o", messages=body["messages"])
    assert streamed_text == plain.choices[0].message.content
    assert plain.usage is not None
    assert usage_chunk["usage"]["completion_tokens"] == plain.usage.completion_tokens
    assert usage_chunk["usage"]["prompt_tokens"] == plain.usage.prompt_tokens

    # The SDK reads the same stream.
    sdk_text, sdk_usage = "", None
    for chunk in client.chat.completions.create(
        model="gpt-4o", messages=body["messages"], stream=True, stream_options={"include_usage": True}
    ):
        if chunk.choices:
            sdk_text += chunk.choices[0].delta.content or ""
        sdk_usage = chunk.usage or sdk_usage
    assert sdk_text == streamed_text
    assert sdk_usage is not None and sdk_usage.total_tokens == plain.usage.total_tokens


def test_chat_stream_without_usage_sends_no_usage(base_url: str) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    payloads = _stream_lines(base_url, body)
    assert payloads[-1] == "[DONE]"
    chunks = [check_response("CreateChatCompletionStreamResponse", json.loads(p)) for p in payloads[:-1]]
    assert all(chunk["choices"] and "usage" not in chunk for chunk in chunks)


WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "hourly": {"type": "boolean"},
                "note": {"type": "string"},
            },
            "required": ["city", "unit", "days", "hourly"],
            "additionalProperties": False,
        },
    },
}
SEARCH_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "filters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "value": {"type": "number"}},
                        "required": ["field", "value"],
                    },
                },
            },
            "required": ["query", "filters"],
        },
    },
}
TOOLS = [WEATHER_TOOL, SEARCH_TOOL]


@pytest.mark.parametrize(
    ("tool_choice", "prompt", "expected_tool"),
    [
        pytest.param("auto", "What's the weather in Paris?", "get_weather", id="auto"),
        pytest.param("auto", "Please search_docs for refunds", "search_docs", id="auto-picks-named-in-prompt"),
        pytest.param("required", "Hello", "get_weather", id="required"),
        pytest.param({"type": "function", "function": {"name": "search_docs"}}, "Hello", "search_docs", id="named"),
        pytest.param("none", "What's the weather in Paris?", None, id="none"),
    ],
)
def test_tool_choice(
    client: openai.OpenAI, wire: Wire, tool_choice: Any, prompt: str, expected_tool: str | None
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}],
        tools=TOOLS,
        tool_choice=tool_choice,
    )
    check_request("CreateChatCompletionRequest", wire.last("POST", CHAT))
    check_response("CreateChatCompletionResponse", raw_json(raw))
    choice = raw.parse().choices[0]
    if expected_tool is None:
        assert choice.finish_reason == "stop"
        assert choice.message.tool_calls is None and choice.message.content
        return
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == expected_tool
    schema = next(t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == expected_tool)
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, schema)
    assert set(schema["required"]) <= set(arguments)


def test_tool_result_gets_a_text_answer(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=TOOLS
    )
    call = first.choices[0].message.tool_calls
    assert call is not None
    follow_up = client.chat.completions.create(
        model="gpt-4o-mini",
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call[0].id, "content": "18 degrees and sunny"},
        ],
    )
    assert follow_up.choices[0].finish_reason == "stop"
    assert "18 degrees and sunny" in (follow_up.choices[0].message.content or "")


def test_tool_call_streams_argument_fragments(client: openai.OpenAI, base_url: str) -> None:
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    body = {"model": "gpt-4o-mini", "messages": messages, "tools": TOOLS, "stream": True}
    payloads = _stream_lines(base_url, body)
    chunks = [check_response("CreateChatCompletionStreamResponse", json.loads(p)) for p in payloads[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    head = deltas[0]["tool_calls"][0]
    assert head["id"].startswith("call_") and head["function"]["name"] == "get_weather"
    fragments = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:] if d.get("tool_calls")]
    assert len(fragments) >= 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    plain = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    plain_calls = plain.choices[0].message.tool_calls
    assert plain_calls is not None
    assert "".join(fragments) == plain_calls[0].function.arguments


@pytest.mark.parametrize("limit_field", ["max_completion_tokens", "max_tokens"])
def test_token_limit_cuts_reply_with_length(client: openai.OpenAI, limit_field: str) -> None:
    messages = [{"role": "user", "content": "Write a long story about a lighthouse"}]
    full = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    cut = client.chat.completions.create(model="gpt-4o-mini", messages=messages, **{limit_field: 5})
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 5
    content = cut.choices[0].message.content or ""
    assert content and (full.choices[0].message.content or "").startswith(content)
    assert len(content) < len(full.choices[0].message.content or "")


def test_stop_sequences(client: openai.OpenAI, wire: Wire) -> None:
    messages = [{"role": "user", "content": "Say something"}]
    full = client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content
    assert full and "deterministic" in full

    single = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stop="deterministic")
    assert single.choices[0].finish_reason == "stop"
    assert single.choices[0].message.content == full[: full.index("deterministic")]

    several = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stop=["never-there", "emulated", "deterministic"]
    )
    check_request("CreateChatCompletionRequest", wire.last("POST", CHAT))
    assert several.choices[0].message.content == full[: full.index("deterministic")]

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, stop=["a", "b", "c", "d", "e"])
    assert caught.value.status_code == 400
    assert caught.value.param == "stop"


def test_long_prompts_are_cached_from_the_second_request(client: openai.OpenAI) -> None:
    """OpenAI's automatic caching: nothing on a first request, 128-token steps of a repeated >= 1,024 prefix."""
    long_prompt = "Summarise the following report. " + "The quarterly numbers rose steadily. " * 300
    messages = [{"role": "user", "content": long_prompt}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    usage = first.usage
    assert usage is not None and usage.prompt_tokens > 1024
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 0

    again = client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    assert again.usage and again.usage.prompt_tokens_details
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert cached is not None and 1024 <= cached < again.usage.prompt_tokens and cached % 128 == 0

    # The same long prefix with a new question reads the prefix; another model has its own cache.
    follow_up = [*messages, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "Shorter?"}]
    longer = client.chat.completions.create(model="gpt-4o-mini", messages=follow_up)  # type: ignore[arg-type]
    assert longer.usage and longer.usage.prompt_tokens_details
    assert longer.usage.prompt_tokens_details.cached_tokens == cached
    other = client.chat.completions.create(model="gpt-4.1", messages=messages)  # type: ignore[arg-type]
    assert other.usage and other.usage.prompt_tokens_details and other.usage.prompt_tokens_details.cached_tokens == 0


def test_chat_rejects_bad_requests(client: openai.OpenAI, base_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="claude-3-opus", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_found"

    headers = {"authorization": f"Bearer {API_KEY}"}
    missing = httpx.post(f"{base_url}{CHAT}", json={"model": "gpt-4o-mini"}, headers=headers)
    assert missing.status_code == 400
    error = check_response("ErrorResponse", missing.json())["error"]
    assert (error["param"], error["type"]) == ("messages", "invalid_request_error")

    bad_role = {"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "hi"}]}
    response = httpx.post(f"{base_url}{CHAT}", json=bad_role, headers=headers)
    assert response.status_code == 400
    assert check_response("ErrorResponse", response.json())["error"]["param"] == "messages[0].role"

    not_json = httpx.post(f"{base_url}{CHAT}", content=b"{oops", headers=headers)
    assert not_json.status_code == 400
    check_response("ErrorResponse", not_json.json())


# ------------------------------------------------------------------------------------------- auth & routing


def test_missing_or_wrong_key_is_401(base_url: str) -> None:
    no_key = httpx.get(f"{base_url}/v1/models")
    assert no_key.status_code == 401
    check_response("ErrorResponse", no_key.json())

    wrong = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-wrong-key-123", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.models.list()
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        wrong.files.list()
    assert "sk-wrong-key-123" not in str(caught.value)  # never echo a full secret


def test_any_key_works_when_no_keys_are_configured() -> None:
    with serve_in_thread(create_app(batch_seconds=BATCH_SECONDS)) as url:
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="whatever", max_retries=0)
        assert sdk.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
        assert httpx.get(f"{url}/v1/models").status_code == 401


def test_unknown_route_and_request_ids(base_url: str) -> None:
    response = httpx.get(f"{base_url}/v1/nope", headers={"authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 404
    check_response("ErrorResponse", response.json())
    assert response.headers["x-request-id"].startswith("req_")


def test_injected_fault_reaches_the_sdk_as_openai_error(client: openai.OpenAI, base_url: str) -> None:
    httpx.post(f"{base_url}/_emulator/faults", json={"status": 429, "count": 1, "path_prefix": CHAT})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    check_response("ErrorResponse", caught.value.response.json())
    after = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert after.choices[0].message.content


# ---------------------------------------------------------------------------------------------------- files


def test_file_lifecycle(client: openai.OpenAI) -> None:
    data = b"hello emulator\n" * 1000
    raw = client.files.with_raw_response.create(
        file=("notes.txt", data, "text/plain"),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    created = raw.parse()
    check_response("OpenAIFile", raw_json(raw))
    assert created.id.startswith("file-")
    assert (created.object, created.filename, created.purpose) == ("file", "notes.txt", "user_data")
    assert created.bytes == len(data)
    assert created.status == "processed"
    assert created.expires_at == created.created_at + 3600

    raw_retrieved = client.files.with_raw_response.retrieve(created.id)
    check_response("OpenAIFile", raw_json(raw_retrieved))
    assert raw_retrieved.parse() == created
    # OpenAI serves no user_data content, only batch files, vision images and what its tools produced.
    with pytest.raises(openai.BadRequestError, match="Not allowed to download files of purpose: user_data"):
        client.files.content(created.id)
    image = client.files.create(file=("cat.png", b"\x89PNG not really", "image/png"), purpose="vision")
    assert client.files.content(image.id).content == b"\x89PNG not really"

    raw_deleted = client.files.with_raw_response.delete(created.id)
    check_response("DeleteFileResponse", raw_json(raw_deleted))
    deleted = raw_deleted.parse()
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(created.id)


def test_file_list_filters_and_paginates(client: openai.OpenAI) -> None:
    made = [client.files.create(file=(f"v{i}.txt", b"x" * (i + 1)), purpose="vision") for i in range(3)]
    other = client.files.create(file=("a.txt", b"a"), purpose="assistants")

    raw = client.files.with_raw_response.list(purpose="vision")
    listing = check_response("ListFilesResponse", raw_json(raw))
    assert listing["object"] == "list"
    vision_ids = [item["id"] for item in listing["data"]]
    assert other.id not in vision_ids
    newest_first = [f.id for f in reversed(made)]
    assert [i for i in vision_ids if i in newest_first] == newest_first

    oldest_first = [f.id for f in client.files.list(purpose="vision", order="asc")]
    assert [i for i in oldest_first if i in newest_first] == list(reversed(newest_first))

    page = client.files.list(purpose="vision", limit=1)
    assert len(page.data) == 1 and page.has_more
    assert [f.id for f in page] == vision_ids  # the SDK follows ``after`` cursors to the end
    assert page.data[0].id == raw_json(client.files.with_raw_response.list(purpose="vision", limit=1))["first_id"]

    with pytest.raises(openai.BadRequestError):
        client.files.list(limit=0)


def test_upload_rejects_bad_purpose_and_bad_batch_files(client: openai.OpenAI, base_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("a.txt", b"a"), purpose="homework")  # type: ignore[arg-type]
    assert caught.value.param == "purpose"

    bad_lines = {
        "not json": b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n{oops\n',
        "no custom_id": b'{"method": "POST", "url": "/v1/chat/completions", "body": {}}\n',
        "no body": b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions"}\n',
    }
    for content in bad_lines.values():
        with pytest.raises(openai.BadRequestError):
            client.files.create(file=("in.jsonl", content), purpose="batch")

    with pytest.raises(openai.BadRequestError):
        client.files.create(
            file=("a.txt", b"a"), purpose="user_data", expires_after={"anchor": "created_at", "seconds": 5}
        )

    no_file = httpx.post(
        f"{base_url}/v1/files", files={"purpose": (None, "user_data")}, headers={"authorization": f"Bearer {API_KEY}"}
    )
    assert no_file.status_code == 400
    assert check_response("ErrorResponse", no_file.json())["error"]["param"] == "file"
    assert "in.jsonl" not in {f.filename for f in client.files.list()}  # nothing rejected was stored


def test_large_upload_streams_to_disk_and_the_limit_is_enforced(tmp_path: Path) -> None:
    app = create_app(batch_seconds=BATCH_SECONDS, max_file_bytes=8 * 1024 * 1024, storage_dir=tmp_path)
    payload = os.urandom(6 * 1024 * 1024)
    with serve_in_thread(app) as url:
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
        stored = sdk.files.create(file=("blob.bin", payload), purpose="vision")
        assert stored.bytes == len(payload)
        on_disk = [p for p in tmp_path.iterdir() if p.is_file()]
        assert [p.stat().st_size for p in on_disk] == [len(payload)]
        downloaded = sdk.files.content(stored.id).content
        assert hashlib.sha256(downloaded).digest() == hashlib.sha256(payload).digest()

        with pytest.raises(openai.APIStatusError) as caught:
            sdk.files.create(file=("huge.bin", payload + payload), purpose="user_data")
        assert caught.value.status_code == 413
        check_response("ErrorResponse", caught.value.response.json())
        assert [f.id for f in sdk.files.list()] == [stored.id]
        assert len([p for p in tmp_path.iterdir() if p.is_file()]) == 1  # the rejected bytes were not kept


# -------------------------------------------------------------------------------------------------- batches


def _line(custom_id: str, body: dict[str, Any], url: str = CHAT) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def _chat_body(prompt: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}


def _upload_batch_file(client: openai.OpenAI, lines: list[dict[str, Any]]) -> str:
    for line in lines:
        check_jsonl_line("BatchRequestInput", line)
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return client.files.create(file=("input.jsonl", content, "application/jsonl"), purpose="batch").id


def _wait(client: openai.OpenAI, batch_id: str, until: set[str], timeout: float = 15) -> tuple[Any, list[str]]:
    """Poll until the batch reaches one of ``until``; returns it and every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        raw = client.batches.with_raw_response.retrieve(batch_id)
        check_response("Batch", raw_json(raw))
        batch = raw.parse()
        if not seen or seen[-1] != batch.status:
            seen.append(batch.status)
        if batch.status in until:
            return batch, seen
        assert time.monotonic() < deadline, f"batch stuck in {seen}"
        time.sleep(0.03)


def _jsonl(client: openai.OpenAI, file_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in client.files.content(file_id).text.splitlines() if line]
    for line in lines:
        check_jsonl_line("BatchRequestOutput", line)
        assert set(line) == {"id", "custom_id", "response", "error"}
        assert line["id"].startswith("batch_req_") and line["error"] is None
        assert line["response"]["request_id"]
    return lines


def test_batch_runs_to_completion_with_output_and_error_files(client: openai.OpenAI, wire: Wire) -> None:
    good = {f"ok-{i}": _chat_body(f"What is {i} + {i}?") for i in range(4)}
    bad = {
        "no-messages": {"model": "gpt-4o-mini"},
        "too-many-stops": _chat_body("hi", stop=["a", "b", "c", "d", "e"]),
    }
    input_id = _upload_batch_file(client, [_line(k, v) for k, v in {**good, **bad}.items()])
    raw = client.batches.with_raw_response.create(
        input_file_id=input_id, endpoint=CHAT, completion_window="24h", metadata={"job": "nightly"}
    )
    check_request("CreateBatchRequest", wire.last("POST", "/v1/batches"))
    created = raw.parse()
    check_response("Batch", raw_json(raw))
    assert created.id.startswith("batch_") and created.status == "validating"
    assert created.metadata == {"job": "nightly"}
    assert created.expires_at == created.created_at + 24 * 3600

    batch, seen = _wait(client, created.id, {"completed", "failed"})
    assert seen[0] == "validating" and "in_progress" in seen and seen[-1] == "completed"
    assert seen == [s for s in ["validating", "in_progress", "finalizing", "completed"] if s in seen]
    assert batch.created_at <= batch.in_progress_at <= batch.finalizing_at <= batch.completed_at
    assert batch.model == "gpt-4o-mini"
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (6, 4, 2)

    output_file = client.files.retrieve(batch.output_file_id)
    error_file = client.files.retrieve(batch.error_file_id)
    assert output_file.purpose == error_file.purpose == "batch_output"

    outputs = _jsonl(client, batch.output_file_id)
    assert sorted(line["custom_id"] for line in outputs) == sorted(good)
    for line in outputs:
        assert line["response"]["status_code"] == 200
        body = check_response("CreateChatCompletionResponse", line["response"]["body"])
        i = line["custom_id"].removeprefix("ok-")
        assert f"{i} + {i} = {2 * int(i)}" in body["choices"][0]["message"]["content"]

    errors = {line["custom_id"]: line for line in _jsonl(client, batch.error_file_id)}
    assert set(errors) == set(bad)
    for line in errors.values():
        assert line["response"]["status_code"] == 400
        check_response("ErrorResponse", line["response"]["body"])
    assert errors["no-messages"]["response"]["body"]["error"]["param"] == "messages"

    usage = batch.usage
    assert usage is not None
    assert usage.input_tokens == sum(o["response"]["body"]["usage"]["prompt_tokens"] for o in outputs)
    assert usage.output_tokens == sum(o["response"]["body"]["usage"]["completion_tokens"] for o in outputs)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_batch_with_unknown_model_puts_every_request_in_the_error_file(client: openai.OpenAI) -> None:
    input_id = _upload_batch_file(client, [_line(f"r{i}", _chat_body("hi", model="claude-3-opus")) for i in range(2)])
    created = client.batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="24h")
    batch, _ = _wait(client, created.id, {"completed", "failed"})
    assert batch.status == "completed"
    assert batch.output_file_id is None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 2)
    for line in _jsonl(client, batch.error_file_id):
        assert line["response"]["status_code"] == 404
        assert check_response("ErrorResponse", line["response"]["body"])["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("lines", "code", "line_number"),
    [
        pytest.param(
            [_line("a", _chat_body("x")), _line("b", _chat_body("y"), url="/v1/embeddings")],
            "url_mismatch",
            2,
            id="url-vs-endpoint",
        ),
        pytest.param(
            [_line("a", _chat_body("x")), _line("b", _chat_body("y", model="gpt-4o"))],
            "model_mismatch",
            2,
            id="two-models",
        ),
        pytest.param(
            [_line("a", _chat_body("x")), _line("b", _chat_body("y")), _line("a", _chat_body("z"))],
            "duplicate_custom_id",
            3,
            id="duplicate-custom-id",
        ),
        pytest.param([], "empty_file", None, id="empty-file"),
    ],
)
def test_batch_fails_validation(
    client: openai.OpenAI, lines: list[dict[str, Any]], code: str, line_number: int | None
) -> None:
    input_id = _upload_batch_file(client, lines)
    created = client.batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="24h")
    batch, seen = _wait(client, created.id, {"completed", "failed"})
    assert seen == ["validating", "failed"]
    assert batch.failed_at is not None and batch.in_progress_at is None
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.data
    first = batch.errors.data[0]
    assert (first.code, first.line) == (code, line_number)
    assert first.message


def test_batch_create_rejects_bad_input(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.batches.create(input_file_id="file-missing", endpoint=CHAT, completion_window="24h")
    not_batch = client.files.create(file=("a.txt", b"a"), purpose="user_data")
    with pytest.raises(openai.BadRequestError) as caught:
        client.batches.create(input_file_id=not_batch.id, endpoint=CHAT, completion_window="24h")
    assert caught.value.param == "input_file_id"
    input_id = _upload_batch_file(client, [_line("a", _chat_body("x"))])
    with pytest.raises(openai.BadRequestError):
        client.batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="48h")  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")
    with pytest.raises(openai.NotFoundError):
        client.batches.cancel("batch_missing")


def test_batch_list_paginates(client: openai.OpenAI) -> None:
    input_id = _upload_batch_file(client, [_line("a", _chat_body("x"))])
    ids = [client.batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="24h").id for _ in range(3)]

    raw = client.batches.with_raw_response.list(limit=2)
    listing = check_response("ListBatchesResponse", raw_json(raw))
    assert listing["object"] == "list" and len(listing["data"]) == 2 and listing["has_more"] is True
    assert [b["id"] for b in listing["data"]] == [ids[2], ids[1]]  # newest first
    assert (listing["first_id"], listing["last_id"]) == (ids[2], ids[1])

    everything = [b.id for b in client.batches.list(limit=2)]  # the SDK follows ``after``
    assert everything[:3] == list(reversed(ids))
    assert len(everything) == len(set(everything))
    for batch_id in ids:
        _wait(client, batch_id, {"completed"})
    with pytest.raises(openai.BadRequestError):  # a finished batch cannot be cancelled
        client.batches.cancel(ids[0])


def test_batch_cancel_keeps_finished_requests() -> None:
    # A slower emulator so the cancel lands half-way: 20 requests finish one by one over ~1.6 s.
    with serve_in_thread(create_app(batch_seconds=2.0)) as url:
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
        input_id = _upload_batch_file(sdk, [_line(f"r{i}", _chat_body(f"{i} * 3")) for i in range(20)])
        created = sdk.batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="24h")
        deadline = time.monotonic() + 10
        while (batch := sdk.batches.retrieve(created.id)).request_counts.completed < 3:
            assert batch.status in ("validating", "in_progress") and time.monotonic() < deadline
            time.sleep(0.02)

        raw = sdk.batches.with_raw_response.cancel(created.id)
        check_response("Batch", raw_json(raw))
        cancelling = raw.parse()
        assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None

        batch, seen = _wait(sdk, created.id, {"cancelled"}, timeout=5)
        assert seen[-1] == "cancelled" and batch.cancelled_at is not None
        done = batch.request_counts.completed
        assert 3 <= done < 20 and batch.request_counts.total == 20
        outputs = _jsonl(sdk, batch.output_file_id)
        assert len(outputs) == done
        assert {line["custom_id"] for line in outputs} <= {f"r{i}" for i in range(20)}
