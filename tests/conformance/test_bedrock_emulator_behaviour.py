"""The Bedrock emulator behaves like a model an agent can finish with, proven through boto3 ``bedrock-runtime``.

Tool calls only when asked, answers from tool results, Converse ``outputConfig.textFormat`` and Claude's
``output_config`` structured output, reasoning per family (Claude signed, Nova 2 redacted, gpt-oss plain),
``cachePoint``/``cache_control`` writes then reads with TTL details, ``role: "system"`` messages (in botocore
1.44.8's ``ConversationRole``) and Bedrock's refusals. Wire JSON is checked against botocore's service model
(``_assert_shape``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import httpx
import jsonschema
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError

from finops.emulators._common.tokens import count_tokens
from finops.emulators.bedrock.app import create_app
from finops.emulators.bedrock.generate import ANSWER_PRIMING_TOKENS
from tests.conformance.test_bedrock_emulator import _assert_shape
from tests.support.emulator import EmulatorHandle
from tests.support.servers import serve_in_thread

ACCESS_KEY = "AKIATESTBEDROCK"
SECRET_KEY = "test-bedrock-secret"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-lite-v1:0"
NOVA_2 = "us.amazon.nova-2-lite-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
SERVICE_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")
READ_FILE = {
    "toolSpec": {
        "name": "read_file",
        "description": "Read a text file from disk.",
        "inputSchema": {"json": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
    }
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)) as url:
        yield url


@pytest.fixture
def bedrock(base_url: str) -> Any:
    EmulatorHandle(base_url).reset()  # empties the prompt cache too
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=base_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def _user(*texts: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text} for text in texts]}


def _raw(base_url: str, operation: str, model_id: str, body: dict[str, Any]) -> httpx.Response:
    """POST ``body`` signed by botocore's SigV4 signer, returning the wire response boto3 would parse."""
    url = f"{base_url}/model/{model_id.replace(':', '%3A')}/{operation}"
    request = AWSRequest(method="POST", url=url, data=json.dumps(body), headers={"content-type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", "us-east-1").add_auth(request)
    return httpx.post(url, content=request.body, headers=dict(request.headers))


def _stream_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(response.content)
    return [(m.headers[":event-type"], json.loads(m.payload)) for m in buffer]


# --- tools ----------------------------------------------------------------------------------------------------


def test_an_agent_reads_a_file_then_gets_an_answer_from_it(bedrock: Any) -> None:
    tools = {"tools": [READ_FILE]}
    question = _user("<system-reminder>Be careful.</system-reminder>", "Please read_file ./todo.md")
    system = [{"text": "You are an agent. Working directory: /home/dev"}]
    first = bedrock.converse(modelId=NOVA, system=system, messages=[question], toolConfig=tools)
    assert first["stopReason"] == "tool_use"
    use = first["output"]["message"]["content"][0]["toolUse"]
    assert use["name"] == "read_file" and use["input"] == {"path": "/home/dev/todo.md"}

    result = {"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "1. Ship it."}]}}
    second = bedrock.converse(
        modelId=NOVA,
        system=system,
        messages=[question, first["output"]["message"], {"role": "user", "content": [result]}],
        toolConfig=tools,
    )
    assert second["stopReason"] == "end_turn"
    assert "1. Ship it." in second["output"]["message"]["content"][0]["text"]


def test_auto_tool_choice_is_conservative(bedrock: Any) -> None:
    tools = {"tools": [READ_FILE], "toolChoice": {"auto": {}}}
    chat = bedrock.converse(modelId=NOVA, messages=[_user("Say something nice")], toolConfig=tools)
    assert chat["stopReason"] == "end_turn"
    no_path = bedrock.converse(modelId=NOVA, messages=[_user("read_file please")], toolConfig=tools)
    assert no_path["stopReason"] == "end_turn", "read_file needs a path the user did not give"
    forced = bedrock.converse(
        modelId=NOVA, messages=[_user("Say something nice")], toolConfig={**tools, "toolChoice": {"any": {}}}
    )
    assert forced["stopReason"] == "tool_use"


# --- structured output ----------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}, "capital": {"type": "boolean"}},
    "required": ["city", "population", "capital"],
    "additionalProperties": False,
}


def test_converse_text_format_answers_json_of_the_schema(bedrock: Any, base_url: str) -> None:
    output = {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(SCHEMA), "name": "city"}},
        }
    }
    for model in (NOVA, CLAUDE):
        response = bedrock.converse(
            modelId=model, messages=[_user("Tell me about Paris, 2100000 people")], outputConfig=output
        )
        answer = json.loads(response["output"]["message"]["content"][0]["text"])
        jsonschema.validate(answer, SCHEMA)
        assert answer == {"city": "Paris", "population": 2100000, "capital": True}
    wire = _raw(base_url, "converse", NOVA, {"messages": [_user("Paris")], "outputConfig": output})
    _assert_shape(wire.json(), SERVICE_MODEL.operation_model("Converse").output_shape)

    broken = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{not json"}}}}
    with pytest.raises(ClientError) as caught:
        bedrock.converse(modelId=NOVA, messages=[_user("Paris")], outputConfig=broken)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_invoke_model_claude_output_config(bedrock: Any) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "Describe Rome, 2800000 people"}],
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
    }
    message = json.loads(bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())
    jsonschema.validate(json.loads(message["content"][0]["text"]), SCHEMA)


