"""Table-driven tests for the Anthropic <-> Gemini generateContent translation (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from finops.core.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
)
from finops.providers.gemini.tool_ids import decode_tool_use_id, encode_tool_use_id
from finops.providers.gemini.translate import (
    GeminiFileRef,
    from_count_tokens_response,
    from_gemini_error,
    from_generate_response,
    from_models_list,
    map_usage,
    to_count_tokens_request,
    to_generate_request,
)

JSON = dict[str, Any]
USER_HI = [{"role": "user", "content": "hi"}]
HI_CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_DECLARATION = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parametersJsonSchema": WEATHER_TOOL["input_schema"],
}
# toolu_gsig_<hex("call_1")>_<base64url("c2lnLzE+")>: a Gemini call id plus its thought signature.
SIGNED_ID = "toolu_gsig_63616c6c5f31_YzJsbkx6RSs"


def body(**fields: Any) -> JSON:
    return {"model": "gemini-2.5-flash", "max_tokens": 100, "messages": USER_HI, **fields}


def tool_turns(result: Any, *, is_error: bool = False, tool_use_id: str = "toolu_A") -> list[JSON]:
    tool_result: JSON = {"type": "tool_result", "tool_use_id": tool_use_id, "content": result}
    if is_error:
        tool_result["is_error"] = True
    return [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": tool_use_id, "name": "get_weather", "input": {"city": "Paris"}}],
        },
        {"role": "user", "content": [tool_result]},
    ]


def tool_contents(response: JSON, *, call_id: str = "toolu_A", extra: JSON | None = None) -> list[JSON]:
    function_response: JSON = {"id": call_id, "name": "get_weather", "response": response, **(extra or {})}
    return [
        {"role": "user", "parts": [{"text": "weather in Paris?"}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"id": call_id, "name": "get_weather", "args": {"city": "Paris"}}}],
        },
        {"role": "user", "parts": [{"functionResponse": function_response}]},
    ]


# ------------------------------------------------------------------------------------------------------------
# to_generate_request
# ------------------------------------------------------------------------------------------------------------


NO_THINKING: JSON = {"thinkingConfig": {"thinkingBudget": 0}}
"""Without ``thinking`` an Anthropic request asks for no extended thinking: Gemini 2.5 Flash's budget is 0."""


@dataclass(frozen=True)
class RequestCase:
    id: str
    params: JSON
    expected: JSON
    model: str = "gemini-2.5-flash"
    file_refs: dict[str, GeminiFileRef] = field(default_factory=dict)


