"""The Bedrock Runtime emulator, driven by the official boto3 ``bedrock-runtime`` client.

boto3 validates every request against its service model before sending it and parses every response with
the same model, so a call that succeeds here is one the real SDK accepts. Response JSON is additionally
checked member by member against botocore's ``service-2.json`` shapes (``_assert_shape``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import httpx
import jsonschema
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from finops.emulators._common.tokens import count_tokens
from finops.emulators.bedrock.app import create_app
from finops.emulators.bedrock.generate import ANSWER_PRIMING_TOKENS
from tests.support.servers import serve_in_thread

ACCESS_KEY = "AKIATESTBEDROCK"
SECRET_KEY = "test-bedrock-secret"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
CLAUDE_PROFILE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-lite-v1:0"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
}
SERVICE_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)) as url:
        yield url


@pytest.fixture(autouse=True)
def _reset(base_url: str) -> None:
    httpx.post(f"{base_url}/_emulator/reset")


def _client(base_url: str, *, secret: str = SECRET_KEY, session_token: str | None = None) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=base_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        aws_session_token=session_token,
        # One attempt: the tests assert what a single call answers, not botocore's retry policy.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def bedrock(base_url: str) -> Any:
    return _client(base_url, session_token="FwoGZXIvYXdzEXAMPLESESSIONTOKEN")


def _claude_body(prompt: str, **extra: Any) -> bytes:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }
    return json.dumps(body).encode()


def _invoke(bedrock: Any, model_id: str, body: bytes) -> dict[str, Any]:
    response = bedrock.invoke_model(modelId=model_id, body=body)
    assert response["contentType"] == "application/json"
    return json.loads(response["body"].read())


def _assert_shape(value: Any, shape: Any, where: str = "$") -> None:
    """Check ``value`` (parsed wire JSON) against a botocore shape: members, required keys, types, enums."""
    if shape.type_name == "structure" and shape.is_document_type:
        return  # free-form JSON (tool input, additionalModelResponseFields)
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{where}: members not in {shape.name}: {unknown}"
        for name in shape.required_members:
            assert name in value, f"{where}: {shape.name} requires {name}"
        if shape.is_tagged_union:
            assert len(value) == 1, f"{where}: union {shape.name} must set exactly one member"
        for name, item in value.items():
            _assert_shape(item, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list":
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _assert_shape(item, shape.member, f"{where}[{index}]")
    elif shape.type_name in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif shape.type_name == "string":
        assert isinstance(value, str), where
        if shape.enum:
            assert value in shape.enum, f"{where}: {value!r} not in {shape.enum}"


# --- InvokeModel (Anthropic on Bedrock) ---------------------------------------------------------------


def test_invoke_model_claude_id_with_colon(bedrock: Any, base_url: str) -> None:
    message = _invoke(bedrock, CLAUDE, _claude_body("What is 12 * 7?"))

    assert message["id"].startswith("msg_bdrk_")
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "claude-3-5-sonnet-20240620"
    assert message["content"][0]["type"] == "text"
    assert "12 * 7 = 84" in message["content"][0]["text"]
    assert message["stop_reason"] == "end_turn"
    assert message["stop_sequence"] is None
    assert message["usage"]["input_tokens"] == count_tokens("What is 12 * 7?") + ANSWER_PRIMING_TOKENS
    assert message["usage"]["output_tokens"] == count_tokens(message["content"][0]["text"])
    logged = httpx.get(f"{base_url}/_emulator/requests").json()["requests"]
    assert logged[-1]["path"] == f"/model/{CLAUDE}/invoke"


def test_invoke_model_is_deterministic_per_prompt(bedrock: Any) -> None:
    first = _invoke(bedrock, CLAUDE, _claude_body("Tell me about otters"))
    again = _invoke(bedrock, CLAUDE, _claude_body("Tell me about otters"))
    other = _invoke(bedrock, CLAUDE, _claude_body("Tell me about beavers"))

    assert first["content"] == again["content"]
    assert first["content"] != other["content"]
    assert first["id"] != again["id"]


def test_invoke_model_inference_profile_reports_the_claude_name(bedrock: Any) -> None:
    message = _invoke(
        bedrock, CLAUDE_PROFILE, _claude_body("Hello", anthropic_beta=["token-efficient-tools-2025-02-19"])
    )

    assert message["model"] == "claude-sonnet-4-20250514"
    assert message["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    "beta", ["advanced-tool-use-2025-11-20", "thinking-token-count-2026-05-13", "oauth-2025-04-20", "token-efficient"]
)
def test_invoke_model_refuses_a_beta_bedrock_does_not_offer(bedrock: Any, beta: str) -> None:
    # What Bedrock answers Claude Code's Anthropic-only betas (anthropics/claude-code#56595).
    body = _claude_body("Hello", anthropic_beta=["interleaved-thinking-2025-05-14", beta])
    with pytest.raises(bedrock.exceptions.ValidationException, match="invalid beta flag"):
        _invoke(bedrock, CLAUDE, body)


def test_invoke_model_takes_system_messages_inside_the_conversation(bedrock: Any) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "system", "content": [{"type": "text", "text": "Answer with numbers only."}]},
            {"role": "user", "content": "What is 5 + 6?"},
        ],
    }
    message = _invoke(bedrock, CLAUDE, json.dumps(body).encode())
    assert "5 + 6 = 11" in message["content"][0]["text"]
    images = {"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "https://x"}}]}
    with_image = {**body, "messages": [*body["messages"][:2], images, body["messages"][3]]}
    with pytest.raises(bedrock.exceptions.ValidationException, match="system message holds text blocks only"):
        _invoke(bedrock, CLAUDE, json.dumps(with_image).encode())


@pytest.mark.parametrize(
    "model_id",
    [
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "apac.anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    ],
)
def test_invoke_model_accepts_profiles_and_arns(bedrock: Any, model_id: str) -> None:
    assert _invoke(bedrock, model_id, _claude_body("Hi"))["type"] == "message"


def test_invoke_model_max_tokens_cut_off(bedrock: Any) -> None:
    message = _invoke(bedrock, CLAUDE, _claude_body("Describe the sea in detail", max_tokens=3))

    assert message["stop_reason"] == "max_tokens"
    assert message["usage"]["output_tokens"] == 3
    assert count_tokens(message["content"][0]["text"]) == 3


def test_invoke_model_stop_sequence(bedrock: Any) -> None:
    message = _invoke(bedrock, CLAUDE, _claude_body("Describe the sea", stop_sequences=["deterministic"]))

    assert message["stop_reason"] == "stop_sequence"
    assert message["stop_sequence"] == "deterministic"
    assert "deterministic" not in message["content"][0]["text"]
    assert message["content"][0]["text"].startswith("You asked: Describe the sea")


def test_invoke_model_forced_tool_use_matches_the_schema(bedrock: Any) -> None:
    tools = [{"name": "get_weather", "description": "Weather by city", "input_schema": WEATHER_SCHEMA}]
    body = _claude_body("Weather in Paris?", tools=tools, tool_choice={"type": "any"})
    message = _invoke(bedrock, CLAUDE, body)

    assert message["stop_reason"] == "tool_use"
    (block,) = message["content"]
    assert block["type"] == "tool_use"
    assert block["id"].startswith("toolu_bdrk_")
    assert block["name"] == "get_weather"
    jsonschema.validate(block["input"], WEATHER_SCHEMA)


def test_invoke_model_answers_a_tool_result_with_text(bedrock: Any) -> None:
    tools = [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, sunny"}]},
    ]
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": messages, "tools": tools}
    message = _invoke(bedrock, CLAUDE, json.dumps(body).encode())

    assert message["stop_reason"] == "end_turn"
    assert "18C, sunny" in message["content"][0]["text"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"anthropic_version": None}, "anthropic_version"),
        ({"anthropic_version": "2023-06-01"}, "anthropic_version"),
        ({"model": CLAUDE}, "extraneous key [model]"),
        ({"stream": True}, "extraneous key [stream]"),
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": []}, "messages"),
    ],
)
def test_invoke_model_rejects_bodies_bedrock_refuses(bedrock: Any, change: dict[str, Any], fragment: str) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}

    with pytest.raises(ClientError) as caught:
        bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(body).encode())

    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in error["Error"]["Message"]


def test_unknown_model_is_a_validation_error(bedrock: Any) -> None:
    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        bedrock.invoke_model(modelId="acme.unknown-model-v1:0", body=_claude_body("hi"))
    assert "model identifier is invalid" in caught.value.response["Error"]["Message"]


def test_invoke_model_for_a_non_anthropic_model_points_to_converse(bedrock: Any) -> None:
    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        bedrock.invoke_model(modelId=NOVA, body=_claude_body("hi"))
    assert "Converse" in caught.value.response["Error"]["Message"]


# --- InvokeModelWithResponseStream --------------------------------------------------------------------


def _stream_events(bedrock: Any, model_id: str, body: bytes) -> list[dict[str, Any]]:
    response = bedrock.invoke_model_with_response_stream(modelId=model_id, body=body)
    assert response["contentType"] == "application/json"
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def test_invoke_stream_exact_anthropic_event_sequence(bedrock: Any) -> None:
    body = _claude_body("Summarise the plot of Hamlet")
    events = _stream_events(bedrock, CLAUDE, body)
    plain = _invoke(bedrock, CLAUDE, body)

    types = [event["type"] for event in events]
    deltas = types.count("content_block_delta")
    assert deltas >= 2
    assert types == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]["message"]
    assert start["id"].startswith("msg_bdrk_")
    assert start["content"] == []
    assert start["stop_reason"] is None
    assert events[1]["content_block"] == {"type": "text", "text": ""}
    text = "".join(event["delta"]["text"] for event in events if event["type"] == "content_block_delta")
    assert text == plain["content"][0]["text"]
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2]["usage"]["output_tokens"] == plain["usage"]["output_tokens"]
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == start["usage"]["input_tokens"] == plain["usage"]["input_tokens"]
    assert metrics["outputTokenCount"] == plain["usage"]["output_tokens"]
    assert metrics["invocationLatency"] >= metrics["firstByteLatency"] >= 1


def test_invoke_stream_tool_use_streams_input_json(bedrock: Any) -> None:
    tools = [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]
    body = _claude_body("Weather in Oslo?", tools=tools, tool_choice={"type": "tool", "name": "get_weather"})
    events = _stream_events(bedrock, CLAUDE_PROFILE, body)

    assert events[1]["content_block"]["type"] == "tool_use"
    assert events[1]["content_block"]["name"] == "get_weather"
    assert events[1]["content_block"]["input"] == {}
    partial = "".join(event["delta"]["partial_json"] for event in events if event["type"] == "content_block_delta")
    jsonschema.validate(json.loads(partial), WEATHER_SCHEMA)
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_invoke_stream_max_tokens_reports_usage(bedrock: Any) -> None:
    events = _stream_events(bedrock, CLAUDE, _claude_body("Write a long essay about rivers", max_tokens=5))

    assert events[-2]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2]["usage"]["output_tokens"] == 5
    assert events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 5


def test_invoke_stream_error_after_start_is_an_exception_frame(bedrock: Any) -> None:
    response = bedrock.invoke_model_with_response_stream(
        modelId=CLAUDE, body=_claude_body("fail please [emulate:modelStreamErrorException]")
    )
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in response["body"]:
            received.append(json.loads(event["chunk"]["bytes"])["type"])

    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert received == ["message_start", "content_block_start", "content_block_delta"]


# --- Converse -----------------------------------------------------------------------------------------


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def _weather_tools(choice: dict[str, Any]) -> dict[str, Any]:
    spec = {"name": "get_weather", "description": "Weather by city", "inputSchema": {"json": WEATHER_SCHEMA}}
    return {"tools": [{"toolSpec": spec}], "toolChoice": choice}


def test_converse_text_reply_and_usage(bedrock: Any) -> None:
    response = bedrock.converse(
        modelId=NOVA,
        system=[{"text": "You are terse."}],
        messages=[_user("What is 9 + 10?")],
        inferenceConfig={"maxTokens": 300, "temperature": 0.2, "topP": 0.9},
    )

    assert response["output"]["message"]["role"] == "assistant"
    text = response["output"]["message"]["content"][0]["text"]
    assert "9 + 10 = 19" in text
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert (
        usage["inputTokens"] == count_tokens("You are terse.") + count_tokens("What is 9 + 10?") + ANSWER_PRIMING_TOKENS
    )
    assert usage["outputTokens"] == count_tokens(text)
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert "cacheReadInputTokens" not in usage
    assert response["metrics"]["latencyMs"] >= 1


@pytest.mark.parametrize(
    "model_id", [NOVA, "meta.llama3-1-70b-instruct-v1:0", "mistral.mistral-large-2407-v1:0", CLAUDE]
)
def test_converse_serves_several_families(bedrock: Any, model_id: str) -> None:
    assert bedrock.converse(modelId=model_id, messages=[_user("Hi")])["stopReason"] == "end_turn"


def test_converse_max_tokens_and_stop_sequences(bedrock: Any) -> None:
    cut = bedrock.converse(modelId=NOVA, messages=[_user("Tell me a story")], inferenceConfig={"maxTokens": 4})
    stopped = bedrock.converse(
        modelId=NOVA, messages=[_user("Tell me a story")], inferenceConfig={"stopSequences": ["story"]}
    )

    assert cut["stopReason"] == "max_tokens"
    assert cut["usage"]["outputTokens"] == 4
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == "You asked: Tell me a "


def test_converse_tool_use_round_trip(bedrock: Any) -> None:
    first = bedrock.converse(modelId=NOVA, messages=[_user("Weather in Rome?")], toolConfig=_weather_tools({"any": {}}))

    assert first["stopReason"] == "tool_use"
    tool_use = first["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == "get_weather"
    jsonschema.validate(tool_use["input"], WEATHER_SCHEMA)

    result = {"toolResult": {"toolUseId": tool_use["toolUseId"], "content": [{"json": {"temp": 21}}]}}
    second = bedrock.converse(
        modelId=NOVA,
        messages=[_user("Weather in Rome?"), first["output"]["message"], {"role": "user", "content": [result]}],
        toolConfig=_weather_tools({"auto": {}}),
    )
    assert second["stopReason"] == "end_turn"
    assert '{"temp":21}' in second["output"]["message"]["content"][0]["text"]


def test_converse_auto_tool_choice_calls_a_tool_the_prompt_mentions(bedrock: Any) -> None:
    mentioned = bedrock.converse(
        modelId=NOVA, messages=[_user("What's the weather like?")], toolConfig=_weather_tools({"auto": {}})
    )
    unrelated = bedrock.converse(
        modelId=NOVA, messages=[_user("Tell me a joke")], toolConfig=_weather_tools({"auto": {}})
    )

    assert mentioned["stopReason"] == "tool_use"
    assert unrelated["stopReason"] == "end_turn"


def test_converse_images_and_documents_count_as_input(bedrock: Any) -> None:
    image = {"image": {"format": "png", "source": {"bytes": b"\x89PNG" + b"\0" * 3000}}}
    document = {"document": {"format": "txt", "name": "notes", "source": {"bytes": b"x" * 1500}}}
    with_media = bedrock.converse(
        modelId=NOVA, messages=[{"role": "user", "content": [image, document, {"text": "Describe"}]}]
    )
    text_only = bedrock.converse(modelId=NOVA, messages=[_user("Describe")])

    assert with_media["usage"]["inputTokens"] == text_only["usage"]["inputTokens"] + 4 + 2


def test_converse_prompt_cache_writes_then_reads(bedrock: Any) -> None:
    system = [{"text": "You are a meticulous assistant. " * 20}, {"cachePoint": {"type": "default"}}]
    first = bedrock.converse(modelId=NOVA, system=system, messages=[_user("First question")])
    second = bedrock.converse(modelId=NOVA, system=system, messages=[_user("Second question")])

    prefix = count_tokens("You are a meticulous assistant. " * 20)
    assert first["usage"]["cacheWriteInputTokens"] == prefix
    assert first["usage"]["cacheReadInputTokens"] == 0
    assert second["usage"]["cacheReadInputTokens"] == prefix
    assert second["usage"]["cacheWriteInputTokens"] == 0
    uncached = count_tokens("Second question") + ANSWER_PRIMING_TOKENS
    assert second["usage"]["inputTokens"] == uncached
    assert second["usage"]["totalTokens"] == prefix + uncached + second["usage"]["outputTokens"]


def test_invoke_model_prompt_cache_counts(bedrock: Any) -> None:
    system = [{"type": "text", "text": "Long shared context. " * 30, "cache_control": {"type": "ephemeral"}}]
    first = _invoke(bedrock, CLAUDE, _claude_body("Question one", system=system))
    second = _invoke(bedrock, CLAUDE, _claude_body("Question two", system=system))

    prefix = count_tokens("Long shared context. " * 30)
    assert first["usage"]["cache_creation_input_tokens"] == prefix
    assert second["usage"]["cache_read_input_tokens"] == prefix
    assert second["usage"]["input_tokens"] == count_tokens("Question two") + ANSWER_PRIMING_TOKENS


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}, "start with a user message"),
        ({"messages": [_user("a"), _user("b")]}, "alternate"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}}]}
                ]
            },
            "toolConfig field must be defined",
        ),
        (
            {"messages": [_user("hi")], "toolConfig": _weather_tools({"tool": {"name": "get_time"}})},
            "get_time",
        ),
    ],
)
def test_converse_rejects_what_bedrock_rejects(bedrock: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        bedrock.converse(modelId=NOVA, **kwargs)
    assert fragment in caught.value.response["Error"]["Message"]


# --- ConverseStream -----------------------------------------------------------------------------------


def _converse_stream(bedrock: Any, **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
    response = bedrock.converse_stream(**kwargs)
    return [next(iter(event.items())) for event in response["stream"]]


def test_converse_stream_text_matches_converse(bedrock: Any) -> None:
    request = {"modelId": NOVA, "messages": [_user("Explain tides briefly")]}
    events = _converse_stream(bedrock, **request)
    plain = bedrock.converse(**request)

    names = [name for name, _ in events]
    deltas = names.count("contentBlockDelta")
    assert deltas >= 2
    assert names == ["messageStart", *["contentBlockDelta"] * deltas, "contentBlockStop", "messageStop", "metadata"]
    assert events[0][1] == {"role": "assistant"}
    text = "".join(payload["delta"]["text"] for name, payload in events if name == "contentBlockDelta")
    assert text == plain["output"]["message"]["content"][0]["text"]
    assert all(payload["contentBlockIndex"] == 0 for name, payload in events if name.startswith("contentBlock"))
    assert events[-2][1] == {"stopReason": "end_turn"}
    assert events[-1][1]["usage"] == plain["usage"]
    assert events[-1][1]["metrics"]["latencyMs"] >= 1


def test_converse_stream_tool_use(bedrock: Any) -> None:
    events = _converse_stream(
        bedrock,
        modelId=NOVA,
        messages=[_user("Weather in Lima?")],
        toolConfig=_weather_tools({"tool": {"name": "get_weather"}}),
    )

    names = [name for name, _ in events]
    assert names[:2] == ["messageStart", "contentBlockStart"]
    start = events[1][1]["start"]["toolUse"]
    assert start["name"] == "get_weather"
    assert start["toolUseId"].startswith("tooluse_")
    fragments = [payload["delta"]["toolUse"]["input"] for name, payload in events if name == "contentBlockDelta"]
    assert len(fragments) >= 2
    jsonschema.validate(json.loads("".join(fragments)), WEATHER_SCHEMA)
    assert events[-2][1] == {"stopReason": "tool_use"}
    assert names[-1] == "metadata"


def test_converse_stream_error_after_start_is_an_exception_frame(bedrock: Any) -> None:
    response = bedrock.converse_stream(modelId=NOVA, messages=[_user("Go [emulate:throttlingException]")])
    names = []
    with pytest.raises(EventStreamError) as caught:
        for event in response["stream"]:
            names.append(next(iter(event)))

    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert names == ["messageStart", "contentBlockDelta"]


# --- CountTokens ------------------------------------------------------------------------------------------


def test_count_tokens_agrees_with_invocation_usage(bedrock: Any) -> None:
    messages = [_user("How many tokens is this sentence?")]
    counted = bedrock.count_tokens(modelId=NOVA, input={"converse": {"messages": messages}})
    used = bedrock.converse(modelId=NOVA, messages=messages)["usage"]["inputTokens"]
    body = _claude_body("How many tokens is this sentence?")
    invoke_counted = bedrock.count_tokens(modelId=CLAUDE, input={"invokeModel": {"body": body}})

    assert counted["inputTokens"] == used
    assert invoke_counted["inputTokens"] == _invoke(bedrock, CLAUDE, body)["usage"]["input_tokens"]


# --- Faults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "ThrottlingException"),
        (503, "ServiceUnavailableException"),
        (500, "InternalServerException"),
        (408, "ModelTimeoutException"),
    ],
)
def test_injected_faults_surface_as_bedrock_exceptions(bedrock: Any, base_url: str, status: int, code: str) -> None:
    httpx.post(f"{base_url}/_emulator/faults", json={"status": status, "count": 1, "path_prefix": "/model/"})

    with pytest.raises(ClientError) as caught:
        bedrock.converse(modelId=NOVA, messages=[_user("hi")])

    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert isinstance(caught.value, getattr(bedrock.exceptions, code))
    assert bedrock.converse(modelId=NOVA, messages=[_user("hi")])["stopReason"] == "end_turn"


def test_throttled_stream_fails_before_streaming(bedrock: Any, base_url: str) -> None:
    httpx.post(f"{base_url}/_emulator/faults", json={"status": 429, "count": 1})

    with pytest.raises(bedrock.exceptions.ThrottlingException):
        bedrock.invoke_model_with_response_stream(modelId=CLAUDE, body=_claude_body("hi"))


def test_prompt_requested_failure_on_plain_invoke(bedrock: Any) -> None:
    with pytest.raises(bedrock.exceptions.ThrottlingException):
        bedrock.invoke_model(modelId=CLAUDE, body=_claude_body("x [emulate:throttlingException]"))


# --- Wire shapes against botocore's service model ------------------------------------------------------


def _raw(bedrock: Any, operation: str, model_id: str, body: dict[str, Any]) -> httpx.Response:
    """POST a body through botocore's own signer but read the raw wire bytes (what boto3 parses)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = f"{bedrock.meta.endpoint_url}/model/{model_id.replace(':', '%3A')}/{operation}"
    request = AWSRequest(method="POST", url=url, data=json.dumps(body), headers={"content-type": "application/json"})
    SigV4Auth(bedrock._request_signer._credentials, "bedrock", "us-east-1").add_auth(request)
    return httpx.post(url, content=request.body, headers=dict(request.headers))


