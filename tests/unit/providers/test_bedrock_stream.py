"""Bedrock streams -> Anthropic SSE: InvokeModel chunks, ConverseStream events, exception frames.

The Converse input events are validated against botocore's ``ConverseStreamOutput`` shapes, and the SSE we
produce is read back by the official anthropic SDK, so both ends are proven against their owners' code.
"""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import httpx2
import orjson
import pytest

from finops.core import errors
from finops.core.errors import UpstreamError
from finops.providers.bedrock.errors import from_bedrock_error
from finops.providers.bedrock.eventstream import EventStreamDecoder
from finops.providers.bedrock.stream import (
    ConverseStreamTranslator,
    InvokeStreamTranslator,
    invoke_stream_events,
)
from finops.providers.sse import encode_sse
from finops.providers.upstream_errors import in_stream
from tests.unit.providers.test_bedrock_eventstream import event_frame, exception_frame
from tests.unit.providers.test_bedrock_shapes import assert_valid_converse_stream_event

JSON = dict[str, Any]
MODEL = "amazon.nova-lite-v1:0"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def sdk_final_message(sse: bytes) -> anthropic.types.Message:
    """What the official anthropic SDK makes of our SSE bytes."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse)

    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://gateway.test",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    with client.messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]) as stream:
        return stream.get_final_message()


def test_encode_sse() -> None:
    assert encode_sse("message_stop", {"type": "message_stop"}) == (
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    assert (
        encode_sse("content_block_delta", {"text": "é"})
        == 'event: content_block_delta\ndata: {"text":"é"}\n\n'.encode()
    )


# ------------------------------------------------------------------------------------------------------------
# InvokeModelWithResponseStream
# ------------------------------------------------------------------------------------------------------------


def chunk(event: JSON, padding: str | None = "abcdefghij") -> JSON:
    """A ``chunk`` payload as Bedrock sends it: base64 JSON plus a random-length padding field."""
    payload: JSON = {"bytes": base64.b64encode(orjson.dumps(event)).decode()}
    if padding is not None:
        payload["p"] = padding
    return payload


INVOKE_MESSAGE_START = {
    "type": "message_start",
    "message": {
        "id": "msg_bdrk_01XYZ",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-haiku-20240307",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "cache_read_input_tokens": 7, "output_tokens": 1},
    },
}
INVOKE_EVENTS = [
    INVOKE_MESSAGE_START,
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 12},
    },
    {
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 25,
            "outputTokenCount": 12,
            "invocationLatency": 500,
            "firstByteLatency": 200,
        },
    },
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(chunk({"type": "ping"}), ("ping", {"type": "ping"}), id="padding_ignored"),
        pytest.param(chunk({"type": "ping"}, padding=None), ("ping", {"type": "ping"}), id="no_padding"),
        pytest.param(
            chunk(INVOKE_EVENTS[-1]), ("message_stop", {"type": "message_stop"}), id="invocation_metrics_stripped"
        ),
        pytest.param({"p": "abc"}, None, id="no_bytes"),
    ],
)
def test_invoke_stream_events(payload: JSON, expected: tuple[str, JSON] | None) -> None:
    assert invoke_stream_events(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"bytes": "!!not base64!!"}, id="bad_base64"),
        pytest.param({"bytes": base64.b64encode(b"not json").decode()}, id="not_json"),
        pytest.param({"bytes": base64.b64encode(b'{"no":"type"}').decode()}, id="no_type"),
    ],
)
def test_invoke_stream_events_rejects_garbage(payload: JSON) -> None:
    with pytest.raises(UpstreamError):
        invoke_stream_events(payload)


def test_invoke_stream_translator() -> None:
    translator = InvokeStreamTranslator(CLAUDE)
    events = [event for raw in INVOKE_EVENTS for event in translator.feed(chunk(raw))]

    expected_start = {**INVOKE_MESSAGE_START, "message": {**INVOKE_MESSAGE_START["message"], "model": CLAUDE}}
    assert events == [
        ("message_start", expected_start),
        *[(raw["type"], raw) for raw in INVOKE_EVENTS[1:-1]],
        ("message_stop", {"type": "message_stop"}),
    ]
    message = sdk_final_message(b"".join(encode_sse(name, data) for name, data in events))
    assert message.model == CLAUDE
    assert message.content[0].text == "Hello"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (25, 12)


def test_invoke_stream_translator_message_id_override() -> None:
    translator = InvokeStreamTranslator(CLAUDE, message_id="msg_gateway")
    [(_, start)] = translator.feed(chunk(INVOKE_MESSAGE_START))
    assert start["message"]["id"] == "msg_gateway"


# ------------------------------------------------------------------------------------------------------------
# ConverseStream
# ------------------------------------------------------------------------------------------------------------

CONVERSE_TEXT_AND_TOOL = [
    ("messageStart", {"role": "assistant"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me "}}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "check."}}),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    (
        "contentBlockStart",
        {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}},
    ),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city":'}}}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": ' "Paris"}'}}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    ("messageStop", {"stopReason": "tool_use"}),
    (
        "metadata",
        {
            "usage": {"inputTokens": 30, "outputTokens": 20, "totalTokens": 55, "cacheReadInputTokens": 5},
            "metrics": {"latencyMs": 100},
        },
    ),
]

MESSAGE_START = (
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        },
    },
)


def _block_start(index: int, block: JSON) -> tuple[str, JSON]:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: JSON) -> tuple[str, JSON]:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def _block_stop(index: int) -> tuple[str, JSON]:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


def _message_end(stop_reason: str, usage: JSON) -> list[tuple[str, JSON]]:
    return [
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def _usage(input_tokens: int = 0, output_tokens: int = 0, cache_write: int = 0, cache_read: int = 0) -> JSON:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
    }


def _run(events: list[tuple[str, JSON]], *, finish: bool = True) -> tuple[list[tuple[str, JSON]], JSON]:
    translator = ConverseStreamTranslator(model=MODEL, message_id="msg_test")
    out = [event for name, payload in events for event in translator.feed(name, {**payload, "p": "pad"})]
    if finish:
        out += translator.finish()
    return out, translator.usage


def test_converse_input_fixtures_match_botocore_shapes() -> None:
    for name, payload in CONVERSE_TEXT_AND_TOOL:
        assert_valid_converse_stream_event(name, payload)


def test_converse_stream_text_and_tool_use() -> None:
    events, usage = _run(CONVERSE_TEXT_AND_TOOL)
    expected_usage = _usage(30, 20, cache_read=5)
    assert events == [
        MESSAGE_START,
        _block_start(0, {"type": "text", "text": ""}),
        _delta(0, {"type": "text_delta", "text": "Let me "}),
        _delta(0, {"type": "text_delta", "text": "check."}),
        _block_stop(0),
        _block_start(1, {"type": "tool_use", "id": "tooluse_1", "name": "get_weather", "input": {}}),
        _delta(1, {"type": "input_json_delta", "partial_json": '{"city":'}),
        _delta(1, {"type": "input_json_delta", "partial_json": ' "Paris"}'}),
        _block_stop(1),
        *_message_end("tool_use", expected_usage),
    ]
    assert usage == expected_usage


def test_converse_stream_is_read_correctly_by_the_anthropic_sdk() -> None:
    events, _ = _run(CONVERSE_TEXT_AND_TOOL)
    message = sdk_final_message(b"".join(encode_sse(name, data) for name, data in events))
    assert message.id == "msg_test"
    assert message.model == MODEL
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[0].text == "Let me check."
    assert message.content[1].input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens) == (30, 20, 5)


CONVERSE_EDGE_CASES = [
    pytest.param(
        [
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
            ("messageStop", {"stopReason": "guardrail_intervened"}),
            (
                "metadata",
                {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}, "metrics": {"latencyMs": 1}},
            ),
        ],
        [
            MESSAGE_START,
            _block_start(0, {"type": "text", "text": ""}),
            _delta(0, {"type": "text_delta", "text": "Hi"}),
            _block_stop(0),
            *_message_end("refusal", _usage(3, 1)),
        ],
        id="no_message_start_no_block_stop_refusal",
    ),
    pytest.param(
        [
            ("messageStart", {"role": "assistant"}),
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "x"}}),
            ("contentBlockStop", {"contentBlockIndex": 1}),
            ("messageStop", {"stopReason": "max_tokens"}),
        ],
        [
            MESSAGE_START,
            _block_start(0, {"type": "text", "text": ""}),
            _delta(0, {"type": "text_delta", "text": "x"}),
            _block_stop(0),
            *_message_end("max_tokens", _usage()),
        ],
        id="empty_block_skipped_and_missing_metadata_closed_by_finish",
    ),
    pytest.param(
        [
            ("messageStart", {"role": "assistant"}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "think"}}}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig"}}}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "eA=="}}}),
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "42"}}),
            ("contentBlockStop", {"contentBlockIndex": 1}),
            ("messageStop", {"stopReason": "end_turn"}),
            (
                "metadata",
                {
                    "usage": {"inputTokens": 9, "outputTokens": 8, "totalTokens": 57, "cacheWriteInputTokens": 40},
                    "metrics": {"latencyMs": 1},
                },
            ),
        ],
        [
            MESSAGE_START,
            _block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            _delta(0, {"type": "thinking_delta", "thinking": "think"}),
            _delta(0, {"type": "signature_delta", "signature": "sig"}),
            _block_stop(0),
            _block_start(1, {"type": "redacted_thinking", "data": "eA=="}),
            _block_stop(1),
            _block_start(2, {"type": "text", "text": ""}),
            _delta(2, {"type": "text_delta", "text": "42"}),
            _block_stop(2),
            *_message_end("end_turn", _usage(9, 8, cache_write=40)),
        ],
        id="reasoning_becomes_thinking_redacted_reasoning_a_whole_block_and_cache_write",
    ),
    pytest.param(
        [
            ("messageStart", {"role": "assistant"}),
            ("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "a"}}}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{}"}}}),
            ("messageStop", {"stopReason": "malformed_tool_use"}),
            (
                "metadata",
                {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}},
            ),
            ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "late"}}),
        ],
        [
            MESSAGE_START,
            _block_start(0, {"type": "tool_use", "id": "t1", "name": "a", "input": {}}),
            _delta(0, {"type": "input_json_delta", "partial_json": "{}"}),
            _block_stop(0),
            *_message_end("end_turn", _usage(1, 1)),
        ],
        id="message_stop_closes_open_blocks_events_after_the_end_ignored",
    ),
]


@pytest.mark.parametrize(("converse_events", "expected"), CONVERSE_EDGE_CASES)
def test_converse_stream_edge_cases(converse_events: list[tuple[str, JSON]], expected: list[tuple[str, JSON]]) -> None:
    for name, payload in converse_events:
        assert_valid_converse_stream_event(name, payload)
    events, _ = _run(converse_events)
    assert events == expected


def test_converse_stream_cut_off_before_message_stop_raises() -> None:
    translator = ConverseStreamTranslator(model=MODEL)
    translator.feed("messageStart", {"role": "assistant"})
    translator.feed("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "partial"}})
    with pytest.raises(UpstreamError, match="ended before messageStop"):
        translator.finish()


def test_converse_stream_tool_delta_without_start_raises() -> None:
    translator = ConverseStreamTranslator(model=MODEL)
    with pytest.raises(UpstreamError, match="never started"):
        translator.feed("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{"}}})


def test_converse_stream_mints_a_message_id() -> None:
    [(_, start)] = ConverseStreamTranslator(model=MODEL).feed("messageStart", {"role": "assistant"})
    assert start["message"]["id"].startswith("msg_")


# ------------------------------------------------------------------------------------------------------------
# Exception frames
# ------------------------------------------------------------------------------------------------------------

STREAM_ERROR_CASES = [
    ("throttlingException", errors.RateLimitError, "overloaded_error"),
    ("validationException", errors.InvalidRequestError, "api_error"),
    ("modelStreamErrorException", errors.UpstreamError, "api_error"),
    ("internalServerException", errors.UpstreamError, "api_error"),
    ("modelTimeoutException", errors.UpstreamTimeoutError, "api_error"),
    ("serviceUnavailableException", errors.OverloadedError, "overloaded_error"),
]


@pytest.mark.parametrize(
    ("exception_type", "error_class", "event_type"), STREAM_ERROR_CASES, ids=[c[0] for c in STREAM_ERROR_CASES]
)
def test_exception_frames_map_like_http_errors(
    exception_type: str, error_class: type[errors.GatewayError], event_type: str
) -> None:
    """An exception frame names its error in the event-stream spelling; mid-stream it can only say whether
    waiting helps (``overloaded_error``) or not (``api_error``)."""
    error = from_bedrock_error(500, exception_type, {"message": "slow down"})
    assert type(error) is error_class
    assert error.message.endswith(": slow down")
    assert in_stream(error)[0] == event_type


def test_exception_frame_end_to_end() -> None:
    """Bytes off the wire -> decoder -> translator, chained as the adapter does: the events before an exception
    frame are relayed, and the frame itself becomes the gateway error its type names."""
    wire = (
        event_frame("messageStart", {"role": "assistant"})
        + event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}})
        + exception_frame("throttlingException", {"message": "Too many tokens"})
    )
    translator = ConverseStreamTranslator(model=MODEL, message_id="msg_test")
    sse: list[tuple[str, JSON]] = []
    for message_type, name, payload in EventStreamDecoder().feed(wire):
        if message_type == "event":
            sse += translator.feed(name, payload)
        else:
            error_type, message = in_stream(from_bedrock_error(500, name, payload))
            sse.append(("error", {"type": "error", "error": {"type": error_type, "message": message}}))
    assert sse == [
        MESSAGE_START,
        _block_start(0, {"type": "text", "text": ""}),
        _delta(0, {"type": "text_delta", "text": "Hel"}),
        (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Bedrock ThrottlingException: Too many tokens"},
            },
        ),
    ]