REQUEST_CASES = [
    RequestCase(
        id="minimal_string_content",
        params=body(),
        expected={"contents": HI_CONTENTS, "generationConfig": {"maxOutputTokens": 100, **NO_THINKING}},
    ),
    RequestCase(
        id="model_prefixes_stripped_metadata_stream_dropped",
        params=body(model="gemini/models/gemini-2.5-pro", metadata={"user_id": "u1"}, stream=True),
        model="gemini-2.5-pro",
        # 2.5 Pro cannot stop thinking: its least budget.
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {"maxOutputTokens": 100, "thinkingConfig": {"thinkingBudget": 128}},
        },
    ),
    RequestCase(
        id="system_string",
        params=body(system="Be brief."),
        expected={
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": HI_CONTENTS,
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="system_text_blocks",
        params=body(system=[{"type": "text", "text": "A"}, {"type": "text", "text": "B", "cache_control": {}}]),
        expected={
            "systemInstruction": {"parts": [{"text": "A"}, {"text": "B"}]},
            "contents": HI_CONTENTS,
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="roles_and_consecutive_turns_merged",
        params=body(
            messages=[
                {"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "text", "text": "b"}]},
                {"role": "assistant", "content": "c"},
                {"role": "user", "content": "d"},
            ]
        ),
        expected={
            "contents": [
                {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                {"role": "model", "parts": [{"text": "c"}]},
                {"role": "user", "parts": [{"text": "d"}]},
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="base64_image",
        params=body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                        {"type": "text", "text": "what is this?"},
                    ],
                }
            ]
        ),
        expected={
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
                        {"text": "what is this?"},
                    ],
                }
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="gemini_file_uri_image",
        params=body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "url",
                                "url": "https://generativelanguage.googleapis.com/v1beta/files/x",
                            },
                        }
                    ],
                }
            ]
        ),
        expected={
            "contents": [
                {
                    "role": "user",
                    "parts": [{"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/x"}}],
                }
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="base64_pdf_and_text_documents",
        params=body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                        },
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                        },
                        {
                            "type": "document",
                            "source": {"type": "content", "content": [{"type": "text", "text": "c"}]},
                        },
                    ],
                }
            ]
        ),
        expected={
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                        {"text": "notes"},
                        {"text": "c"},
                    ],
                }
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="file_source_resolved_by_adapter",
        params=body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "document", "source": {"type": "file", "file_id": "file_1"}}],
                }
            ]
        ),
        file_refs={
            "file_1": GeminiFileRef("https://generativelanguage.googleapis.com/v1beta/files/abc", "application/pdf")
        },
        expected={
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {
                            "fileData": {
                                "mimeType": "application/pdf",
                                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc",
                            }
                        }
                    ],
                }
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="generation_config",
        params=body(stop_sequences=["END", "STOP"], temperature=0.2, top_p=0.9, top_k=40),
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {
                "maxOutputTokens": 100,
                "stopSequences": ["END", "STOP"],
                "temperature": 0.2,
                "topP": 0.9,
                "topK": 40,
                **NO_THINKING,
            },
        },
    ),
    RequestCase(
        id="tools_without_choice",
        params=body(tools=[WEATHER_TOOL, {"name": "now", "input_schema": {"type": "object"}}]),
        expected={
            "contents": HI_CONTENTS,
            "tools": [
                {
                    "functionDeclarations": [
                        WEATHER_DECLARATION,
                        {"name": "now", "description": "", "parametersJsonSchema": {"type": "object"}},
                    ]
                }
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    *[
        RequestCase(
            id=f"tool_choice_{choice['type']}",
            params=body(tools=[WEATHER_TOOL], tool_choice=choice),
            expected={
                "contents": HI_CONTENTS,
                "tools": [{"functionDeclarations": [WEATHER_DECLARATION]}],
                "toolConfig": {"functionCallingConfig": config},
                "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
            },
        )
        for choice, config in [
            ({"type": "auto"}, {"mode": "AUTO"}),
            ({"type": "any", "disable_parallel_tool_use": True}, {"mode": "ANY"}),
            (
                {"type": "tool", "name": "get_weather"},
                {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
            ),
            ({"type": "none"}, {"mode": "NONE"}),
        ]
    ],
    RequestCase(
        id="tool_result_string_name_looked_up",
        params=body(messages=tool_turns("18C, sunny")),
        expected={
            "contents": tool_contents({"content": "18C, sunny"}),
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="tool_result_text_list_joined",
        params=body(messages=tool_turns([{"type": "text", "text": "18C"}, {"type": "text", "text": "sunny"}])),
        expected={
            "contents": tool_contents({"content": "18C\nsunny"}),
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="tool_result_is_error",
        params=body(messages=tool_turns("city not found", is_error=True)),
        expected={
            "contents": tool_contents({"error": "city not found"}),
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="tool_result_empty",
        params=body(messages=tool_turns(None)),
        expected={
            "contents": tool_contents({"content": ""}),
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="tool_result_with_image_uses_function_response_parts",
        params=body(
            messages=tool_turns(
                [
                    {"type": "text", "text": "map:"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"},
                    },
                ]
            )
        ),
        expected={
            "contents": tool_contents(
                {"content": "map:"},
                extra={"parts": [{"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}}]},
            ),
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="signed_tool_use_id_restores_thought_signature",
        params=body(
            messages=[
                {"role": "user", "content": "weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Need the tool.", "signature": "T1"},
                        {"type": "redacted_thinking", "data": "opaque"},
                        {
                            "type": "tool_use",
                            "id": SIGNED_ID,
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": SIGNED_ID, "content": "18C"}],
                },
            ]
        ),
        expected={
            "contents": [
                {"role": "user", "parts": [{"text": "weather in Paris?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"text": "Need the tool.", "thought": True, "thoughtSignature": "T1"},
                        {
                            "functionCall": {
                                "id": "call_1",
                                "name": "get_weather",
                                "args": {"city": "Paris"},
                            },
                            "thoughtSignature": "c2lnLzE+",
                        },
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "id": "call_1",
                                "name": "get_weather",
                                "response": {"content": "18C"},
                            }
                        }
                    ],
                },
            ],
            "generationConfig": {"maxOutputTokens": 100, **NO_THINKING},
        },
    ),
    RequestCase(
        id="thinking_enabled",
        params=body(thinking={"type": "enabled", "budget_tokens": 2048}),
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {
                "maxOutputTokens": 100,
                "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True},
            },
        },
    ),
    RequestCase(
        id="thinking_adaptive_is_dynamic",
        params=body(thinking={"type": "adaptive"}),
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {
                "maxOutputTokens": 100,
                "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": True},
            },
        },
    ),
    RequestCase(
        id="thinking_disabled_on_flash_budget_zero",
        params=body(thinking={"type": "disabled"}),
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {"maxOutputTokens": 100, "thinkingConfig": {"thinkingBudget": 0}},
        },
    ),
    RequestCase(
        id="thinking_disabled_on_pro_is_its_least_budget",
        params=body(model="gemini-2.5-pro", thinking={"type": "disabled"}),
        model="gemini-2.5-pro",
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {"maxOutputTokens": 100, "thinkingConfig": {"thinkingBudget": 128}},
        },
    ),
    RequestCase(
        id="structured_output",
        params=body(output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}}),
        expected={
            "contents": HI_CONTENTS,
            "generationConfig": {
                "maxOutputTokens": 100,
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object"},
                **NO_THINKING,
            },
        },
    ),
]


@pytest.mark.parametrize("case", REQUEST_CASES, ids=lambda case: case.id)
def test_to_generate_request(case: RequestCase) -> None:
    assert to_generate_request(case.params, file_refs=case.file_refs) == (case.model, case.expected)


@dataclass(frozen=True)
class RejectCase:
    id: str
    params: JSON
    message: str  # a regex the error message must contain


def image_message(source: JSON, kind: str = "image") -> list[JSON]:
    return [{"role": "user", "content": [{"type": kind, "source": source}]}]


REJECT_CASES = [
    RejectCase("missing_model", {"max_tokens": 1, "messages": USER_HI}, r"model: a Gemini model name is required"),
    RejectCase("no_messages", body(messages=[]), r"at least one message"),
    RejectCase(
        "url_image",
        body(messages=image_message({"type": "url", "url": "https://example.com/cat.png"})),
        r"Gemini needs the bytes inline; the gateway does not fetch URLs",
    ),
    RejectCase(
        "url_document",
        body(messages=image_message({"type": "url", "url": "https://example.com/a.pdf"}, "document")),
        r"does not fetch URLs",
    ),
    RejectCase(
        "gif_image",
        body(messages=image_message({"type": "base64", "media_type": "image/gif", "data": "R0lG"})),
        r"does not accept 'image/gif'",
    ),
    RejectCase(
        "unknown_file",
        body(messages=image_message({"type": "file", "file_id": "file_x"})),
        r"file 'file_x' is not a file uploaded to Gemini",
    ),
    RejectCase(
        "tool_result_unknown_id",
        body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_X", "content": "x"}],
                }
            ]
        ),
        r"tool_use_id 'toolu_X' does not match a tool_use block",
    ),
    RejectCase(
        "stop_sequences_over_five",
        body(stop_sequences=["a", "b", "c", "d", "e", "f"]),
        r"stop_sequences: Gemini allows at most 5, got 6",
    ),
    RejectCase(
        "tool_choice_unknown_tool",
        body(tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "x"}),
        r"'x'",
    ),
    RejectCase(
        "web_fetch_tool",
        body(tools=[{"type": "web_fetch_20250910", "name": "web_fetch"}]),
        r"tools\.0: tool type 'web_fetch_20250910' is not available on Gemini",
    ),
    RejectCase("max_tokens_zero", body(max_tokens=0), r"max_tokens"),
    RejectCase("mcp_servers", body(mcp_servers=[{"type": "url", "url": "https://x"}]), r"MCP"),
    RejectCase(
        "server_tool_block",
        body(messages=[{"role": "assistant", "content": [{"type": "server_tool_use", "id": "s", "name": "x"}]}]),
        r"a server_tool_use of 'x' cannot be replayed to Gemini",
    ),
]


