"""Anthropic Messages <-> OpenAI Chat Completions: every mapping as a named case with its exact output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from finops.core.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    UpstreamError,
)
from finops.core.params import parse_count_tokens_params, parse_message_params
from finops.providers.openai.translate import (
    from_chat_response,
    from_openai_error,
    to_chat_request,
)

JSON = dict[str, Any]

MODEL = "gpt-4o"
PNG_B64 = "iVBORw0KGgo="
PDF_B64 = "JVBERi0xLjQ="
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_FUNCTION = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": WEATHER_TOOL["input_schema"],
    },
}


def parsed(params: JSON) -> Any:
    """``params`` after the core's parse (what a translator receives): a case the API would refuse is a bad case."""
    if "max_tokens" in params:
        parse_message_params(params)
    else:
        parse_count_tokens_params(params)
    return params


def anthropic_request(messages: list[JSON], **extra: Any) -> JSON:
    return {"model": MODEL, "max_tokens": 100, "messages": messages, **extra}


def chat_request(messages: list[JSON], **extra: Any) -> JSON:
    return {"model": MODEL, "max_completion_tokens": 100, "messages": messages, **extra}


def user(content: Any) -> JSON:
    return {"role": "user", "content": content}


def assistant(content: Any) -> JSON:
    return {"role": "assistant", "content": content}


# ---------------------------------------------------------------------------------------------------------------
# to_chat_request


@dataclass(frozen=True)
class RequestCase:
    id: str
    params: JSON
    expected: JSON
    stream: bool = False


