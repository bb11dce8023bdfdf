"""The gateway in front of the Bedrock emulator (which verifies SigV4 independently of botocore), driven by the
official Anthropic SDKs: the newest in-process and anthropic 0.60.0 (the seed's era) in a subprocess."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import orjson
import pytest

from finops.config import ProviderSettings
from finops.emulators.bedrock.app import create_app as bedrock_emulator_app
from finops.emulators.bedrock.eventstream import chunk_frame
from finops.providers.bedrock.adapter import BATCHES_REFUSAL, FILES_REFUSAL
from finops.providers.bedrock.auth import SigV4Signer, build_auth
from tests.support.anthropic_api import assert_envelope
from tests.support.demo import demo_gateway
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.sdk import SDK_VERSIONS, run_script
from tests.support.servers import serve_in_thread

KEY_ID = "AKIAFINOPSEMULATOR"
SECRET = "finops-emulator-secret"
BEARER = "ABSKZmlub3BzLWVtdWxhdG9yLWJlYXJlcg=="
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
CLAUDE_PROFILE = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
NOVA = "amazon.nova-lite-v1:0"
MODELS = [CLAUDE, CLAUDE_PROFILE, NOVA]
CALLER = "virtual-key-or-dummy-key"
BEDROCK = {"x-model-provider": "bedrock"}

# The seed's "Bedrock Provider" client setup, as written.
SEED_BEDROCK_CLIENT = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "bedrock"}
)
"""

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def bedrock_section(base_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "bedrock": {
            "region": "us-east-1",
            "base_url": base_url,
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
            **overrides,
        }
    }


def sdk_client(gateway: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway, api_key=CALLER, default_headers=BEDROCK, max_retries=0)


def ask(text: str = "What is 2+2?", **extra: Any) -> dict[str, Any]:
    return {"max_tokens": 200, "messages": [{"role": "user", "content": text}], **extra}


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, orjson.loads(line.removeprefix("data: "))))
    return events


@pytest.fixture(scope="module")
def bedrock_emulator() -> Iterator[EmulatorHandle]:
    with serve_in_thread(bedrock_emulator_app(access_key_id=KEY_ID, secret_access_key=SECRET)) as url:
        yield EmulatorHandle(url)