@pytest.mark.parametrize("case", REJECT_CASES, ids=lambda case: case.id)
def test_to_generate_request_rejects(case: RejectCase) -> None:
    with pytest.raises(InvalidRequestError, match=case.message):
        to_generate_request(case.params)


def test_count_tokens_request_wraps_generate_request_without_generation_config() -> None:
    params = {
        "model": "gemini-2.5-flash",
        "system": "S",
        "messages": USER_HI,
        "tools": [WEATHER_TOOL],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    assert to_count_tokens_request(params) == (
        "gemini-2.5-flash",
        {
            "generateContentRequest": {
                "model": "models/gemini-2.5-flash",
                "systemInstruction": {"parts": [{"text": "S"}]},
                "contents": HI_CONTENTS,
                "tools": [{"functionDeclarations": [WEATHER_DECLARATION]}],
            }
        },
    )


@pytest.mark.parametrize(("total", "expected"), [(17, 17), ("42", 42), (None, 0)], ids=["int", "string", "absent"])
def test_count_tokens_response(total: Any, expected: int) -> None:
    assert from_count_tokens_response({"totalTokens": total}) == {"input_tokens": expected}


# ------------------------------------------------------------------------------------------------------------
# Tool-use id encoding
# ------------------------------------------------------------------------------------------------------------

ID_CASES = [
    ("gemini_id_with_signature", "call_1", "c2lnLzE+", SIGNED_ID),
    ("safe_gemini_id_kept", "abc-1_2", None, "abc-1_2"),
    ("unsafe_gemini_id_hex_encoded", "a b", None, "toolu_gsig_612062_"),
    ("signature_with_underscores", "x", "sig_A", "toolu_gsig_78_c2lnX0E"),
]


@pytest.mark.parametrize(("call_id", "signature", "expected"), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_tool_use_id_round_trip(call_id: str, signature: str | None, expected: str) -> None:
    tool_use_id = encode_tool_use_id(call_id, signature)
    assert tool_use_id == expected
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", tool_use_id)
    assert decode_tool_use_id(tool_use_id) == (call_id, signature)


def test_minted_tool_use_id_carries_signature() -> None:
    tool_use_id = encode_tool_use_id(None, "S1")
    call_id, signature = decode_tool_use_id(tool_use_id)
    assert re.fullmatch(r"toolu_gsig_[0-9a-f]+_UzE", tool_use_id)
    assert re.fullmatch(r"toolu_[A-Za-z0-9]{24}", call_id)
    assert signature == "S1"


@pytest.mark.parametrize(
    "tool_use_id",
    ["toolu_01ABC", "toolu_gsig_zz_abc", "toolu_gsig_", "call_abc"],
    ids=["anthropic", "bad_hex", "empty", "openai"],
)
def test_foreign_tool_use_ids_are_their_own_call_id(tool_use_id: str) -> None:
    assert decode_tool_use_id(tool_use_id) == (tool_use_id, None)


# ------------------------------------------------------------------------------------------------------------
# from_generate_response
# ------------------------------------------------------------------------------------------------------------

USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
ANTHROPIC_USAGE = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 5,
}


def gemini_response(parts: list[JSON], finish_reason: str | None = "STOP", **extra: Any) -> JSON:
    candidate: JSON = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    return {"candidates": [candidate], "usageMetadata": USAGE, "modelVersion": "gemini-2.5-flash", **extra}


@dataclass(frozen=True)
class ResponseCase:
    id: str
    response: JSON
    content: list[JSON]
    stop_reason: str
    usage: JSON = field(default_factory=lambda: ANTHROPIC_USAGE)


RESPONSE_CASES = [
    ResponseCase(
        id="adjacent_text_merged",
        response=gemini_response([{"text": "Hello"}, {"text": ", world"}]),
        content=[{"type": "text", "text": "Hello, world"}],
        stop_reason="end_turn",
    ),
    ResponseCase(
        id="thinking_then_text_signature_moves_to_thinking",
        response=gemini_response(
            [
                {"text": "Let me ", "thought": True},
                {"text": "think.", "thought": True},
                {"text": "Answer.", "thoughtSignature": "SIG"},
            ]
        ),
        content=[
            {"type": "thinking", "thinking": "Let me think.", "signature": "SIG"},
            {"type": "text", "text": "Answer."},
        ],
        stop_reason="end_turn",
    ),
    ResponseCase(
        id="text_signature_without_thinking_dropped",
        response=gemini_response(
            [{"text": "Answer.", "thoughtSignature": "SIG"}, {"text": "", "thoughtSignature": "S2"}]
        ),
        content=[{"type": "text", "text": "Answer."}],
        stop_reason="end_turn",
    ),
    ResponseCase(
        id="function_call_with_signature_is_tool_use",
        response=gemini_response(
            [
                {"text": "Checking."},
                {
                    "functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "c2lnLzE+",
                },
                {"functionCall": {"id": "call_2", "name": "get_weather", "args": {"city": "Rome"}}},
            ]
        ),
        content=[
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": SIGNED_ID, "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
        stop_reason="tool_use",
    ),
    ResponseCase(
        id="max_tokens",
        response=gemini_response([{"text": "Trunc"}], "MAX_TOKENS"),
        content=[{"type": "text", "text": "Trunc"}],
        stop_reason="max_tokens",
    ),
    *[
        ResponseCase(
            id=f"refusal_{reason.lower()}",
            response=gemini_response([], reason),
            content=[],
            stop_reason="refusal",
        )
        for reason in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY")
    ],
    *[
        ResponseCase(
            id=f"end_turn_{str(reason).lower()}",
            response=gemini_response([{"text": "x"}], reason),
            content=[{"type": "text", "text": "x"}],
            stop_reason="end_turn",
        )
        for reason in ("OTHER", "LANGUAGE", "MALFORMED_FUNCTION_CALL", "FINISH_REASON_UNSPECIFIED", None)
    ],
    ResponseCase(
        id="prompt_blocked_no_candidates",
        response={"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7}},
        content=[],
        stop_reason="refusal",
        usage={
            "input_tokens": 7,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        },
    ),
    ResponseCase(
        id="usage_cached_and_thoughts_as_strings",
        response={
            **gemini_response([{"text": "ok"}]),
            "usageMetadata": {
                "promptTokenCount": "1200",
                "cachedContentTokenCount": "1000",
                "candidatesTokenCount": "30",
                "thoughtsTokenCount": "70",
                "totalTokenCount": "1300",
            },
        },
        content=[{"type": "text", "text": "ok"}],
        stop_reason="end_turn",
        usage={
            "input_tokens": 200,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1000,
            "output_tokens": 100,
            "output_tokens_details": {"thinking_tokens": 70},
        },
    ),
]


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=lambda case: case.id)
def test_from_generate_response(case: ResponseCase) -> None:
    assert from_generate_response(case.response, model="gemini-2.5-flash", message_id="msg_1") == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "gemini-2.5-flash",
        "content": case.content,
        "stop_reason": case.stop_reason,
        "stop_sequence": None,
        "usage": case.usage,
    }


def test_from_generate_response_mints_ids() -> None:
    message = from_generate_response(
        gemini_response([{"functionCall": {"name": "now", "args": {}}}]), model="gemini-2.5-flash"
    )
    assert re.fullmatch(r"msg_[A-Za-z0-9]{24}", message["id"])
    assert re.fullmatch(r"toolu_[A-Za-z0-9]{24}", message["content"][0]["id"])
    assert message["content"][0]["input"] == {}


def test_thought_signature_round_trips_through_tool_use_id() -> None:
    """A signed functionCall comes back to Gemini with its signature on the next turn."""
    signed_call = {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": "Zm9v/+==",
    }
    message = from_generate_response(gemini_response([signed_call]), model="gemini-2.5-flash")
    tool_use = message["content"][0]
    _, request = to_generate_request(
        body(
            messages=[
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": message["content"]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "18C"}],
                },
            ]
        )
    )
    model_part = request["contents"][1]["parts"][0]
    response_part = request["contents"][2]["parts"][0]
    assert model_part["thoughtSignature"] == "Zm9v/+=="
    assert model_part["functionCall"]["name"] == "get_weather"
    assert response_part["functionResponse"]["id"] == model_part["functionCall"]["id"]
    assert response_part["functionResponse"]["name"] == "get_weather"