REQUEST_CASES = [
    RequestCase(
        id="plain_text_turn",
        params=anthropic_request([user("Hi")]),
        expected=chat_request([user("Hi")]),
    ),
    RequestCase(
        id="system_string",
        params=anthropic_request([user("Hi")], system="Be brief."),
        expected=chat_request([{"role": "system", "content": "Be brief."}, user("Hi")]),
    ),
    RequestCase(
        id="system_text_blocks_joined_with_newline",
        params=anthropic_request(
            [user("Hi")],
            system=[
                {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be kind."},
            ],
        ),
        expected=chat_request([{"role": "system", "content": "Be brief.\nBe kind."}, user("Hi")]),
    ),
    RequestCase(
        id="empty_system_omitted",
        params=anthropic_request([user("Hi")], system=""),
        expected=chat_request([user("Hi")]),
    ),
    RequestCase(
        id="multi_turn_and_consecutive_same_role",
        params=anthropic_request([user("a"), user("b"), assistant("c"), assistant("d"), user("e")]),
        expected=chat_request([user("a"), user("b"), assistant("c"), assistant("d"), user("e")]),
    ),
    RequestCase(
        id="text_blocks_become_text_parts",
        params=anthropic_request(
            [
                user(
                    [
                        {"type": "text", "text": "one", "cache_control": {"type": "ephemeral"}},
                        {"type": "text", "text": "two"},
                    ]
                )
            ]
        ),
        expected=chat_request([user([{"type": "text", "text": "one"}, {"type": "text", "text": "two"}])]),
    ),
    RequestCase(
        id="images_base64_and_url",
        params=anthropic_request(
            [
                user(
                    [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                        {"type": "text", "text": "Compare"},
                    ]
                )
            ]
        ),
        expected=chat_request(
            [
                user(
                    [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                        {"type": "text", "text": "Compare"},
                    ]
                )
            ]
        ),
    ),
    RequestCase(
        id="documents_pdf_titled_untitled_text_and_content",
        params=anthropic_request(
            [
                user(
                    [
                        {
                            "type": "document",
                            "title": "report.pdf",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                        },
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                        },
                        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
                        {
                            "type": "document",
                            "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]},
                        },
                        {"type": "document", "source": {"type": "content", "content": "plain"}},
                    ]
                )
            ]
        ),
        expected=chat_request(
            [
                user(
                    [
                        {"type": "text", "text": "Document title: report.pdf"},
                        {
                            "type": "file",
                            "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"},
                        },
                        {
                            "type": "file",
                            "file": {"filename": "document.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"},
                        },
                        {"type": "text", "text": "notes"},
                        {"type": "text", "text": "chunk"},
                        {"type": "text", "text": "plain"},
                    ]
                )
            ]
        ),
    ),
    RequestCase(
        id="assistant_tool_use_to_tool_calls_thinking_dropped",
        params=anthropic_request(
            [
                user("Weather in Paris?"),
                assistant(
                    [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "redacted_thinking", "data": "xx"},
                        {"type": "text", "text": "Let me "},
                        {"type": "text", "text": "check."},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Köln"}},
                    ]
                ),
            ]
        ),
        expected=chat_request(
            [
                user("Weather in Paris?"),
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Köln"}'},
                        },
                    ],
                },
            ]
        ),
    ),
    RequestCase(
        id="assistant_tool_use_only_has_null_content",
        params=anthropic_request(
            [assistant([{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}])]
        ),
        expected=chat_request(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                    ],
                }
            ]
        ),
    ),
    RequestCase(
        id="assistant_turn_of_only_thinking_omitted",
        params=anthropic_request(
            [user("a"), assistant([{"type": "thinking", "thinking": "t", "signature": "s"}]), user("b")]
        ),
        expected=chat_request([user("a"), user("b")]),
    ),
    RequestCase(
        id="tool_results_before_remaining_user_text",
        params=anthropic_request(
            [
                user(
                    [
                        {"type": "text", "text": "Thanks, and also:"},
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}],
                        },
                    ]
                )
            ]
        ),
        expected=chat_request(
            [
                {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "line 1\nline 2"},
                user([{"type": "text", "text": "Thanks, and also:"}]),
            ]
        ),
    ),
    RequestCase(
        id="tool_result_is_error_prefixed",
        params=anthropic_request(
            [
                user(
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": "city not found",
                            "is_error": True,
                        },
                        {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True},
                        {"type": "tool_result", "tool_use_id": "toolu_3", "content": "ok", "is_error": False},
                    ]
                )
            ]
        ),
        expected=chat_request(
            [
                {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: city not found"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "Error"},
                {"role": "tool", "tool_call_id": "toolu_3", "content": "ok"},
            ]
        ),
    ),
    RequestCase(
        id="tool_result_images_and_pdf_move_to_following_user_message",
        params=anthropic_request(
            [
                user(
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": [
                                {"type": "text", "text": "screenshot:"},
                                {
                                    "type": "image",
                                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                                },
                                {
                                    "type": "document",
                                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                                },
                            ],
                        },
                        {"type": "text", "text": "What do you see?"},
                    ]
                )
            ]
        ),
        expected=chat_request(
            [
                {"role": "tool", "tool_call_id": "toolu_1", "content": "screenshot:"},
                user(
                    [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                        {
                            "type": "file",
                            "file": {"filename": "document.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"},
                        },
                        {"type": "text", "text": "What do you see?"},
                    ]
                ),
            ]
        ),
    ),
    RequestCase(
        # The core swaps gateway file IDs for OpenAI's before translation; documents then ride as file parts,
        # and one inside a tool result moves to the following user message like any other media.
        id="document_file_reference_becomes_file_part",
        params=anthropic_request(
            [
                user(
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t",
                            "content": [{"type": "document", "source": {"type": "file", "file_id": "file-up1"}}],
                        },
                        {"type": "document", "source": {"type": "file", "file_id": "file-up2"}},
                    ]
                )
            ]
        ),
        expected=chat_request(
            [
                {"role": "tool", "tool_call_id": "t", "content": ""},
                user(
                    [
                        {"type": "file", "file": {"file_id": "file-up1"}},
                        {"type": "file", "file": {"file_id": "file-up2"}},
                    ]
                ),
            ]
        ),
    ),
    RequestCase(
        id="tools_and_tool_choice_auto",
        params=anthropic_request([user("Hi")], tools=[WEATHER_TOOL], tool_choice={"type": "auto"}),
        expected=chat_request([user("Hi")], tools=[WEATHER_FUNCTION], tool_choice="auto"),
    ),
    RequestCase(
        id="tool_choice_any_is_required",
        params=anthropic_request([user("Hi")], tools=[WEATHER_TOOL], tool_choice={"type": "any"}),
        expected=chat_request([user("Hi")], tools=[WEATHER_FUNCTION], tool_choice="required"),
    ),
    RequestCase(
        id="tool_choice_tool_is_named_function",
        params=anthropic_request(
            [user("Hi")], tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"}
        ),
        expected=chat_request(
            [user("Hi")],
            tools=[WEATHER_FUNCTION],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
    ),
    RequestCase(
        id="tool_choice_none",
        params=anthropic_request([user("Hi")], tools=[WEATHER_TOOL], tool_choice={"type": "none"}),
        expected=chat_request([user("Hi")], tools=[WEATHER_FUNCTION], tool_choice="none"),
    ),
    RequestCase(
        id="disable_parallel_tool_use",
        params=anthropic_request(
            [user("Hi")], tools=[WEATHER_TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}
        ),
        expected=chat_request([user("Hi")], tools=[WEATHER_FUNCTION], tool_choice="auto", parallel_tool_calls=False),
    ),
    RequestCase(
        id="tool_choice_without_tools_dropped",
        params=anthropic_request([user("Hi")], tool_choice={"type": "any", "disable_parallel_tool_use": True}),
        expected=chat_request([user("Hi")]),
    ),
    RequestCase(
        id="tool_without_description_custom_type_and_strict",
        params=anthropic_request(
            [user("Hi")],
            tools=[{"type": "custom", "name": "noop", "input_schema": {"type": "object"}, "strict": True}],
        ),
        expected=chat_request(
            [user("Hi")],
            tools=[
                {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}, "strict": True}}
            ],
        ),
    ),
    RequestCase(
        id="sampling_stop_metadata_top_k_dropped",
        params=anthropic_request(
            [user("Hi")],
            temperature=0.2,
            top_p=0.9,
            top_k=5,
            stop_sequences=["END", "STOP"],
            metadata={"user_id": "user-42"},
            service_tier="auto",
        ),
        expected=chat_request(
            [user("Hi")], temperature=0.2, top_p=0.9, stop=["END", "STOP"], safety_identifier="user-42"
        ),
    ),
    RequestCase(
        id="four_stop_sequences_allowed",
        params=anthropic_request([user("Hi")], stop_sequences=["a", "b", "c", "d"]),
        expected=chat_request([user("Hi")], stop=["a", "b", "c", "d"]),
    ),
    RequestCase(
        id="stream_adds_include_usage_params_stream_ignored",
        params=anthropic_request([user("Hi")], stream=True),
        expected=chat_request([user("Hi")], stream=True, stream_options={"include_usage": True}),
        stream=True,
    ),
    RequestCase(
        id="params_stream_flag_alone_does_not_stream",
        params=anthropic_request([user("Hi")], stream=True),
        expected=chat_request([user("Hi")]),
    ),
    RequestCase(
        id="count_tokens_body_without_max_tokens",
        params={"model": MODEL, "messages": [user("Hi")]},
        expected={"model": MODEL, "messages": [user("Hi")]},
    ),
]


