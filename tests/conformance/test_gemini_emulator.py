"""The Gemini emulator driven by the official google-genai SDK, on both API versions, with its resources
checked against Google's OpenAPI export of the Generative Language API."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from google import genai
from google.genai import errors, types
from referencing import Registry, Resource

from finops.emulators.gemini.app import create_app
from tests.support.servers import serve_in_thread
from tests.support.specs import SPECS_DIR

SPEC_PATH = SPECS_DIR / "gemini" / "generativelanguage.v1beta.openapi3_0.json"
API_KEY = "test-key"
BATCH_SECONDS = 0.6


# ---------------------------------------------------------------- spec validation


def _closed(schemas: dict[str, Any]) -> dict[str, Any]:
    """Google's export leaves objects open; close the named ones so a misspelt field fails validation.

    ``@type`` (Any-typed metadata) stays allowed, ``nullable`` becomes a JSON Schema type list, and Status gets
    the ``status`` name Google's error envelope (and the emulator's per-request errors) carry.
    """
    schemas = copy.deepcopy(schemas)

    def nullable(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("nullable") is True and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            for value in node.values():
                nullable(value)
        elif isinstance(node, list):
            for value in node:
                nullable(value)

    nullable(schemas)
    for name, schema in schemas.items():
        if name != "BaseOperation" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
            schema["patternProperties"] = {"^@type$": {}}
    schemas["Status"]["properties"]["status"] = {"type": "string"}
    return schemas


SPEC = json.loads(SPEC_PATH.read_text())
SPEC["components"]["schemas"] = _closed(SPEC["components"]["schemas"])
REGISTRY = Registry().with_resource("spec", Resource.opaque(SPEC))


def assert_schema(instance: Any, schema_name: str) -> None:
    validator = jsonschema.Draft202012Validator({"$ref": f"spec#/components/schemas/{schema_name}"}, registry=REGISTRY)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not problems, f"{schema_name}: {problems}"


def assert_batch_operation(operation: dict[str, Any]) -> None:
    """The batch resource: an Operation whose metadata is a GenerateContentBatch."""
    assert operation["metadata"]["@type"].endswith("GenerateContentBatch")
    envelope = {k: v for k, v in operation.items() if k != "response"}
    assert_schema(envelope, "BatchGenerateContentOperation")
    assert_schema(operation["metadata"], "GenerateContentBatch")
    if "response" in operation:
        # The live API answers the output itself here (docs: `.response.inlinedResponses` / `.responsesFile`).
        assert_schema(operation["response"], "GenerateContentBatchOutput")
    stats = {k: int(v) for k, v in operation["metadata"]["batchStats"].items()}
    assert all(isinstance(v, str) for v in operation["metadata"]["batchStats"].values())
    assert (
        stats["successfulRequestCount"] + stats["failedRequestCount"] + stats["pendingRequestCount"]
        == (stats["requestCount"])
    )


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(batch_seconds=BATCH_SECONDS, api_keys={API_KEY})) as url:
        yield url


@pytest.fixture(params=["v1", "v1beta"])
def api_version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def client(base_url: str, api_version: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base_url, api_version=api_version))


@pytest.fixture
def raw(base_url: str, api_version: str) -> Iterator[httpx.Client]:
    """Plain HTTP to the emulator, for checking wire JSON the SDK would hide."""
    with httpx.Client(base_url=f"{base_url}/{api_version}", headers={"x-goog-api-key": API_KEY}) as http:
        yield http


def wait_done(client: genai.Client, name: str, timeout: float = 10.0) -> types.BatchJob:
    deadline = time.monotonic() + timeout
    while True:
        job = client.batches.get(name=name)
        if job.state in (types.JobState.JOB_STATE_SUCCEEDED, types.JobState.JOB_STATE_CANCELLED):
            return job
        assert time.monotonic() < deadline, f"batch {name} still {job.state}"
        time.sleep(0.1)


WEATHER_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Current weather for a city.",
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={
                    "city": types.Schema(type=types.Type.STRING),
                    "unit": types.Schema(type=types.Type.STRING, enum=["celsius", "fahrenheit"]),
                    "days": types.Schema(type=types.Type.INTEGER),
                },
                required=["city", "unit", "days"],
            ),
        )
    ]
)


# ---------------------------------------------------------------- models and generation


def test_generate_content_is_deterministic_and_counts_usage(client: genai.Client, raw: httpx.Client) -> None:
    first = client.models.generate_content(model="gemini-2.0-flash", contents="What is 12 * 7?")
    second = client.models.generate_content(model="gemini-2.0-flash", contents="What is 12 * 7?")
    assert "= 84" in first.text
    assert first.text == second.text
    candidate = first.candidates[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert candidate.content.role == "model"
    usage = first.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert first.model_version == "gemini-2.0-flash"
    assert first.response_id and first.response_id != second.response_id

    body = {"contents": [{"role": "user", "parts": [{"text": "What is 12 * 7?"}]}]}
    wire = raw.post("/models/gemini-2.0-flash:generateContent", json=body).json()
    assert_schema(wire, "GenerateContentResponse")
    assert wire["candidates"][0]["content"]["parts"][0]["text"] == first.text


def test_system_instruction_and_multi_turn_change_the_reply(client: genai.Client) -> None:
    plain = client.models.generate_content(model="gemini-2.0-flash", contents="Tell me a story")
    with_system = client.models.generate_content(
        model="gemini-2.0-flash",
        contents="Tell me a story",
        config=types.GenerateContentConfig(system_instruction="You are a pirate."),
    )
    history = client.models.generate_content(
        model="gemini-2.0-flash",
        contents=[
            types.Content(role="user", parts=[types.Part(text="Hi")]),
            types.Content(role="model", parts=[types.Part(text="Hello!")]),
            types.Content(role="user", parts=[types.Part(text="Tell me a story")]),
        ],
    )
    assert plain.text != with_system.text
    assert history.usage_metadata.prompt_token_count > plain.usage_metadata.prompt_token_count


def test_max_output_tokens_stop_sequences_and_candidates(client: genai.Client) -> None:
    cut = client.models.generate_content(
        model="gemini-2.0-flash", contents="Describe the sea", config=types.GenerateContentConfig(max_output_tokens=3)
    )
    assert cut.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert cut.usage_metadata.candidates_token_count == 3

    full = client.models.generate_content(model="gemini-2.0-flash", contents="Describe the sea")
    stopped = client.models.generate_content(
        model="gemini-2.0-flash",
        contents="Describe the sea",
        config=types.GenerateContentConfig(stop_sequences=["deterministic"], temperature=0.2, top_p=0.9, top_k=20),
    )
    assert stopped.candidates[0].finish_reason == types.FinishReason.STOP
    assert stopped.text == full.text.split("deterministic")[0]

    several = client.models.generate_content(
        model="gemini-2.0-flash", contents="Describe the sea", config=types.GenerateContentConfig(candidate_count=2)
    )
    assert [c.index for c in several.candidates] == [0, 1]
    assert several.candidates[0].content.parts[0].text != several.candidates[1].content.parts[0].text


def test_out_of_range_generation_config_is_400(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model="gemini-2.0-flash", contents="hi", config=types.GenerateContentConfig(temperature=3.5)
        )
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"


def test_stream_matches_the_whole_response(client: genai.Client, base_url: str, api_version: str) -> None:
    whole = client.models.generate_content(model="gemini-2.0-flash", contents="Explain streaming in one line")
    chunks = list(
        client.models.generate_content_stream(model="gemini-2.0-flash", contents="Explain streaming in one line")
    )
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == whole.text
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata.total_token_count == whole.usage_metadata.total_token_count
    assert len({c.response_id for c in chunks}) == 1

    body = {"contents": [{"parts": [{"text": "Explain streaming in one line"}]}]}
    response = httpx.post(
        f"{base_url}/{api_version}/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        json=body,
        headers={"x-goog-api-key": API_KEY},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")]
    assert len(events) == len(chunks)
    for event in events:
        assert_schema(json.loads(event), "GenerateContentResponse")


def test_count_tokens_agrees_with_generate(client: genai.Client, raw: httpx.Client) -> None:
    counted = client.models.count_tokens(model="gemini-2.0-flash", contents="How many tokens is this sentence?")
    generated = client.models.generate_content(model="gemini-2.0-flash", contents="How many tokens is this sentence?")
    assert counted.total_tokens == generated.usage_metadata.prompt_token_count > 0
    wire = raw.post(
        "/models/gemini-2.0-flash:countTokens", json={"contents": [{"parts": [{"text": "How many tokens?"}]}]}
    ).json()
    assert_schema(wire, "CountTokensResponse")


def test_thinking_models_report_thoughts_and_repeated_long_prompts_report_implicit_cache(
    client: genai.Client, api_version: str
) -> None:
    thinking = client.models.generate_content(model="gemini-2.5-flash", contents="Plan a trip")
    usage = thinking.usage_metadata
    assert usage.thoughts_token_count and usage.thoughts_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count + (
        usage.thoughts_token_count
    )
    plain = client.models.generate_content(model="gemini-2.0-flash", contents="Plan a trip")
    assert not plain.usage_metadata.thoughts_token_count
    assert not plain.usage_metadata.cached_content_token_count

    # Implicit caching (Gemini 2.5+): nothing on a first request, the repeated prefix on the next one.
    long_prompt = f"[{api_version}] " + "The quick brown fox jumps over the lazy dog. " * 200
    first = client.models.generate_content(model="gemini-2.5-flash", contents=long_prompt).usage_metadata
    assert first.prompt_token_count > 1024 and not first.cached_content_token_count
    again = client.models.generate_content(model="gemini-2.5-flash", contents=long_prompt).usage_metadata
    assert again.cached_content_token_count is not None
    assert 1024 <= again.cached_content_token_count <= again.prompt_token_count
    for _ in range(2):  # older models have no implicit caching
        old = client.models.generate_content(model="gemini-2.0-flash", contents=long_prompt).usage_metadata
        assert not old.cached_content_token_count


def test_snake_case_request_keys_are_honoured(raw: httpx.Client) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "Describe the sea"}]}],
        "generation_config": {"max_output_tokens": 2},
        "system_instruction": {"parts": [{"text": "Be brief."}]},
    }
    wire = raw.post("/models/gemini-2.0-flash:generateContent", json=body).json()
    assert wire["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert wire["usageMetadata"]["candidatesTokenCount"] == 2


def test_invalid_requests_get_google_errors(raw: httpx.Client, client: genai.Client) -> None:
    empty = raw.post("/models/gemini-2.0-flash:generateContent", json={"contents": []})
    assert empty.status_code == 400
    assert empty.json()["error"]["status"] == "INVALID_ARGUMENT" and empty.json()["error"]["code"] == 400
    no_parts = raw.post("/models/gemini-2.0-flash:generateContent", json={"contents": [{"role": "user", "parts": []}]})
    assert no_parts.status_code == 400
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="not-a-model", contents="hi")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


def test_list_and_get_models(client: genai.Client, raw: httpx.Client) -> None:
    names = {m.name for m in client.models.list()}
    assert {
        "models/gemini-1.5-flash",
        "models/gemini-2.0-flash",
        "models/gemini-2.5-flash",
        "models/gemini-2.5-pro",
    } <= names
    model = client.models.get(model="gemini-2.5-pro")
    assert model.name == "models/gemini-2.5-pro" and model.output_token_limit
    assert_schema(raw.get("/models").json(), "ListModelsResponse")
    assert_schema(raw.get("/models/gemini-2.0-flash").json(), "Model")


# ---------------------------------------------------------------- function calling


def test_function_calling_any_returns_args_from_the_schema(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        tools=[WEATHER_TOOL],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
    )
    response = client.models.generate_content(model="gemini-2.0-flash", contents="Is it warm?", config=config)
    call = response.function_calls[0]
    assert call.name == "get_weather"
    assert isinstance(call.args["city"], str)
    assert call.args["unit"] in ("celsius", "fahrenheit")
    assert isinstance(call.args["days"], int)
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.candidates[0].content.parts[0].thought_signature is None


def test_function_calling_json_schema_and_allowed_names(client: genai.Client) -> None:
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(name="noop", description="Does nothing."),
            types.FunctionDeclaration(
                name="lookup",
                description="Looks up an order.",
                parameters_json_schema={
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}, "limit": {"type": ["integer", "null"]}},
                    "required": ["order_id", "limit"],
                },
            ),
        ]
    )
    config = types.GenerateContentConfig(
        tools=[tool],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode="ANY", allowed_function_names=["lookup"])
        ),
    )
    call = client.models.generate_content(model="gemini-2.0-flash", contents="Where is it?", config=config)
    assert call.function_calls[0].name == "lookup"
    assert isinstance(call.function_calls[0].args["order_id"], str)
    assert isinstance(call.function_calls[0].args["limit"], int)


def test_function_calling_auto_and_none(client: genai.Client) -> None:
    auto = client.models.generate_content(
        model="gemini-2.0-flash",
        contents="Please call get_weather for Paris",
        config=types.GenerateContentConfig(tools=[WEATHER_TOOL]),
    )
    assert auto.function_calls and auto.function_calls[0].name == "get_weather"
    chat = client.models.generate_content(
        model="gemini-2.0-flash", contents="Say hello", config=types.GenerateContentConfig(tools=[WEATHER_TOOL])
    )
    assert not chat.function_calls and chat.text
    none = client.models.generate_content(
        model="gemini-2.0-flash",
        contents="Please call get_weather for Paris",
        config=types.GenerateContentConfig(
            tools=[WEATHER_TOOL],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="NONE")),
        ),
    )
    assert not none.function_calls and none.text


def test_thinking_model_requires_thought_signature_replay(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        tools=[WEATHER_TOOL],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
    )
    question = types.Content(role="user", parts=[types.Part(text="Weather in Oslo?")])
    first = client.models.generate_content(model="gemini-2.5-flash", contents=[question], config=config)
    call_part = first.candidates[0].content.parts[0]
    assert call_part.function_call.name == "get_weather"
    assert call_part.thought_signature

    result = types.Part.from_function_response(name="get_weather", response={"temp_c": 4})
    auto = types.GenerateContentConfig(tools=[WEATHER_TOOL])
    replayed = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=[question, first.candidates[0].content, types.Content(role="user", parts=[result])],
        config=auto,
    )
    assert replayed.text and not replayed.function_calls

    stripped = types.Content(role="model", parts=[types.Part(function_call=call_part.function_call)])
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents=[question, stripped, types.Content(role="user", parts=[result])],
            config=auto,
        )
    assert caught.value.code == 400 and "thought_signature" in caught.value.message


# ---------------------------------------------------------------- auth and faults


def test_missing_and_bad_keys_are_refused(base_url: str, api_version: str) -> None:
    url = f"{base_url}/{api_version}/models"
    missing = httpx.get(url)
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    bad = httpx.get(url, headers={"x-goog-api-key": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"]["status"] == "UNAUTHENTICATED"
    assert httpx.get(url, params={"key": API_KEY}).status_code == 200

    client = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=base_url, api_version=api_version))
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.0-flash", contents="hi")
    assert caught.value.code == 401


def test_injected_fault_uses_google_envelope(client: genai.Client, base_url: str, api_version: str) -> None:
    httpx.post(
        f"{base_url}/_emulator/faults", json={"status": 429, "count": 1, "path_prefix": f"/{api_version}/models"}
    )
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.0-flash", contents="hi")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    assert client.models.generate_content(model="gemini-2.0-flash", contents="hi").text


# ---------------------------------------------------------------- files


def test_upload_get_list_delete(client: genai.Client, raw: httpx.Client, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"emulated file contents\n")
    from_path = client.files.upload(file=path, config={"display_name": "notes"})
    from_bytes = client.files.upload(file=io.BytesIO(b"\x00\x01binary"), config={"mime_type": "application/pdf"})

    assert from_path.display_name == "notes" and from_path.mime_type == "text/plain"
    assert from_path.size_bytes == path.stat().st_size
    assert from_path.sha256_hash == base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    assert from_path.state == types.FileState.ACTIVE and from_path.source == types.FileSource.UPLOADED
    assert from_path.download_uri is None
    assert from_path.expiration_time - from_path.create_time == timedelta(hours=48)
    assert from_bytes.mime_type == "application/pdf" and from_bytes.size_bytes == 8

    wire = raw.get(f"/{from_path.name}").json()
    assert_schema(wire, "File")
    assert wire["sizeBytes"] == str(path.stat().st_size)
    assert client.files.get(name=from_path.name).uri == from_path.uri

    first_page = raw.get("/files", params={"pageSize": 1}).json()
    assert_schema(first_page, "ListFilesResponse")
    assert len(first_page["files"]) == 1 and first_page["nextPageToken"]
    listed = {f.name for f in client.files.list(config={"page_size": 1})}
    assert {from_path.name, from_bytes.name} <= listed

    client.files.delete(name=from_bytes.name)
    with pytest.raises(errors.ClientError) as caught:
        client.files.get(name=from_bytes.name)
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert from_bytes.name not in {f.name for f in client.files.list()}


def test_uploaded_file_is_usable_in_a_prompt(client: genai.Client) -> None:
    uploaded = client.files.upload(file=io.BytesIO(b"%PDF-1.4 fake"), config={"mime_type": "application/pdf"})
    response = client.models.generate_content(
        model="gemini-2.0-flash",
        contents=[types.Part.from_uri(file_uri=uploaded.uri, mime_type="application/pdf"), "Summarise this"],
    )
    assert response.text
    client.files.delete(name=uploaded.name)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model="gemini-2.0-flash",
            contents=[types.Part.from_uri(file_uri=uploaded.uri, mime_type="application/pdf"), "Summarise this"],
        )
    assert caught.value.code == 403


def test_multi_chunk_upload(client: genai.Client, base_url: str, tmp_path: Path) -> None:
    payload = bytes(range(256)) * (9 * 4096 + 7)  # a little over 9 MiB: the SDK sends two 8 MiB-bounded chunks
    path = tmp_path / "big.bin"
    path.write_bytes(payload)
    httpx.post(f"{base_url}/_emulator/reset")
    uploaded = client.files.upload(file=path, config={"mime_type": "application/octet-stream"})
    assert uploaded.size_bytes == len(payload)
    assert uploaded.sha256_hash == base64.b64encode(hashlib.sha256(payload).digest()).decode()
    log = httpx.get(f"{base_url}/_emulator/requests").json()["requests"]
    chunk_posts = [r for r in log if r["path"].startswith("/upload/") and "upload_id=" in r["query"]]
    assert len(chunk_posts) == 2


def test_upload_offsets_are_checked(base_url: str, api_version: str) -> None:
    start = httpx.post(
        f"{base_url}/upload/{api_version}/files",
        headers={
            "x-goog-api-key": API_KEY,
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": "10",
            "X-Goog-Upload-Header-Content-Type": "text/plain",
        },
        json={"file": {"display_name": "ten"}},
    )
    assert start.headers["x-goog-upload-status"] == "active"
    upload_url = start.headers["x-goog-upload-url"]
    assert upload_url.startswith(base_url)
    first = httpx.post(
        upload_url, content=b"hello", headers={"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"}
    )
    assert first.headers["x-goog-upload-status"] == "active"
    wrong = httpx.post(
        upload_url, content=b"world", headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "3"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    final = httpx.post(
        upload_url, content=b"world", headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "5"}
    )
    assert final.headers["x-goog-upload-status"] == "final"
    created = final.json()["file"]
    assert_schema(final.json(), "CreateFileResponse")
    assert created["sizeBytes"] == "10" and created["displayName"] == "ten"
    unauthenticated_start = httpx.post(
        f"{base_url}/upload/{api_version}/files",
        headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"},
        json={"file": {}},
    )
    assert unauthenticated_start.status_code == 403


def test_uploaded_files_cannot_be_downloaded(client: genai.Client) -> None:
    uploaded = client.files.upload(file=io.BytesIO(b"private"), config={"mime_type": "text/plain"})
    with pytest.raises(ValueError):
        client.files.download(file=uploaded)  # the SDK refuses files without a downloadUri
    with pytest.raises(errors.ClientError) as caught:
        client.files.download(file=uploaded.name)  # by name it asks the server, which refuses too
    assert caught.value.code == 400


# ---------------------------------------------------------------- batches


def _inline(text: str, key: str) -> types.InlinedRequest:
    return types.InlinedRequest(
        contents=[types.Content(role="user", parts=[types.Part(text=text)])], metadata={"key": key}
    )


def test_inline_batch_lifecycle(client: genai.Client, raw: httpx.Client) -> None:
    requests = [
        _inline("What is 2 + 2?", "first"),
        types.InlinedRequest(contents=[types.Content(role="user", parts=[])], metadata={"key": "broken"}),
        types.InlinedRequest(
            contents=[types.Content(role="user", parts=[types.Part(text="Describe the sea")])],
            config=types.GenerateContentConfig(max_output_tokens=2, system_instruction="Be terse."),
            metadata={"key": "third"},
        ),
    ]
    job = client.batches.create(model="gemini-2.0-flash", src=requests, config={"display_name": "nightly"})
    assert job.name.startswith("batches/")
    assert job.state in (types.JobState.JOB_STATE_PENDING, types.JobState.JOB_STATE_RUNNING)
    assert job.display_name == "nightly" and job.model == "models/gemini-2.0-flash"
    assert_batch_operation(raw.get(f"/{job.name}").json())

    done = wait_done(client, job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.end_time
    responses = done.dest.inlined_responses
    assert [r.metadata for r in responses] == [{"key": "first"}, {"key": "broken"}, {"key": "third"}]
    assert "= 4" in responses[0].response.text
    assert responses[1].response is None and responses[1].error.code == 400
    assert responses[2].response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS

    wire = raw.get(f"/{job.name}").json()
    assert_batch_operation(wire)
    assert wire["done"] is True
    assert wire["metadata"]["batchStats"] == {
        "requestCount": "3",
        "successfulRequestCount": "2",
        "failedRequestCount": "1",
        "pendingRequestCount": "0",
    }


def test_batch_body_without_model_or_display_name(raw: httpx.Client) -> None:
    body = {
        "batch": {"inputConfig": {"requests": {"requests": [{"request": {"contents": [{"parts": [{"text": "hi"}]}]}}]}}}
    }
    created = raw.post("/models/gemini-2.0-flash:batchGenerateContent", json=body)
    assert created.status_code == 200
    assert_batch_operation(created.json())
    assert created.json()["metadata"]["model"] == "models/gemini-2.0-flash"
    empty = raw.post(
        "/models/gemini-2.0-flash:batchGenerateContent", json={"batch": {"inputConfig": {"requests": {"requests": []}}}}
    )
    assert empty.status_code == 400


def test_batch_list_pagination_and_delete(client: genai.Client, raw: httpx.Client) -> None:
    jobs = [client.batches.create(model="gemini-2.0-flash", src=[_inline(f"q{i}", f"k{i}")]) for i in range(2)]
    page = raw.get("/batches", params={"pageSize": 1}).json()
    assert_schema(page, "ListOperationsResponse")
    assert len(page["operations"]) == 1 and page["nextPageToken"]
    for operation in page["operations"]:
        assert_batch_operation(operation)
    listed = {j.name for j in client.batches.list(config={"page_size": 1})}
    assert {j.name for j in jobs} <= listed

    client.batches.delete(name=jobs[0].name)
    with pytest.raises(errors.ClientError) as caught:
        client.batches.get(name=jobs[0].name)
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert jobs[0].name not in {j.name for j in client.batches.list()}


def test_cancel_keeps_finished_responses_in_order(api_version: str) -> None:
    with serve_in_thread(create_app(batch_seconds=1.5)) as url:
        client = genai.Client(api_key="any", http_options=types.HttpOptions(base_url=url, api_version=api_version))
        job = client.batches.create(model="gemini-2.0-flash", src=[_inline(f"question {i}", str(i)) for i in range(10)])
        time.sleep(0.8)
        client.batches.cancel(name=job.name)
        cancelled = client.batches.get(name=job.name)
        assert cancelled.state == types.JobState.JOB_STATE_CANCELLED
        responses = cancelled.dest.inlined_responses
        assert [r.metadata["key"] for r in responses] == [str(i) for i in range(10)]
        finished = [r.response is not None for r in responses]
        assert 0 < sum(finished) < 10
        assert finished == sorted(finished, reverse=True)  # a prefix finished, the rest was cancelled
        assert all(r.error.code == 1 for r in responses if r.response is None)  # google.rpc.Code CANCELLED
        with pytest.raises(errors.ClientError) as caught:
            client.batches.cancel(name=job.name)
        assert caught.value.code == 400

        wire = httpx.get(f"{url}/{api_version}/{job.name}", headers={"x-goog-api-key": "any"}).json()
        assert_batch_operation(wire)
        assert wire["metadata"]["batchStats"]["pendingRequestCount"] == "0"
        with pytest.raises(errors.ClientError) as unknown:
            client.batches.cancel(name="batches/doesnotexist")
        assert unknown.value.code == 404


def test_file_input_batch_writes_a_downloadable_responses_file(client: genai.Client, raw: httpx.Client) -> None:
    lines = [
        {"key": "alpha", "request": {"contents": [{"role": "user", "parts": [{"text": "What is 6 * 7?"}]}]}},
        {"key": "beta", "request": {"contents": []}},
        {
            "key": "gamma",
            "request": {"contents": [{"parts": [{"text": "Hello"}]}], "generation_config": {"max_output_tokens": 1}},
        },
    ]
    jsonl = "".join(json.dumps(line) + "\n" for line in lines).encode()
    source = client.files.upload(file=io.BytesIO(jsonl), config={"mime_type": "application/jsonl"})
    job = client.batches.create(model="gemini-2.0-flash", src=source.name)
    done = wait_done(client, job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest.file_name and done.dest.file_name.startswith("files/")
    assert_batch_operation(raw.get(f"/{job.name}").json())

    output = client.files.get(name=done.dest.file_name)
    assert output.source == types.FileSource.GENERATED and output.download_uri
    assert_schema(raw.get(f"/{output.name}").json(), "File")
    results = [json.loads(line) for line in client.files.download(file=output).decode().splitlines()]
    assert [r["key"] for r in results] == ["alpha", "beta", "gamma"]
    assert "= 42" in results[0]["response"]["candidates"][0]["content"]["parts"][0]["text"]
    assert results[1]["error"]["code"] == 400 and "response" not in results[1]
    assert results[2]["response"]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    for result in results:
        if "response" in result:
            assert_schema(result["response"], "GenerateContentResponse")
    by_download_path = httpx.get(output.download_uri, headers={"x-goog-api-key": API_KEY})
    assert by_download_path.content == client.files.download(file=output.name)