@pytest.mark.parametrize(
    ("usage_metadata", "expected"),
    [
        (None, (0, 0, 0)),
        ({"promptTokenCount": 5, "toolUsePromptTokenCount": 3, "candidatesTokenCount": 2}, (8, 0, 2)),
        ({"promptTokenCount": 5, "cachedContentTokenCount": 5, "thoughtsTokenCount": 4}, (0, 5, 4)),
    ],
    ids=["absent", "tool_use_prompt_is_input", "all_cached"],
)
def test_map_usage(usage_metadata: JSON | None, expected: tuple[int, int, int]) -> None:
    usage = map_usage(usage_metadata)
    assert (usage["input_tokens"], usage["cache_read_input_tokens"], usage["output_tokens"]) == expected


# ------------------------------------------------------------------------------------------------------------
# Errors and models
# ------------------------------------------------------------------------------------------------------------


def google_error(code: int, status: str, message: str, details: list[JSON] | None = None) -> JSON:
    return {"error": {"code": code, "message": message, "status": status, "details": details or []}}


@dataclass(frozen=True)
class ErrorCase:
    id: str
    status: int
    body: JSON | None
    error_class: type[GatewayError]
    message: str
    headers: dict[str, str] = field(default_factory=dict)


ERROR_CASES = [
    ErrorCase(
        "invalid_argument",
        400,
        google_error(400, "INVALID_ARGUMENT", "Bad field"),
        InvalidRequestError,
        "Gemini API error (INVALID_ARGUMENT): Bad field",
    ),
    ErrorCase(
        "resource_exhausted_with_retry",
        429,
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded",
            [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31.5s"}],
        ),
        RateLimitError,
        "Gemini API error (RESOURCE_EXHAUSTED): Quota exceeded",
        {"retry-after": "32"},
    ),
    ErrorCase(
        "api_key_invalid_is_the_gateways_credentials",
        400,
        google_error(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        ),
        UpstreamError,
        "the gateway's gemini credentials were rejected by the upstream; the gateway's configuration needs fixing "
        "(the caller's API key is not at fault)",
        {"x-should-retry": "false"},
    ),
    ErrorCase(
        "secrets_redacted",
        403,
        google_error(
            403,
            "PERMISSION_DENIED",
            "Key AIzaSyA1234567890abcdefghijklmnopqrstuv denied for "
            "https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSecret&alt=json",
        ),
        PermissionDeniedError,
        "Gemini API error (PERMISSION_DENIED): Key [redacted] denied for "
        "https://generativelanguage.googleapis.com/v1beta/models?key=[redacted]&alt=json",
    ),
    ErrorCase(
        "not_found",
        404,
        google_error(404, "NOT_FOUND", "no model"),
        NotFoundError,
        "Gemini API error (NOT_FOUND): no model",
    ),
    ErrorCase(
        "unavailable_is_overloaded",
        503,
        google_error(503, "UNAVAILABLE", "The model is overloaded."),
        OverloadedError,
        "Gemini API error (UNAVAILABLE): The model is overloaded.",
    ),
    ErrorCase("no_envelope_5xx", 500, None, UpstreamError, "Gemini API error (HTTP 500)"),
    ErrorCase("no_envelope_4xx", 418, {"oops": 1}, InvalidRequestError, "Gemini API error (HTTP 418)"),
    ErrorCase(
        "error_in_stream_uses_envelope_code",
        200,
        google_error(429, "RESOURCE_EXHAUSTED", "slow down"),
        RateLimitError,
        "Gemini API error (RESOURCE_EXHAUSTED): slow down",
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.id)
def test_from_gemini_error(case: ErrorCase) -> None:
    error = from_gemini_error(case.status, case.body)
    assert type(error) is case.error_class
    assert error.message == case.message
    assert error.headers == case.headers


def test_from_models_list() -> None:
    response = {
        "models": [
            {
                "name": "models/gemini-2.5-flash",
                "displayName": "Gemini 2.5 Flash",
                "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"],
            },
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
            {"name": "models/gemini-x"},
        ],
        "nextPageToken": "t",
    }
    assert from_models_list(response) == [
        {
            "type": "model",
            "id": "gemini-2.5-flash",
            "display_name": "Gemini 2.5 Flash",
            "created_at": "1970-01-01T00:00:00Z",
        },
        {"type": "model", "id": "gemini-x", "display_name": "gemini-x", "created_at": "1970-01-01T00:00:00Z"},
    ]