@pytest.mark.parametrize("case", REQUEST_CASES, ids=lambda case: case.id)
def test_to_chat_request(case: RequestCase) -> None:
    assert to_chat_request(parsed(case.params), stream=case.stream) == case.expected


@dataclass(frozen=True)
class RejectedCase:
    id: str
    params: JSON
    message_contains: str


def image_block(source: JSON) -> JSON:
    return {"type": "image", "source": source}


REJECTED_CASES = [
    RejectedCase(
        id="more_than_four_stop_sequences",
        params=anthropic_request([user("Hi")], stop_sequences=["a", "b", "c", "d", "e"]),
        message_contains="stop_sequences: the openai provider accepts at most 4 stop sequences, got 5",
    ),
    RejectedCase(
        id="image_file_reference",
        params=anthropic_request([user([image_block({"type": "file", "file_id": "file_abc"})])]),
        message_contains="messages.0.content.0: image source of type 'file' cannot be sent",
    ),
    RejectedCase(
        id="document_by_url",
        params=anthropic_request([user([{"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}])]),
        message_contains="documents by URL are not supported by the openai provider",
    ),
    RejectedCase(
        id="unknown_user_block",
        params=anthropic_request([user([{"type": "container_upload", "file_id": "file_abc"}])]),
        message_contains="content block type 'container_upload' is not supported by the openai provider",
    ),
    RejectedCase(
        id="unknown_assistant_block",
        params=anthropic_request(
            [assistant([{"type": "server_tool_use", "id": "srvtoolu_1", "name": "code_execution", "input": {}}])]
        ),
        message_contains="content block type 'server_tool_use' is not supported in assistant turns",
    ),
    RejectedCase(
        id="server_tool",
        params=anthropic_request([user("Hi")], tools=[{"type": "code_execution_20250825", "name": "code_execution"}]),
        message_contains="'code_execution_20250825' is an Anthropic server tool",
    ),
    RejectedCase(
        id="unknown_tool_choice",
        params=anthropic_request([user("Hi")], tools=[WEATHER_TOOL], tool_choice={"type": "sometimes"}),
        message_contains="tool_choice: type 'sometimes' is not supported",
    ),
]


@pytest.mark.parametrize("case", REJECTED_CASES, ids=lambda case: case.id)
def test_to_chat_request_rejects_what_openai_cannot_express(case: RejectedCase) -> None:
    params = parsed(case.params)
    with pytest.raises(InvalidRequestError) as raised:
        to_chat_request(params)
    assert case.message_contains in raised.value.message


# ---------------------------------------------------------------------------------------------------------------
# from_chat_response


def completion(message: JSON, finish_reason: str | None = "stop", usage: JSON | None = None) -> JSON:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage if usage is not None else {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def tool_call(call_id: str, arguments: str, name: str = "get_weather") -> JSON:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


USAGE_10_5 = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def message(content: list[JSON], stop_reason: str, stop_sequence: str | None = None, usage: JSON = USAGE_10_5) -> JSON:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


@dataclass(frozen=True)
class ResponseCase:
    id: str
    response: JSON
    expected: JSON
    stop_sequences: list[str] | None = field(default=None)


RESPONSE_CASES = [
    ResponseCase(
        id="text_stop_is_end_turn",
        response=completion({"role": "assistant", "content": "Hello!"}),
        expected=message([{"type": "text", "text": "Hello!"}], "end_turn"),
    ),
    ResponseCase(
        id="length_is_max_tokens",
        response=completion({"role": "assistant", "content": "Hel"}, "length"),
        expected=message([{"type": "text", "text": "Hel"}], "max_tokens"),
    ),
    ResponseCase(
        id="content_filter_is_refusal",
        response=completion({"role": "assistant", "content": None}, "content_filter"),
        expected=message([], "refusal"),
    ),
    ResponseCase(
        id="refusal_field_is_text_and_refusal",
        response=completion({"role": "assistant", "content": None, "refusal": "I can't help with that."}),
        expected=message([{"type": "text", "text": "I can't help with that."}], "refusal"),
    ),
    ResponseCase(
        id="missing_finish_reason_is_end_turn",
        response=completion({"role": "assistant", "content": "x"}, None),
        expected=message([{"type": "text", "text": "x"}], "end_turn"),
    ),
    ResponseCase(
        id="tool_calls_with_text",
        response=completion(
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [tool_call("call_a", '{"city": "Paris"}'), tool_call("call_b", '{"city":"Rome"}')],
            },
            "tool_calls",
        ),
        expected=message(
            [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {"city": "Rome"}},
            ],
            "tool_use",
        ),
    ),
    ResponseCase(
        id="tool_calls_with_finish_stop_still_tool_use",
        response=completion({"role": "assistant", "content": "", "tool_calls": [tool_call("call_a", "{}")]}, "stop"),
        expected=message([{"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}], "tool_use"),
    ),
    ResponseCase(
        id="function_call_finish_is_tool_use",
        response=completion({"role": "assistant", "content": "x"}, "function_call"),
        expected=message([{"type": "text", "text": "x"}], "tool_use"),
    ),
    ResponseCase(
        id="invalid_or_non_object_arguments_become_empty_input",
        response=completion(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    tool_call("call_a", '{"city": "Par'),
                    tool_call("call_b", "[1]"),
                    tool_call("call_c", ""),
                ],
            },
            "length",
        ),
        expected=message(
            [
                {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}},
                {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {}},
                {"type": "tool_use", "id": "call_c", "name": "get_weather", "input": {}},
            ],
            "tool_use",
        ),
    ),
    ResponseCase(
        id="usage_with_cached_and_reasoning_tokens",
        response=completion(
            {"role": "assistant", "content": "ok"},
            usage={
                "prompt_tokens": 2006,
                "completion_tokens": 300,
                "total_tokens": 2306,
                "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 256},
            },
        ),
        expected=message(
            [{"type": "text", "text": "ok"}],
            "end_turn",
            usage={
                "input_tokens": 86,
                "output_tokens": 300,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1920,
                "output_tokens_details": {"thinking_tokens": 256},
            },
        ),
    ),
    ResponseCase(
        id="stop_sequences_but_openai_stripped_it_is_end_turn",
        response=completion({"role": "assistant", "content": "one two"}),
        expected=message([{"type": "text", "text": "one two"}], "end_turn"),
        stop_sequences=["three"],
    ),
    ResponseCase(
        id="stop_string_kept_by_compatible_server_is_stop_sequence",
        response=completion({"role": "assistant", "content": "one two three"}),
        expected=message([{"type": "text", "text": "one two three"}], "stop_sequence", "three"),
        stop_sequences=["END", "three"],
    ),
    ResponseCase(
        id="stop_string_at_end_but_length_stays_max_tokens",
        response=completion({"role": "assistant", "content": "one two three"}, "length"),
        expected=message([{"type": "text", "text": "one two three"}], "max_tokens"),
        stop_sequences=["three"],
    ),
]


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=lambda case: case.id)
def test_from_chat_response(case: ResponseCase) -> None:
    translated = from_chat_response(
        case.response, model=MODEL, message_id="msg_test", stop_sequences=case.stop_sequences
    )
    assert translated == case.expected


def test_from_chat_response_defaults_mint_id_and_report_openai_model() -> None:
    translated = from_chat_response(completion({"role": "assistant", "content": "hi"}, usage={}))
    assert translated["id"].startswith("msg_") and len(translated["id"]) == 28
    assert translated["model"] == "gpt-4o-2024-08-06"
    assert translated["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_from_chat_response_without_choices_is_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="no choices"):
        from_chat_response({"id": "chatcmpl-1", "choices": []})


# ---------------------------------------------------------------------------------------------------------------
# from_openai_error


@dataclass(frozen=True)
class ErrorCase:
    id: str
    status: int
    body: JSON | None
    error_class: type[GatewayError]
    message: str


ERROR_CASES = [
    ErrorCase(
        id="key_in_message_is_redacted",
        status=400,
        body={
            "error": {
                "message": "Incorrect API key provided: sk-proj-abc1********************xyz9. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
        error_class=InvalidRequestError,
        message="openai: Incorrect API key provided: [redacted]. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    ErrorCase(
        id="bearer_token_is_redacted",
        status=400,
        body={"error": {"message": "header was Bearer abc.def-123"}},
        error_class=InvalidRequestError,
        message="openai: header was Bearer [redacted]",
    ),
    ErrorCase(
        id="context_length",
        status=400,
        body={"error": {"message": "This model's maximum context length is 128000 tokens.", "code": "x"}},
        error_class=InvalidRequestError,
        message="openai: This model's maximum context length is 128000 tokens.",
    ),
    ErrorCase(
        id="unknown_model_404",
        status=404,
        body={"error": {"message": "The model `gpt-9` does not exist"}},
        error_class=NotFoundError,
        message="openai: The model `gpt-9` does not exist",
    ),
    ErrorCase(
        id="rate_limit",
        status=429,
        body={"error": {"message": "Rate limit reached", "type": "requests"}},
        error_class=RateLimitError,
        message="openai: Rate limit reached",
    ),
    ErrorCase(
        id="overloaded_503",
        status=503,
        body={"error": {"message": "The engine is currently overloaded"}},
        error_class=OverloadedError,
        message="openai: The engine is currently overloaded",
    ),
    ErrorCase(
        id="no_body",
        status=500,
        body=None,
        error_class=UpstreamError,
        message="openai: upstream returned HTTP 500",
    ),
    ErrorCase(
        id="error_as_string",
        status=422,
        body={"error": "bad thing"},
        error_class=InvalidRequestError,
        message="openai: bad thing",
    ),
    ErrorCase(
        id="no_message",
        status=418,
        body={"error": {"code": "teapot"}},
        error_class=InvalidRequestError,
        message="openai: upstream returned HTTP 418",
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.id)
def test_from_openai_error(case: ErrorCase) -> None:
    error = from_openai_error(case.status, case.body)
    assert type(error) is case.error_class
    assert error.message == case.message