@pytest.fixture
def gateway(bedrock_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    """Gateway with static keys in front of the emulator; yields the client base URL (``.../anthropic``)."""
    with running_gateway(bedrock_section(bedrock_emulator.base_url), sqlite_url) as base:
        yield f"{base}/anthropic"


# -- messages through the newest SDK, in-process ----------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_chat_streaming_and_not(gateway: str, model: str) -> None:
    client = sdk_client(gateway)
    message = client.messages.create(model=model, **ask())
    assert message.model == model and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text.startswith("2 + 2 = 4")
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.id.startswith("msg_")

    with client.messages.stream(model=model, **ask()) as stream:
        streamed = stream.get_final_message()
    assert streamed.model == model
    assert streamed.content[0].text == message.content[0].text
    assert streamed.stop_reason == "end_turn"
    assert (streamed.usage.input_tokens, streamed.usage.output_tokens) == (
        message.usage.input_tokens,
        message.usage.output_tokens,
    )


@pytest.mark.parametrize("model", MODELS)
def test_exact_anthropic_event_sequence(gateway: str, model: str) -> None:
    with httpx.stream(
        "POST",
        f"{gateway}/v1/messages",
        headers={**BEDROCK, "x-api-key": CALLER},
        json={"model": model, **ask(stream=True)},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start" and names[1] == "content_block_start"
    assert set(names[2:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["model"] == model and start["id"].startswith("msg_")
    delta = next(data for name, data in events if name == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0
    # Bedrock's own accounting never leaks into Anthropic's dialect.
    assert all("amazon-bedrock-invocationMetrics" not in data for _, data in events)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_tool_use_round_trip(gateway: str, model: str, stream: bool) -> None:
    client = sdk_client(gateway)
    question = {"role": "user", "content": "What is the weather in Paris?"}

    def create(messages: list[dict[str, Any]]) -> Any:
        kwargs = {"model": model, "max_tokens": 200, "tools": [WEATHER_TOOL], "messages": messages}
        if not stream:
            return client.messages.create(**kwargs)
        with client.messages.stream(**kwargs) as events:
            return events.get_final_message()

    first = create([question])
    assert first.stop_reason == "tool_use"
    tool_use = next(block for block in first.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and isinstance(tool_use.input, dict) and "city" in tool_use.input

    answer = create(
        [
            question,
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "18C and sunny"}],
            },
        ]
    )
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text" and answer.content[0].text


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens_uses_bedrock_count_tokens(gateway: str, bedrock_emulator: EmulatorHandle, model: str) -> None:
    client = sdk_client(gateway)
    created = client.messages.create(model=model, **ask())
    counted = client.messages.count_tokens(model=model, messages=ask()["messages"])
    assert counted.input_tokens == created.usage.input_tokens
    assert bedrock_emulator.requests()[-1]["path"].endswith("/count-tokens")


def test_arn_model_ids_are_encoded_and_signed_as_sent(gateway: str, bedrock_emulator: EmulatorHandle) -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    message = sdk_client(gateway).messages.create(model=arn, **ask())
    assert message.model == arn and message.content[0].text.startswith("2 + 2 = 4")


def test_models_list_known_and_configured(gateway: str, bedrock_emulator: EmulatorHandle, sqlite_url: str) -> None:
    listed = [model.id for model in sdk_client(gateway).models.list()]
    assert CLAUDE in listed and NOVA in listed
    configured = bedrock_section(bedrock_emulator.base_url, models=[CLAUDE, "cohere.command-r-v1:0"])
    with running_gateway(configured, sqlite_url) as base:
        models = sdk_client(f"{base}/anthropic").models.list().data
    assert [model.id for model in models] == [CLAUDE, "cohere.command-r-v1:0"]
    assert models[0].display_name == "Claude Sonnet 3.5"


def test_provider_prefix_in_model_selects_bedrock(gateway: str) -> None:
    client = anthropic.Anthropic(base_url=gateway, api_key=CALLER, max_retries=0)  # no header
    message = client.messages.create(model=f"bedrock/{NOVA}", **ask())
    assert message.model == NOVA


# -- the seed's Bedrock client under both SDK versions ------------------------------------------------------

CHAT_SCRIPT = """
tool = {"name": "get_weather", "description": "Current weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
for model in MODELS:
    message = client.messages.create(model=model, max_tokens=100,
                                     messages=[{"role": "user", "content": "What is 2+2?"}])
    print(f"{model} plain: {message.content[0].text} ({message.stop_reason}, out={message.usage.output_tokens})")
    with client.messages.stream(model=model, max_tokens=100,
                                messages=[{"role": "user", "content": "What is 2+2?"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    print(f"{model} stream: {text} ({final.stop_reason}, out={final.usage.output_tokens})")
    question = {"role": "user", "content": "What is the weather in Paris?"}
    first = client.messages.create(model=model, max_tokens=100, tools=[tool], messages=[question])
    use = [b for b in first.content if b.type == "tool_use"][0]
    reply = client.messages.create(model=model, max_tokens=100, tools=[tool], messages=[
        question,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18C"}]},
    ])
    print(f"{model} tools: {first.stop_reason} {use.name} {sorted(use.input)} -> {reply.stop_reason}")
"""


def seed_script(gateway_root: str, body: str) -> str:
    return SEED_BEDROCK_CLIENT.replace("{AI_GATEWAY_URL}", gateway_root) + textwrap.dedent(body)


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_seed_bedrock_client_chats(gateway: str, sdk: str) -> None:
    code = seed_script(gateway.removesuffix("/anthropic"), f"MODELS = {MODELS!r}\n" + CHAT_SCRIPT)
    result = run_script(sdk, code)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    for model in MODELS:
        assert f"{model} plain: 2 + 2 = 4" in result.stdout
        assert f"{model} stream: 2 + 2 = 4" in result.stdout
        assert f"{model} tools: tool_use get_weather ['city'] -> end_turn" in result.stdout
    assert "(end_turn, out=" in result.stdout


REFUSED_SCRIPT = """
import anthropic as sdk
def refused(call):
    try:
        call()
    except sdk.BadRequestError as exc:
        print(f"400 {exc.body['error']['type']}: {exc.body['error']['message']}")
    else:
        print("NOT REFUSED")
refused(lambda: client.beta.messages.batches.create(requests=[
    {"custom_id": "request-1", "params": {"model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "max_tokens": 100,
                                          "messages": [{"role": "user", "content": "What is 2+2?"}]}}]))
refused(lambda: client.beta.messages.batches.list(limit=10))
refused(lambda: client.beta.files.upload(file=("test_upload.txt", b"This is a test file.", "text/plain")))
refused(lambda: client.beta.files.list())
refused(lambda: client.beta.files.retrieve_metadata("file_011CNha8iCJcU1wXNR6q4V8w"))
refused(lambda: client.beta.files.delete("file_011CNha8iCJcU1wXNR6q4V8w"))
refused(lambda: client.beta.files.download("file_011CNha8iCJcU1wXNR6q4V8w"))
"""


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_batches_and_files_are_refused_before_the_upstream(
    gateway: str, bedrock_emulator: EmulatorHandle, sdk: str
) -> None:
    before = bedrock_emulator.request_count()
    result = run_script(sdk, seed_script(gateway.removesuffix("/anthropic"), REFUSED_SCRIPT))
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stdout.splitlines()
    # Batches are refused in batch words, files in file words (the seed's promise for both).
    assert (
        lines
        == [f"400 invalid_request_error: {BATCHES_REFUSAL}"] * 2 + [f"400 invalid_request_error: {FILES_REFUSAL}"] * 5
    ), result.stdout
    assert "S3" in BATCHES_REFUSAL and "boto3" in BATCHES_REFUSAL and "batch" in BATCHES_REFUSAL
    assert "S3" in FILES_REFUSAL and "no Files API" in FILES_REFUSAL and "batch" not in FILES_REFUSAL.lower()
    assert bedrock_emulator.request_count() == before


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"requests": []}'], ids=["empty", "malformed", "no requests"])
def test_batch_refusal_comes_before_the_body_is_read(
    gateway: str, bedrock_emulator: EmulatorHandle, content: bytes
) -> None:
    before = bedrock_emulator.request_count()
    response = httpx.post(
        f"{gateway}/v1/messages/batches",
        headers={**BEDROCK, "x-api-key": CALLER, "content-type": "application/json"},
        content=content,
    )
    assert_envelope(response, 400, "invalid_request_error", "S3")
    assert bedrock_emulator.request_count() == before


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upstream_status", "status", "error_type", "message_part"),
    [
        (429, 429, "rate_limit_error", "Bedrock"),
        (400, 400, "invalid_request_error", "Bedrock"),
        (403, 500, "api_error", "the gateway's bedrock credentials were rejected"),  # AccessDeniedException
        (408, 504, "timeout_error", "Bedrock"),
        (503, 529, "overloaded_error", "Bedrock"),
        (500, 500, "api_error", "Bedrock"),
    ],
)
@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_upstream_failures_map_to_the_envelope(
    gateway: str,
    bedrock_emulator: EmulatorHandle,
    model: str,
    upstream_status: int,
    status: int,
    error_type: str,
    message_part: str,
) -> None:
    headers = {**BEDROCK, "x-api-key": CALLER}
    for stream in (False, True):
        bedrock_emulator.fail_next(upstream_status, path_prefix="/model/")
        response = httpx.post(f"{gateway}/v1/messages", headers=headers, json={"model": model, **ask(stream=stream)})
        assert_envelope(response, status, error_type, message_part)


def test_throttling_reaches_the_sdk_as_rate_limit_error(gateway: str, bedrock_emulator: EmulatorHandle) -> None:
    bedrock_emulator.fail_next(429, path_prefix="/model/")
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk_client(gateway).messages.create(model=CLAUDE, **ask())
    assert caught.value.status_code == 429 and caught.value.body["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize(
    ("marker", "error_type", "plain_error_type"),
    [
        # Mid-stream the status is gone: what is left to say is whether waiting helps.
        ("throttlingException", "overloaded_error", "rate_limit_error"),
        ("modelStreamErrorException", "api_error", "api_error"),
        ("serviceUnavailableException", "overloaded_error", "overloaded_error"),
    ],
)
@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_exception_frames_mid_stream_become_error_events(
    gateway: str, model: str, marker: str, error_type: str, plain_error_type: str
) -> None:
    body = {"model": model, **ask(f"Tell me a long story [emulate:{marker}]", stream=True)}
    with httpx.stream(
        "POST", f"{gateway}/v1/messages", headers={**BEDROCK, "x-api-key": CALLER}, json=body
    ) as response:
        assert response.status_code == 200
        events = sse_events(response)
    assert events[0][0] == "message_start" and "content_block_delta" in [name for name, _ in events]
    name, data = events[-1]
    assert name == "error" and data["error"]["type"] == error_type
    assert data["type"] == "error"

    # The SDK raises on the error event rather than returning a truncated answer.
    sdk_kwargs = {key: value for key, value in body.items() if key != "stream"}
    with pytest.raises(anthropic.APIStatusError), sdk_client(gateway).messages.stream(**sdk_kwargs) as stream:
        stream.get_final_message()

    # Without streaming the same failure is a plain HTTP error with its status.
    plain = httpx.post(
        f"{gateway}/v1/messages", headers={**BEDROCK, "x-api-key": CALLER}, json={**body, "stream": False}
    )
    assert plain.json()["error"]["type"] == plain_error_type


def test_wrong_secret_is_reported_without_leaking_credentials(
    bedrock_emulator: EmulatorHandle, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-value-that-must-not-leak"
    token = "session-token-that-must-not-leak"
    providers = bedrock_section(bedrock_emulator.base_url, secret_access_key=wrong, session_token=token)
    with running_gateway(providers, sqlite_url) as base:
        headers = {**BEDROCK, "x-api-key": CALLER}
        responses = [
            httpx.post(f"{base}/anthropic/v1/messages", headers=headers, json={"model": model, **ask(stream=stream)})
            for model in (CLAUDE, NOVA)
            for stream in (False, True)
        ]
    for response in responses:
        body = assert_envelope(response, 500, "api_error", "the gateway's bedrock credentials were rejected")
        assert "caller's API key is not at fault" in body["error"]["message"]
        for secret in (KEY_ID, wrong, token, CALLER, "Signature=", "Credential="):
            assert secret not in response.text
    assert "Signature:" not in caplog.text  # botocore's signing details are filtered out
    for secret in (KEY_ID, wrong, token):
        assert secret not in caplog.text


def test_session_token_is_signed_and_accepted(bedrock_emulator: EmulatorHandle, sqlite_url: str) -> None:
    providers = bedrock_section(bedrock_emulator.base_url, session_token="FwoGZXIvYXdzEXAMPLEsessiontoken")
    with running_gateway(providers, sqlite_url) as base:
        client = sdk_client(f"{base}/anthropic")
        assert client.messages.create(model=CLAUDE, **ask()).content[0].text.startswith("2 + 2 = 4")
        with client.messages.stream(model=NOVA, **ask()) as stream:
            assert stream.get_final_message().stop_reason == "end_turn"

    signer = build_auth(
        ProviderSettings(access_key_id=KEY_ID, secret_access_key=SECRET, session_token="FwoGZXIvYXdzEXAMPLE")
    )
    assert isinstance(signer, SigV4Signer)
    headers = asyncio.run(
        signer.sign("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke", b"{}", {})
    )
    assert headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLE"
    assert "x-amz-security-token" in headers["Authorization"].split("SignedHeaders=")[1]
    assert "/us-east-1/bedrock/aws4_request" in headers["Authorization"]


def test_bearer_token_mode(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = bedrock_emulator_app(access_key_id="AKIAOTHERKEYPAIR0000", secret_access_key="other", bearer_token=BEARER)
    with serve_in_thread(app) as emulator:
        section = {"bedrock": {"region": "us-east-1", "base_url": emulator, "bearer_token": BEARER}}
        with running_gateway(section, sqlite_url) as base:
            client = sdk_client(f"{base}/anthropic")
            for model in (CLAUDE, NOVA):
                assert client.messages.create(model=model, **ask()).content[0].text.startswith("2 + 2 = 4")
                with client.messages.stream(model=model, **ask()) as stream:
                    assert stream.get_final_message().stop_reason == "end_turn"

        # AWS_BEARER_TOKEN_BEDROCK, as botocore reads it, when the config names no credentials.
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        with running_gateway({"bedrock": {"base_url": emulator}}, sqlite_url) as base:
            assert sdk_client(f"{base}/anthropic").messages.create(model=NOVA, **ask()).stop_reason == "end_turn"

        # A wrong bearer key is the gateway's problem, and the key never comes back.
        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK")
        wrong = "ABSKd3Jvbmctd3Jvbmctd3Jvbmc="
        with running_gateway({"bedrock": {"base_url": emulator, "bearer_token": wrong}}, sqlite_url) as base:
            response = httpx.post(
                f"{base}/anthropic/v1/messages", headers={**BEDROCK, "x-api-key": CALLER}, json={"model": NOVA, **ask()}
            )
    assert_envelope(response, 500, "api_error", "the gateway's bedrock credentials were rejected")
    assert wrong not in response.text


# -- finops serve --demo ------------------------------------------------------------------------------------


def test_demo_mode_serves_bedrock(tmp_path: Path) -> None:
    with demo_gateway(tmp_path) as url:
        assert "bedrock" in httpx.get(f"{url}/health").json()["providers"]
        code = seed_script(url, f"MODELS = {[CLAUDE, NOVA]!r}\n" + CHAT_SCRIPT)
        for sdk in SDK_VERSIONS:
            result = run_script(sdk, code)
            assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            assert f"{CLAUDE} plain: 2 + 2 = 4" in result.stdout
            assert f"{NOVA} stream: 2 + 2 = 4" in result.stdout


# -- a broken upstream: CRC-checked framing, cut-off streams -----------------------------------------------


def broken_upstream(frames: list[bytes]) -> Any:
    """A stand-in Bedrock that answers every streaming call with ``frames`` (no signature check)."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def stream(_: Any) -> StreamingResponse:
        async def body() -> Any:
            for frame in frames:
                yield frame

        return StreamingResponse(body(), media_type="application/vnd.amazon.eventstream")

    return Starlette(routes=[Route("/model/{model_id:path}/invoke-with-response-stream", stream, methods=["POST"])])


def start_frames() -> list[bytes]:
    message = {
        "id": "msg_bdrk_01",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    return [
        chunk_frame({"type": "message_start", "message": message}),
        chunk_frame({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        chunk_frame({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
    ]


def corrupt(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])  # flip the message CRC


@pytest.mark.parametrize(
    ("tail", "message_part"),
    [
        ([corrupt(chunk_frame({"type": "content_block_stop", "index": 0}))], "corrupt event-stream frame"),
        ([chunk_frame({"type": "content_block_stop", "index": 0})[:20]], "ended inside a frame"),
        ([], "ended its stream before message_stop"),
    ],
    ids=["bad-crc", "truncated-frame", "cut-off"],
)
def test_broken_streams_end_with_an_error_event(sqlite_url: str, tail: list[bytes], message_part: str) -> None:
    body = {"model": CLAUDE, **ask(stream=True)}
    with (
        serve_in_thread(broken_upstream(start_frames() + tail)) as upstream,
        running_gateway(bedrock_section(upstream), sqlite_url) as base,
        httpx.stream(
            "POST", f"{base}/anthropic/v1/messages", headers={**BEDROCK, "x-api-key": CALLER}, json=body
        ) as response,
    ):
        assert response.status_code == 200
        events = [(name, data) for name, data in sse_events(response) if name != "ping"]
    assert [name for name, _ in events[:3]] == ["message_start", "content_block_start", "content_block_delta"]
    name, data = events[-1]
    assert name == "error" and data["error"]["type"] == "api_error"
    assert message_part in data["error"]["message"]


def test_corrupt_first_frame_is_a_plain_http_error(sqlite_url: str) -> None:
    with (
        serve_in_thread(broken_upstream([corrupt(start_frames()[0])])) as upstream,
        running_gateway(bedrock_section(upstream), sqlite_url) as base,
    ):
        response = httpx.post(
            f"{base}/anthropic/v1/messages",
            headers={**BEDROCK, "x-api-key": CALLER},
            json={"model": CLAUDE, **ask(stream=True)},
        )
    assert_envelope(response, 500, "api_error", "corrupt event-stream frame")
