"""OpenAI chat.completion.chunk streams -> the exact Anthropic SSE event sequence, as named cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from finops.core.errors import GatewayError, RateLimitError
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.sse import encode_sse

JSON = dict[str, Any]

MODEL = "gpt-4o"
MESSAGE_ID = "msg_stream"


def chunk(delta: JSON | None = None, finish_reason: str | None = None) -> JSON:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}],
    }


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> JSON:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def tool_delta(index: int, *, call_id: str | None = None, name: str | None = None, arguments: str = "") -> JSON:
    tool_call: JSON = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        tool_call["id"] = call_id
        tool_call["type"] = "function"
        tool_call["function"]["name"] = name
    return {"tool_calls": [tool_call]}


def message_start(input_tokens: int = 0) -> tuple[str, JSON]:
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": MESSAGE_ID,
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 0,
                },
            },
        },
    )


def text_start(index: int) -> tuple[str, JSON]:
    return (
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
    )


def tool_start(index: int, call_id: str, name: str) -> tuple[str, JSON]:
    return (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
        },
    )


def text_delta(index: int, text: str) -> tuple[str, JSON]:
    return (
        "content_block_delta",
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}},
    )


def json_delta(index: int, partial_json: str) -> tuple[str, JSON]:
    return (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": partial_json},
        },
    )


def block_stop(index: int) -> tuple[str, JSON]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def message_end(
    stop_reason: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cached: int = 0,
    stop_sequence: str | None = None,
) -> list[tuple[str, JSON]]:
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": cached,
                    "output_tokens": output_tokens,
                },
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


@dataclass(frozen=True)
class StreamCase:
    id: str
    chunks: list[JSON]
    expected: list[tuple[str, JSON]]
    expected_usage: JSON
    input_tokens_hint: int = 0
    stop_sequences: list[str] | None = field(default=None)


def usage(input_tokens: int, output_tokens: int, cached: int = 0) -> JSON:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


STREAM_CASES = [
    StreamCase(
        id="text_then_finish_then_usage",
        chunks=[
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk(finish_reason="stop"),
            usage_chunk(12, 2),
        ],
        expected=[
            message_start(7),
            text_start(0),
            text_delta(0, "Hel"),
            text_delta(0, "lo"),
            block_stop(0),
            *message_end("end_turn", input_tokens=12, output_tokens=2),
        ],
        expected_usage=usage(12, 2),
        input_tokens_hint=7,
    ),
    StreamCase(
        id="usage_with_cached_tokens",
        chunks=[chunk({"content": "ok"}), chunk(finish_reason="length"), usage_chunk(2000, 1, cached=1920)],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "ok"),
            block_stop(0),
            *message_end("max_tokens", input_tokens=80, output_tokens=1, cached=1920),
        ],
        expected_usage=usage(80, 1, cached=1920),
    ),
    StreamCase(
        id="tool_arguments_in_fragments",
        chunks=[
            chunk({"role": "assistant", "content": None, **tool_delta(0, call_id="call_a", name="get_weather")}),
            chunk(tool_delta(0, arguments='{"ci')),
            chunk(tool_delta(0, arguments='ty": "Par')),
            chunk(tool_delta(0, arguments='is"}')),
            chunk(finish_reason="tool_calls"),
            usage_chunk(30, 9),
        ],
        expected=[
            message_start(),
            tool_start(0, "call_a", "get_weather"),
            json_delta(0, '{"ci'),
            json_delta(0, 'ty": "Par'),
            json_delta(0, 'is"}'),
            block_stop(0),
            *message_end("tool_use", input_tokens=30, output_tokens=9),
        ],
        expected_usage=usage(30, 9),
    ),
    StreamCase(
        id="text_then_two_tool_calls",
        chunks=[
            chunk({"content": "Checking both."}),
            chunk(tool_delta(0, call_id="call_a", name="get_weather", arguments='{"city":')),
            chunk(tool_delta(0, arguments='"Paris"}')),
            chunk(tool_delta(1, call_id="call_b", name="get_time", arguments="{")),
            chunk(tool_delta(1, arguments="}")),
            chunk(finish_reason="tool_calls"),
            usage_chunk(40, 20),
        ],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "Checking both."),
            block_stop(0),
            tool_start(1, "call_a", "get_weather"),
            json_delta(1, '{"city":'),
            json_delta(1, '"Paris"}'),
            block_stop(1),
            tool_start(2, "call_b", "get_time"),
            json_delta(2, "{"),
            json_delta(2, "}"),
            block_stop(2),
            *message_end("tool_use", input_tokens=40, output_tokens=20),
        ],
        expected_usage=usage(40, 20),
    ),
    StreamCase(
        id="tool_calls_with_finish_stop_still_tool_use",
        chunks=[
            chunk(tool_delta(0, call_id="call_a", name="noop", arguments="{}")),
            chunk(finish_reason="stop"),
            usage_chunk(5, 3),
        ],
        expected=[
            message_start(),
            tool_start(0, "call_a", "noop"),
            json_delta(0, "{}"),
            block_stop(0),
            *message_end("tool_use", input_tokens=5, output_tokens=3),
        ],
        expected_usage=usage(5, 3),
    ),
    StreamCase(
        id="whole_tool_calls_without_index_split_by_id",
        chunks=[
            chunk({"tool_calls": [{"id": "call_a", "function": {"name": "a", "arguments": "{}"}}]}),
            chunk({"tool_calls": [{"id": "call_b", "function": {"name": "b", "arguments": "{}"}}]}),
            chunk(finish_reason="tool_calls"),
            usage_chunk(5, 3),
        ],
        expected=[
            message_start(),
            tool_start(0, "call_a", "a"),
            json_delta(0, "{}"),
            block_stop(0),
            tool_start(1, "call_b", "b"),
            json_delta(1, "{}"),
            block_stop(1),
            *message_end("tool_use", input_tokens=5, output_tokens=3),
        ],
        expected_usage=usage(5, 3),
    ),
    StreamCase(
        id="usage_on_the_finish_chunk_itself",
        chunks=[
            chunk({"content": "x"}),
            {**chunk(finish_reason="stop"), "usage": usage_chunk(3, 1)["usage"]},
        ],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "x"),
            block_stop(0),
            *message_end("end_turn", input_tokens=3, output_tokens=1),
        ],
        expected_usage=usage(3, 1),
    ),
    StreamCase(
        id="no_usage_chunk_falls_back_to_hint",
        chunks=[chunk({"content": "x"}), chunk(finish_reason="stop")],
        expected=[
            message_start(11),
            text_start(0),
            text_delta(0, "x"),
            block_stop(0),
            *message_end("end_turn", input_tokens=11, output_tokens=0),
        ],
        expected_usage=usage(11, 0),
        input_tokens_hint=11,
    ),
    StreamCase(
        id="empty_answer_has_no_blocks",
        chunks=[chunk({"role": "assistant", "content": ""}), chunk(finish_reason="stop"), usage_chunk(4, 0)],
        expected=[message_start(), *message_end("end_turn", input_tokens=4, output_tokens=0)],
        expected_usage=usage(4, 0),
    ),
    StreamCase(
        id="no_chunks_at_all",
        chunks=[],
        expected=[message_start(), *message_end("end_turn", input_tokens=0, output_tokens=0)],
        expected_usage=usage(0, 0),
    ),
    StreamCase(
        id="content_filter_is_refusal",
        chunks=[chunk({"content": "Sure, "}), chunk(finish_reason="content_filter"), usage_chunk(4, 2)],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "Sure, "),
            block_stop(0),
            *message_end("refusal", input_tokens=4, output_tokens=2),
        ],
        expected_usage=usage(4, 2),
    ),
    StreamCase(
        id="refusal_delta_is_text_and_refusal",
        chunks=[chunk({"refusal": "I can't"}), chunk({"refusal": " help."}), chunk(finish_reason="stop")],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "I can't"),
            text_delta(0, " help."),
            block_stop(0),
            *message_end("refusal", input_tokens=0, output_tokens=0),
        ],
        expected_usage=usage(0, 0),
    ),
    StreamCase(
        id="stop_string_kept_by_compatible_server_across_chunks",
        chunks=[chunk({"content": "done EN"}), chunk({"content": "D"}), chunk(finish_reason="stop"), usage_chunk(1, 3)],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "done EN"),
            text_delta(0, "D"),
            block_stop(0),
            *message_end("stop_sequence", input_tokens=1, output_tokens=3, stop_sequence="END"),
        ],
        expected_usage=usage(1, 3),
        stop_sequences=["HALT", "END"],
    ),
    StreamCase(
        id="stop_sequences_requested_but_stripped_is_end_turn",
        chunks=[chunk({"content": "done"}), chunk(finish_reason="stop"), usage_chunk(1, 1)],
        expected=[
            message_start(),
            text_start(0),
            text_delta(0, "done"),
            block_stop(0),
            *message_end("end_turn", input_tokens=1, output_tokens=1),
        ],
        expected_usage=usage(1, 1),
        stop_sequences=["END"],
    ),
]


def run(case: StreamCase) -> tuple[list[tuple[str, JSON]], ChatStreamTranslator]:
    translator = ChatStreamTranslator(
        model=MODEL,
        message_id=MESSAGE_ID,
        input_tokens_hint=case.input_tokens_hint,
        stop_sequences=case.stop_sequences,
    )
    events: list[tuple[str, JSON]] = []
    for openai_chunk in case.chunks:
        events.extend(translator.feed(openai_chunk))
    events.extend(translator.finish())
    return events, translator


@pytest.mark.parametrize("case", STREAM_CASES, ids=lambda case: case.id)
def test_stream_event_sequence(case: StreamCase) -> None:
    events, translator = run(case)
    assert events == case.expected
    assert translator.usage == case.expected_usage


@pytest.mark.parametrize("case", STREAM_CASES, ids=lambda case: case.id)
def test_event_name_matches_data_type(case: StreamCase) -> None:
    events, _ = run(case)
    assert all(name == data["type"] for name, data in events)


def test_message_delta_waits_for_the_usage_chunk() -> None:
    translator = ChatStreamTranslator(model=MODEL, message_id=MESSAGE_ID)
    translator.feed(chunk({"content": "hi"}))
    after_finish_reason = translator.feed(chunk(finish_reason="stop"))
    after_usage = translator.feed(usage_chunk(9, 1))
    assert after_finish_reason == [] and after_usage == []
    assert translator.usage is None
    closing = translator.finish()
    assert [name for name, _ in closing] == ["content_block_stop", "message_delta", "message_stop"]
    assert closing[1][1]["usage"]["input_tokens"] == 9
    assert translator.finish() == []
    assert translator.feed(chunk({"content": "late"})) == []


def test_message_id_minted_when_not_given() -> None:
    events = ChatStreamTranslator(model=MODEL).finish()
    assert events[0][1]["message"]["id"].startswith("msg_")


def test_tool_call_without_id_gets_a_minted_one() -> None:
    translator = ChatStreamTranslator(model=MODEL, message_id=MESSAGE_ID)
    events = translator.feed(chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}))
    assert events[1][1]["content_block"]["id"].startswith("toolu_")


def test_error_object_in_stream_raises_gateway_error() -> None:
    translator = ChatStreamTranslator(model=MODEL)
    with pytest.raises(GatewayError, match=r"openai: Server error, key \[redacted\]"):
        translator.feed({"error": {"message": "Server error, key sk-abc123", "type": "server_error"}})


def test_error_class_follows_status_for_mid_stream_errors() -> None:
    # No status travels with an in-stream error; it is the upstream failing, never the caller's rate limit.
    translator = ChatStreamTranslator(model=MODEL)
    with pytest.raises(GatewayError) as raised:
        translator.feed({"error": {"message": "boom"}})
    assert not isinstance(raised.value, RateLimitError)
    assert raised.value.status_code == 500


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        pytest.param(
            "message_stop",
            {"type": "message_stop"},
            b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
            id="compact_json",
        ),
        pytest.param(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "é\n"}},
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"\xc3\xa9\\n"}}\n\n',
            id="utf8_and_escaped_newline",
        ),
    ],
)
def test_encode_sse(event: str, data: JSON, expected: bytes) -> None:
    frame = encode_sse(event, data)
    assert frame == expected
    assert orjson.loads(frame.split(b"data: ", 1)[1]) == data


@pytest.mark.parametrize("case", STREAM_CASES, ids=lambda case: case.id)
def test_official_anthropic_sdk_accumulates_the_stream(case: StreamCase) -> None:
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")  # the HTTP client anthropic 2.x is built on
    events, translator = run(case)
    sse_body = b"".join(encode_sse(name, data) for name, data in events)

    def serve(_: Any) -> Any:
        return httpx2.Response(200, content=sse_body, headers={"content-type": "text/event-stream"})

    client = anthropic.Anthropic(
        api_key="test", base_url="http://gateway.test", http_client=httpx2.Client(transport=httpx2.MockTransport(serve))
    )
    with client.messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()

    message_delta = next(data for name, data in events if name == "message_delta")
    assert final.id == MESSAGE_ID
    assert final.stop_reason == message_delta["delta"]["stop_reason"]
    assert final.stop_sequence == message_delta["delta"]["stop_sequence"]
    assert final.usage.model_dump(include=set(translator.usage or {})) == translator.usage
    assert len(final.content) == sum(name == "content_block_start" for name, _ in events)
    for index, block in enumerate(final.content):
        if block.type == "tool_use":
            fragments = [
                data["delta"]["partial_json"]
                for name, data in events
                if name == "content_block_delta" and data["index"] == index
            ]
            assert block.input == orjson.loads("".join(fragments))