def test_converse_response_matches_the_service_model(bedrock: Any) -> None:
    body = {"messages": [_user("Weather in Rome?")], "toolConfig": _weather_tools({"any": {}})}
    for payload in (body, {"messages": [_user("Hello")], "inferenceConfig": {"stopSequences": ["deterministic"]}}):
        response = _raw(bedrock, "converse", NOVA, payload)
        assert response.status_code == 200
        _assert_shape(response.json(), SERVICE_MODEL.operation_model("Converse").output_shape)


def test_converse_stream_events_match_the_service_model(bedrock: Any) -> None:
    from botocore.eventstream import EventStreamBuffer

    stream_shape = SERVICE_MODEL.shape_for("ConverseStreamOutput")
    body = {"messages": [_user("Weather?")], "toolConfig": _weather_tools({"any": {}})}
    for payload in (body, {"messages": [_user("Hello")]}):
        response = _raw(bedrock, "converse-stream", NOVA, payload)
        assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
        buffer = EventStreamBuffer()
        buffer.add_data(response.content)
        for message in buffer:
            headers = message.headers
            assert headers[":message-type"] == "event"
            assert headers[":content-type"] == "application/json"
            event_type = headers[":event-type"]
            _assert_shape(json.loads(message.payload), stream_shape.members[event_type], event_type)


def test_error_body_is_the_rest_json_shape(bedrock: Any, base_url: str) -> None:
    response = _raw(bedrock, "converse", "acme.nothing-v1:0", {"messages": [_user("hi")]})

    assert response.status_code == 400
    assert response.json() == {"message": "The provided model identifier is invalid."}
    assert response.headers["x-amzn-errortype"].split(":")[0] == "ValidationException"
    assert response.headers["x-amzn-requestid"]


def test_count_tokens_blob_is_base64_on_the_wire(bedrock: Any) -> None:
    inner = base64.b64encode(_claude_body("hello there")).decode()
    response = _raw(bedrock, "count-tokens", CLAUDE, {"input": {"invokeModel": {"body": inner}}})

    assert response.json() == {"inputTokens": count_tokens("hello there") + ANSWER_PRIMING_TOKENS}