# --- reasoning ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields", "signed", "redacted"),
    [
        (CLAUDE, {"thinking": {"type": "enabled", "budget_tokens": 1024}}, True, False),
        (NOVA_2, {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}}, False, True),
        ("openai.gpt-oss-120b-1:0", {"reasoning_effort": "high"}, False, False),
    ],
)
def test_converse_returns_reasoning_content_per_family(
    bedrock: Any, base_url: str, model: str, fields: dict[str, Any], signed: bool, redacted: bool
) -> None:
    ask = [_user("Why is the sky blue?")]
    plain = bedrock.converse(modelId=model, messages=ask, inferenceConfig={"maxTokens": 2000})
    response = bedrock.converse(
        modelId=model, messages=ask, inferenceConfig={"maxTokens": 2000}, additionalModelRequestFields=fields
    )
    reasoning, text = response["output"]["message"]["content"]
    block = reasoning["reasoningContent"]["reasoningText"]
    assert ("signature" in block) is signed and (block["text"] == "[REDACTED]") is redacted
    # gpt-oss always reasons (at medium effort unless told): the answer itself is the same either way.
    assert text["text"] == plain["output"]["message"]["content"][-1]["text"]
    assert response["usage"]["outputTokens"] > plain["usage"]["outputTokens"]  # (more) reasoning billed as output

    body = {"messages": ask, "inferenceConfig": {"maxTokens": 2000}, "additionalModelRequestFields": fields}
    wire = _raw(base_url, "converse", model, body)
    _assert_shape(wire.json(), SERVICE_MODEL.operation_model("Converse").output_shape)
    stream_shape = SERVICE_MODEL.shape_for("ConverseStreamOutput")
    events = _stream_events(_raw(base_url, "converse-stream", model, body))
    for name, payload in events:
        _assert_shape(payload, stream_shape.members[name], name)
    reasoning_deltas = [
        p["delta"]["reasoningContent"] for n, p in events if n == "contentBlockDelta" and p["contentBlockIndex"] == 0
    ]
    assert "".join(d.get("text", "") for d in reasoning_deltas) == block["text"]
    assert [d["signature"] for d in reasoning_deltas if "signature" in d] == ([block["signature"]] if signed else [])


def test_claude_reasoning_settings_are_checked(bedrock: Any) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock.converse(
            modelId=CLAUDE,
            messages=[_user("hi")],
            inferenceConfig={"maxTokens": 1000},
            additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        )
    assert "budget_tokens" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        bedrock.converse(modelId=CLAUDE, messages=[_user("hi")], outputConfig={"effort": "max"})
    assert "capped at high" in caught.value.response["Error"]["Message"]


def test_invoke_model_claude_thinking_block(bedrock: Any) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 3000,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    message = json.loads(bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())
    thinking, text = message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] and thinking["signature"]
    assert text["type"] == "text"
    stream = bedrock.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in stream["body"]]
    deltas = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta" and e["index"] == 0]
    assert deltas[0] == "thinking_delta" and deltas[-1] == "signature_delta"


