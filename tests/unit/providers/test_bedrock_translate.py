"""Table-driven tests for the Bedrock request/response translators (InvokeModel and Converse).

Every Converse request produced here, and every Converse response fixture, is validated against botocore's
own ``bedrock-runtime`` service model, so the shapes are proven against AWS's definition rather than
against our reading of it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pytest

from finops.core import errors
from finops.providers.bedrock.answers import from_converse_response, map_stop_reason
from finops.providers.bedrock.invoke import from_invoke_response, to_invoke_body
from finops.providers.bedrock.translate import to_converse_request
from tests.unit.providers.test_bedrock_shapes import (
    SERVICE_MODEL,
    assert_valid_converse,
    assert_valid_converse_response,
)

JSON = dict[str, Any]

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF_B64 = base64.b64encode(b"%PDF-1.4 fake").decode()
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

# ------------------------------------------------------------------------------------------------------------
# InvokeModel (Anthropic family)
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeCase:
    id: str
    params: JSON
    expected: JSON
    anthropic_beta: list[str] | None = None


BASE_PARAMS: JSON = {
    "model": "anthropic.claude-3-haiku-20240307-v1:0",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}

INVOKE_CASES = [
    InvokeCase(
        id="model_and_stream_stripped",
        params={**BASE_PARAMS, "stream": True, "system": "Be brief", "temperature": 0.2},
        expected={
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}],
            "system": "Be brief",
            "temperature": 0.2,
            "anthropic_version": "bedrock-2023-05-31",
        },
    ),
    InvokeCase(
        id="anthropic_beta_added",
        params=BASE_PARAMS,
        anthropic_beta=["token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14"],
        expected={
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}],
            "anthropic_version": "bedrock-2023-05-31",
            "anthropic_beta": ["token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14"],
        },
    ),
    InvokeCase(
        id="empty_beta_list_omitted",
        params=BASE_PARAMS,
        anthropic_beta=[],
        expected={
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}],
            "anthropic_version": "bedrock-2023-05-31",
        },
    ),
    InvokeCase(
        id="everything_else_passes_through",
        params={
            **BASE_PARAMS,
            "tools": [{"name": "get_weather", "input_schema": SCHEMA}],
            "tool_choice": {"type": "any"},
            "top_k": 5,
            "metadata": {"user_id": "u-1"},
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        },
        expected={
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"name": "get_weather", "input_schema": SCHEMA}],
            "tool_choice": {"type": "any"},
            "top_k": 5,
            "metadata": {"user_id": "u-1"},
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "anthropic_version": "bedrock-2023-05-31",
        },
    ),
]


@pytest.mark.parametrize("case", INVOKE_CASES, ids=lambda c: c.id)
def test_to_invoke_body(case: InvokeCase) -> None:
    original = {**case.params}
    assert to_invoke_body(case.params, anthropic_beta=case.anthropic_beta) == case.expected
    assert case.params == original  # the caller's body is not mutated


def test_to_invoke_body_rejects_files_api_sources() -> None:
    params = {
        **BASE_PARAMS,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Summarise"},
                    {"type": "document", "source": {"type": "file", "file_id": "file_abc"}},
                ],
            }
        ],
    }
    with pytest.raises(errors.InvalidRequestError, match=r"messages\.0\.content\.1: Bedrock has no Files API"):
        to_invoke_body(params)


INVOKE_RESPONSE = {
    "id": "msg_bdrk_01ABC",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-haiku-20240307",
    "content": [{"type": "text", "text": "Hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 3},
}


@pytest.mark.parametrize(
    ("body", "message_id", "expected"),
    [
        pytest.param(
            INVOKE_RESPONSE,
            None,
            {
                **INVOKE_RESPONSE,
                "model": "anthropic.claude-3-haiku-20240307-v1:0",
                "usage": {
                    "input_tokens": 12,
                    "output_tokens": 3,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                },
            },
            id="model_replaced_id_kept_usage_completed",
        ),
        pytest.param(
            {
                **INVOKE_RESPONSE,
                "usage": {
                    "input_tokens": 5,
                    "output_tokens": 7,
                    "cache_creation_input_tokens": None,
                    "cache_read_input_tokens": 100,
                    "service_tier": "standard",
                },
                "amazon-bedrock-invocationMetrics": {"inputTokenCount": 5},
            },
            "msg_gateway",
            {
                **INVOKE_RESPONSE,
                "id": "msg_gateway",
                "model": "anthropic.claude-3-haiku-20240307-v1:0",
                "usage": {
                    "input_tokens": 5,
                    "output_tokens": 7,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 100,
                    "service_tier": "standard",
                },
            },
            id="message_id_override_null_cache_and_metrics_dropped",
        ),
    ],
)
def test_from_invoke_response(body: JSON, message_id: str | None, expected: JSON) -> None:
    result = from_invoke_response(body, model="anthropic.claude-3-haiku-20240307-v1:0", message_id=message_id)
    assert result == expected


def test_from_invoke_response_mints_an_id_when_missing() -> None:
    body = {key: value for key, value in INVOKE_RESPONSE.items() if key != "id"}
    assert from_invoke_response(body, model="m")["id"].startswith("msg_")


# ------------------------------------------------------------------------------------------------------------
# Converse requests
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConverseCase:
    id: str
    params: JSON
    expected: JSON
    model: str = "amazon.nova-lite-v1:0"


def _p(model: str = "amazon.nova-lite-v1:0", **fields: Any) -> JSON:
    return {"model": model, "max_tokens": 100, **fields}


USER_HI = {"role": "user", "content": "Hi"}
INFERENCE_100 = {"maxTokens": 100}

CONVERSE_CASES = [
    ConverseCase(
        id="text_only",
        params=_p(messages=[USER_HI]),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
        },
    ),
    ConverseCase(
        id="system_string_and_sampling",
        params=_p(
            messages=[USER_HI],
            system="You are terse.",
            temperature=0.5,
            top_p=0.9,
            stop_sequences=["END", "STOP"],
            stream=True,
            metadata={"user_id": "u-1"},
        ),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "system": [{"text": "You are terse."}],
            "inferenceConfig": {
                "maxTokens": 100,
                "temperature": 0.5,
                "topP": 0.9,
                "stopSequences": ["END", "STOP"],
            },
        },
    ),
    ConverseCase(
        id="system_blocks_cache_control_becomes_a_cache_point_empty_skipped",
        params=_p(
            messages=[USER_HI],
            system=[
                {"type": "text", "text": "Rule one.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": ""},
                {"type": "text", "text": "Rule two."},
            ],
        ),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "system": [{"text": "Rule one."}, {"cachePoint": {"type": "default"}}, {"text": "Rule two."}],
            "inferenceConfig": INFERENCE_100,
        },
    ),
    ConverseCase(
        id="multi_turn_merges_same_role_and_drops_thinking",
        params=_p(
            messages=[
                {"role": "user", "content": "Part one"},
                {"role": "user", "content": [{"type": "text", "text": "Part two"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "text", "text": "Answer"},
                    ],
                },
                {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xx"}]},
                {"role": "user", "content": "Thanks"},
            ]
        ),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Part one"}, {"text": "Part two"}]},
                {"role": "assistant", "content": [{"text": "Answer"}]},
                {"role": "user", "content": [{"text": "Thanks"}]},
            ],
            "inferenceConfig": INFERENCE_100,
        },
    ),
    ConverseCase(
        id="images_every_format",
        params=_p(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": mt, "data": PNG_B64}}
                        for mt in ("image/png", "image/jpeg", "image/gif", "image/webp")
                    ]
                    + [{"type": "text", "text": "Describe"}],
                }
            ]
        ),
        expected={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"image": {"format": fmt, "source": {"bytes": PNG_B64}}}
                        for fmt in ("png", "jpeg", "gif", "webp")
                    ]
                    + [{"text": "Describe"}],
                }
            ],
            "inferenceConfig": INFERENCE_100,
        },
    ),
    ConverseCase(
        id="documents_pdf_text_content_with_names",
        params=_p(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "title": "Q3 report.pdf",
                            "context": "Finance",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                        },
                        {
                            "type": "document",
                            "title": "Q3 report.pdf",
                            "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
                        },
                        {
                            "type": "document",
                            "source": {
                                "type": "content",
                                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                            },
                        },
                        {"type": "text", "text": "Compare"},
                    ],
                }
            ]
        ),
        expected={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "document": {
                                "format": "pdf",
                                "name": "Q3 report pdf",
                                "source": {"bytes": PDF_B64},
                                "context": "Finance",
                            }
                        },
                        {
                            "document": {
                                "format": "txt",
                                "name": "Q3 report pdf (2)",
                                "source": {"bytes": base64.b64encode(b"plain words").decode()},
                            }
                        },
                        {
                            "document": {
                                "format": "txt",
                                "name": "document 3",
                                "source": {"bytes": base64.b64encode(b"a\n\nb").decode()},
                            }
                        },
                        {"text": "Compare"},
                    ],
                }
            ],
            "inferenceConfig": INFERENCE_100,
        },
    ),
    ConverseCase(
        id="tools_tool_use_and_results_with_is_error",
        params=_p(
            messages=[
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Checking."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                        {
                            "type": "tool_use",
                            "id": "toolu_2",
                            "name": "get_weather",
                            "input": {"city": "Rome"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "is_error": True,
                            "content": [{"type": "text", "text": "service down"}],
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_3",
                            "content": [
                                {
                                    "type": "image",
                                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                                }
                            ],
                        },
                    ],
                },
            ],
            tools=[
                {"name": "get_weather", "description": "Current weather", "input_schema": SCHEMA},
                {"type": "custom", "name": "no_description", "input_schema": {"type": "object"}},
            ],
        ),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"text": "Checking."},
                        {
                            "toolUse": {
                                "toolUseId": "toolu_1",
                                "name": "get_weather",
                                "input": {"city": "Paris"},
                            }
                        },
                        {
                            "toolUse": {
                                "toolUseId": "toolu_2",
                                "name": "get_weather",
                                "input": {"city": "Rome"},
                            }
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "toolu_1",
                                "content": [{"text": "18C"}],
                                "status": "success",
                            }
                        },
                        {
                            "toolResult": {
                                "toolUseId": "toolu_2",
                                "content": [{"text": "service down"}],
                                "status": "error",
                            }
                        },
                        {
                            "toolResult": {
                                "toolUseId": "toolu_3",
                                "content": [{"image": {"format": "png", "source": {"bytes": PNG_B64}}}],
                                "status": "success",
                            }
                        },
                    ],
                },
            ],
            "inferenceConfig": INFERENCE_100,
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": "get_weather",
                            "inputSchema": {"json": SCHEMA},
                            "description": "Current weather",
                        }
                    },
                    {"toolSpec": {"name": "no_description", "inputSchema": {"json": {"type": "object"}}}},
                ],
                "toolChoice": {"auto": {}},
            },
        },
    ),
    ConverseCase(
        id="tool_choice_any",
        params=_p(
            messages=[USER_HI],
            tools=[{"name": "t", "input_schema": SCHEMA}],
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
        ),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
            "toolConfig": {
                "tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": SCHEMA}}}],
                "toolChoice": {"any": {}},
            },
        },
    ),
    ConverseCase(
        id="tool_choice_tool",
        params=_p(
            messages=[USER_HI],
            tools=[{"name": "t", "input_schema": SCHEMA}],
            tool_choice={"type": "tool", "name": "t"},
        ),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
            "toolConfig": {
                "tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": SCHEMA}}}],
                "toolChoice": {"tool": {"name": "t"}},
            },
        },
    ),
    ConverseCase(
        id="tool_choice_none_drops_tools",
        params=_p(messages=[USER_HI], tools=[{"name": "t", "input_schema": SCHEMA}], tool_choice={"type": "none"}),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
        },
    ),
    ConverseCase(
        id="tool_choice_none_with_tool_history_keeps_tools_without_choice",
        params=_p(
            messages=[
                USER_HI,
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
            ],
            tools=[{"name": "t", "input_schema": SCHEMA}],
            tool_choice={"type": "none"},
        ),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Hi"}]},
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "toolu_1", "name": "t", "input": {}}}],
                },
                {
                    "role": "user",
                    "content": [{"toolResult": {"toolUseId": "toolu_1", "content": [], "status": "success"}}],
                },
            ],
            "inferenceConfig": INFERENCE_100,
            "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": SCHEMA}}}]},
        },
    ),
    ConverseCase(
        id="top_k_nova",
        params=_p(messages=[USER_HI], top_k=40),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
            "additionalModelRequestFields": {"inferenceConfig": {"topK": 40}},
        },
    ),
    ConverseCase(
        id="top_k_mistral",
        model="mistral.mistral-large-2402-v1:0",
        params=_p("mistral.mistral-large-2402-v1:0", messages=[USER_HI], top_k=40),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
            "additionalModelRequestFields": {"top_k": 40},
        },
    ),
    ConverseCase(
        id="top_k_claude_profile",
        model="us.anthropic.claude-sonnet-4-20250514-v1:0",
        params=_p("us.anthropic.claude-sonnet-4-20250514-v1:0", messages=[USER_HI], top_k=40),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
            "additionalModelRequestFields": {"top_k": 40},
        },
    ),
    ConverseCase(
        id="top_k_llama_dropped",
        model="meta.llama3-1-8b-instruct-v1:0",
        params=_p("meta.llama3-1-8b-instruct-v1:0", messages=[USER_HI], top_k=40),
        expected={
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": INFERENCE_100,
        },
    ),
]


@pytest.mark.parametrize("case", CONVERSE_CASES, ids=lambda c: c.id)
def test_to_converse_request(case: ConverseCase) -> None:
    request = to_converse_request(case.params)
    assert request == case.expected
    assert_valid_converse(request, case.model)


INVALID_CONVERSE_CASES = [
    pytest.param(
        [{"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}],
        r"messages\.0\.content\.0: Bedrock cannot fetch image URLs; send the image inline as base64",
        id="image_url",
    ),
    pytest.param(
        [{"type": "image", "source": {"type": "file", "file_id": "file_1"}}],
        r"messages\.0\.content\.0: Bedrock has no Files API",
        id="image_file",
    ),
    pytest.param(
        [{"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": PNG_B64}}],
        r"image media_type 'image/bmp' is not supported on Bedrock",
        id="image_bmp",
    ),
    pytest.param(
        [{"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}],
        r"Bedrock cannot fetch document URLs",
        id="document_url",
    ),
    pytest.param(
        [
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/zip", "data": PDF_B64},
            }
        ],
        r"document media_type 'application/zip' is not supported",
        id="document_zip",
    ),
    pytest.param(
        [{"type": "container_upload", "file_id": "file_1"}],
        r"content block type 'container_upload' is not supported on Bedrock Converse",
        id="unknown_block",
    ),
    pytest.param(
        [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "tool_reference", "tool_name": "x"}]}],
        r"messages\.0\.content\.0\.content\.0: tool_result content 'tool_reference' is not supported",
        id="tool_result_unknown_content",
    ),
]


@pytest.mark.parametrize(("content", "message"), INVALID_CONVERSE_CASES)
def test_to_converse_request_rejects_what_bedrock_cannot_express(content: list[JSON], message: str) -> None:
    with pytest.raises(errors.InvalidRequestError, match=message):
        to_converse_request(_p(messages=[{"role": "user", "content": content}]))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param(
            _p(messages=[USER_HI], max_tokens=0),
            r"max_tokens: Bedrock requires at least 1",
            id="max_tokens_0",
        ),
        pytest.param(
            _p(messages=[USER_HI], tools=[{"type": "web_search_20250305", "name": "web_search"}]),
            r"tools\.0: tool type 'web_search_20250305' is not available on Bedrock Converse",
            id="server_tool",
        ),
        pytest.param(
            _p(messages=[USER_HI], tools=[{"name": "x" * 65, "input_schema": SCHEMA}]),
            r"tools\.0: Bedrock tool names must be 1 to 64 characters",
            id="tool_name_too_long",
        ),
        pytest.param(
            _p(messages=[{"role": "tool", "content": "x"}]),
            r"messages\.0\.role: expected 'user', 'assistant' or 'system'",
            id="bad_role",
        ),
    ],
)
def test_to_converse_request_rejects_bad_params(params: JSON, message: str) -> None:
    with pytest.raises(errors.InvalidRequestError, match=message):
        to_converse_request(params)


# ------------------------------------------------------------------------------------------------------------
# Converse responses
# ------------------------------------------------------------------------------------------------------------


def _converse_response(content: list[JSON], stop_reason: str = "end_turn", **usage: int) -> JSON:
    token_usage = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15, **usage}
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": token_usage,
        "metrics": {"latencyMs": 42},
    }


USAGE_10_5 = {
    "input_tokens": 10,
    "output_tokens": 5,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


def _message(content: list[JSON], stop_reason: str = "end_turn", usage: JSON = USAGE_10_5) -> JSON:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "amazon.nova-lite-v1:0",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


@dataclass(frozen=True)
class ResponseCase:
    id: str
    response: JSON
    expected: JSON = field(default_factory=dict)


RESPONSE_CASES = [
    ResponseCase(
        id="text",
        response=_converse_response([{"text": "Hello there"}]),
        expected=_message([{"type": "text", "text": "Hello there"}]),
    ),
    ResponseCase(
        id="tool_use",
        response=_converse_response(
            [
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_abc", "name": "get_weather", "input": {"city": "Paris"}}},
            ],
            stop_reason="tool_use",
        ),
        expected=_message(
            [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "tooluse_abc", "name": "get_weather", "input": {"city": "Paris"}},
            ],
            stop_reason="tool_use",
        ),
    ),
    ResponseCase(
        id="cache_tokens",
        response=_converse_response([{"text": "ok"}], cacheReadInputTokens=300, cacheWriteInputTokens=40),
        expected=_message(
            [{"type": "text", "text": "ok"}],
            usage={
                "input_tokens": 10,
                "output_tokens": 5,
                "cache_creation_input_tokens": 40,
                "cache_read_input_tokens": 300,
            },
        ),
    ),
    ResponseCase(
        id="reasoning_becomes_thinking",
        response=_converse_response(
            [
                {"reasoningContent": {"reasoningText": {"text": "step 1", "signature": "sig"}}},
                {"reasoningContent": {"redactedContent": base64.b64encode(b"secret").decode()}},
                {"text": "42"},
            ]
        ),
        expected=_message(
            [
                {"type": "thinking", "thinking": "step 1", "signature": "sig"},
                {"type": "redacted_thinking", "data": base64.b64encode(b"secret").decode()},
                {"type": "text", "text": "42"},
            ]
        ),
    ),
]


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=lambda c: c.id)
def test_from_converse_response(case: ResponseCase) -> None:
    assert_valid_converse_response(case.response)
    result = from_converse_response(case.response, model="amazon.nova-lite-v1:0", message_id="msg_test")
    assert result == case.expected


STOP_REASON_CASES = [
    ("end_turn", "end_turn"),
    ("tool_use", "tool_use"),
    ("max_tokens", "max_tokens"),
    ("stop_sequence", "stop_sequence"),
    ("guardrail_intervened", "refusal"),
    ("content_filtered", "refusal"),
    ("model_context_window_exceeded", "model_context_window_exceeded"),
    ("malformed_model_output", "end_turn"),
    ("malformed_tool_use", "end_turn"),
]


def test_stop_reason_table_covers_every_bedrock_value() -> None:
    assert sorted(b for b, _ in STOP_REASON_CASES) == sorted(SERVICE_MODEL.shape_for("StopReason").enum)


@pytest.mark.parametrize(("bedrock", "anthropic"), STOP_REASON_CASES, ids=[c[0] for c in STOP_REASON_CASES])
def test_every_stop_reason(bedrock: str, anthropic: str) -> None:
    response = _converse_response([{"text": "x"}], stop_reason=bedrock)
    assert from_converse_response(response, model="m")["stop_reason"] == anthropic
    assert map_stop_reason(bedrock) == anthropic


def test_unknown_stop_reason_ends_the_turn() -> None:
    assert map_stop_reason("something_new") == "end_turn"
    assert map_stop_reason(None) is None


def test_from_converse_response_mints_message_id() -> None:
    assert from_converse_response(_converse_response([]), model="m")["id"].startswith("msg_")