def test_claude_needs_its_signed_reasoning_back_to_continue_a_tool_use(bedrock: Any) -> None:
    """As Anthropic's API (and Bedrock's) checks: with thinking on, the assistant turn that called a tool starts
    with its reasoning, and a signature must be the one Claude gave."""
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    ask = _user("Use the read_file tool to read /tmp/notes.txt")
    first = bedrock.converse(
        modelId=CLAUDE,
        messages=[ask],
        toolConfig={"tools": [READ_FILE]},
        inferenceConfig={"maxTokens": 3000},
        additionalModelRequestFields=thinking,
    )
    reasoning, call = first["output"]["message"]["content"]
    assert "reasoningContent" in reasoning and "toolUse" in call
    result = {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": call["toolUse"]["toolUseId"], "content": [{"text": "token 42"}]}}],
    }

    def continue_with(assistant_content: list[dict[str, Any]]) -> Any:
        return bedrock.converse(
            modelId=CLAUDE,
            messages=[ask, {"role": "assistant", "content": assistant_content}, result],
            toolConfig={"tools": [READ_FILE]},
            inferenceConfig={"maxTokens": 3000},
            additionalModelRequestFields=thinking,
        )

    answer = continue_with([reasoning, call])
    assert "token 42" in answer["output"]["message"]["content"][-1]["text"]
    with pytest.raises(ClientError, match="must start with a thinking block"):
        continue_with([call])
    forged = {
        "reasoningContent": {"reasoningText": {**reasoning["reasoningContent"]["reasoningText"], "signature": "x"}}
    }
    with pytest.raises(ClientError, match="Invalid `signature`"):
        continue_with([forged, call])


# --- prompt caching -------------------------------------------------------------------------------------------


def test_cache_points_write_then_read_for_claude_and_nova(bedrock: Any) -> None:
    context = "The style guide: write short sentences. " * 40
    system = [{"text": context}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
    for model in (CLAUDE, NOVA):
        first = bedrock.converse(modelId=model, system=system, messages=[_user("Hello")])["usage"]
        assert first["cacheWriteInputTokens"] == count_tokens(context) and first["cacheReadInputTokens"] == 0
        assert first["cacheDetails"] == [{"ttl": "1h", "inputTokens": count_tokens(context)}]
        second = bedrock.converse(modelId=model, system=system, messages=[_user("Bye")])["usage"]
        assert second["cacheReadInputTokens"] == count_tokens(context) and second["cacheWriteInputTokens"] == 0
        assert second["inputTokens"] == count_tokens("Bye") + ANSWER_PRIMING_TOKENS
    llama = bedrock.converse(modelId=LLAMA, system=system, messages=[_user("Hello")])["usage"]
    assert "cacheReadInputTokens" not in llama
    assert llama["inputTokens"] == count_tokens(context) + count_tokens("Hello") + ANSWER_PRIMING_TOKENS


def test_invoke_model_cache_control_ttl(bedrock: Any) -> None:
    context = "Reference material for the task at hand. " * 30
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "system": [{"type": "text", "text": context, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": "Summarise."}],
    }
    first = json.loads(bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())["usage"]
    assert first["cache_creation_input_tokens"] == count_tokens(context)
    assert first["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": count_tokens(context),
    }
    second = json.loads(bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())["usage"]
    assert second["cache_read_input_tokens"] == count_tokens(context) and second["cache_creation_input_tokens"] == 0


# --- roles and models -----------------------------------------------------------------------------------------


def test_converse_accepts_system_role_messages(bedrock: Any, base_url: str) -> None:
    messages = [
        _user("Hi"),
        {"role": "assistant", "content": [{"text": "Hello!"}]},
        {"role": "system", "content": [{"text": "Answer with numbers only."}]},
        _user("What is 5 + 6?"),
    ]
    response = bedrock.converse(modelId=NOVA, messages=messages)
    assert "5 + 6 = 11" in response["output"]["message"]["content"][0]["text"]
    assert response["usage"]["inputTokens"] == ANSWER_PRIMING_TOKENS + sum(
        count_tokens(t) for t in ("Hi", "Hello!", "Answer with numbers only.", "What is 5 + 6?")
    )
    only_system = _raw(base_url, "converse", NOVA, {"messages": [{"role": "system", "content": [{"text": "x"}]}]})
    assert only_system.status_code == 400


def test_embedding_models_are_not_chat_models(bedrock: Any) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock.converse(modelId="amazon.titan-embed-text-v2:0", messages=[_user("hi")])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "doesn't support the model" in caught.value.response["Error"]["Message"]
