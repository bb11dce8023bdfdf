"""Gemini streamGenerateContent chunks -> the exact Anthropic SSE event sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.core.errors import RateLimitError, UpstreamError
from finops.providers.gemini.blocks import blocks_from_events
from finops.providers.gemini.stream import GenerateStreamTranslator
from finops.providers.gemini.translate import from_generate_response
from finops.providers.sse import encode_sse

JSON = dict[str, Any]
MODEL = "gemini-2.5-flash"
# toolu_gsig_<hex("call_1")>_<base64url("c2lnLzE+")>
SIGNED_ID = "toolu_gsig_63616c6c5f31_YzJsbkx6RSs"


def chunk(parts: list[JSON] | None = None, *, finish: str | None = None, usage: JSON | None = None) -> JSON:
    data: JSON = {}
    if parts is not None or finish:
        candidate: JSON = {"content": {"role": "model", "parts": parts or []}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        data["candidates"] = [candidate]
    if usage:
        data["usageMetadata"] = usage
    return data


def message_start(input_tokens: int = 0, cache_read: int = 0) -> tuple[str, JSON]:
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": cache_read,
                    "output_tokens": 0,
                },
            },
        },
    )


def start(index: int, block: JSON) -> tuple[str, JSON]:
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, delta: JSON) -> tuple[str, JSON]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def stop(index: int) -> tuple[str, JSON]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def message_end(
    stop_reason: str, input_tokens: int, output_tokens: int, cache_read: int = 0, **details: JSON
) -> list[tuple[str, JSON]]:
    """``details``: the usage breakdowns the delta carries (``output_tokens_details``, ``server_tool_use``)."""
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": cache_read,
                    "output_tokens": output_tokens,
                    **details,
                },
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


TEXT = {"type": "text", "text": ""}
THINKING = {"type": "thinking", "thinking": "", "signature": ""}


@dataclass(frozen=True)
class StreamCase:
    id: str
    chunks: list[JSON]
    events: list[tuple[str, JSON]]


STREAM_CASES = [
    StreamCase(
        id="text",
        chunks=[
            chunk([{"text": "Hel"}], usage={"promptTokenCount": 10, "totalTokenCount": 10}),
            chunk([{"text": "lo"}], finish="STOP", usage={"promptTokenCount": 10, "candidatesTokenCount": 2}),
        ],
        events=[
            message_start(10),
            start(0, TEXT),
            delta(0, {"type": "text_delta", "text": "Hel"}),
            delta(0, {"type": "text_delta", "text": "lo"}),
            stop(0),
            *message_end("end_turn", 10, 2),
        ],
    ),
    StreamCase(
        id="thinking_text_and_signed_function_call",
        chunks=[
            chunk([{"text": "Plan", "thought": True}], usage={"promptTokenCount": 20, "cachedContentTokenCount": 5}),
            chunk([{"text": "ning", "thought": True}]),
            chunk([{"text": "I'll check.", "thoughtSignature": "SIG"}]),
            chunk(
                [
                    {
                        "functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}},
                        "thoughtSignature": "c2lnLzE+",
                    }
                ],
                finish="STOP",
                usage={
                    "promptTokenCount": "20",
                    "cachedContentTokenCount": "5",
                    "candidatesTokenCount": "8",
                    "thoughtsTokenCount": "12",
                },
            ),
        ],
        events=[
            message_start(15, 5),
            start(0, THINKING),
            delta(0, {"type": "thinking_delta", "thinking": "Plan"}),
            delta(0, {"type": "thinking_delta", "thinking": "ning"}),
            delta(0, {"type": "signature_delta", "signature": "SIG"}),
            stop(0),
            start(1, TEXT),
            delta(1, {"type": "text_delta", "text": "I'll check."}),
            stop(1),
            start(2, {"type": "tool_use", "id": SIGNED_ID, "name": "get_weather", "input": {}}),
            delta(2, {"type": "input_json_delta", "partial_json": '{"city":"Paris"}'}),
            stop(2),
            *message_end("tool_use", 15, 20, cache_read=5, output_tokens_details={"thinking_tokens": 12}),
        ],
    ),
    StreamCase(
        id="two_function_calls_in_one_chunk",
        chunks=[
            chunk(
                [
                    {"functionCall": {"id": "a", "name": "f", "args": {}}},
                    {"functionCall": {"id": "b", "name": "g", "args": {"x": [1, 2]}}},
                ],
                finish="STOP",
                usage={"promptTokenCount": 3, "candidatesTokenCount": 4},
            ),
        ],
        events=[
            message_start(3),
            start(0, {"type": "tool_use", "id": "a", "name": "f", "input": {}}),
            delta(0, {"type": "input_json_delta", "partial_json": "{}"}),
            stop(0),
            start(1, {"type": "tool_use", "id": "b", "name": "g", "input": {}}),
            delta(1, {"type": "input_json_delta", "partial_json": '{"x":[1,2]}'}),
            stop(1),
            *message_end("tool_use", 3, 4),
        ],
    ),
    StreamCase(
        id="empty_text_and_usage_only_chunks_open_no_block",
        chunks=[
            chunk([{"text": ""}, {"text": "", "thought": True}], usage={"promptTokenCount": 2}),
            chunk([{"text": "ok"}]),
            chunk([{"text": "", "thoughtSignature": "S"}], finish="MAX_TOKENS"),
            chunk(usage={"promptTokenCount": 2, "candidatesTokenCount": 1}),
        ],
        events=[
            message_start(2),
            start(0, TEXT),
            delta(0, {"type": "text_delta", "text": "ok"}),
            stop(0),
            *message_end("max_tokens", 2, 1),
        ],
    ),
    StreamCase(
        id="safety_mid_stream_is_refusal",
        chunks=[
            chunk([{"text": "Sure, "}], usage={"promptTokenCount": 6}),
            chunk([], finish="SAFETY", usage={"promptTokenCount": 6, "candidatesTokenCount": 2}),
        ],
        events=[
            message_start(6),
            start(0, TEXT),
            delta(0, {"type": "text_delta", "text": "Sure, "}),
            stop(0),
            *message_end("refusal", 6, 2),
        ],
    ),
    StreamCase(
        id="prompt_blocked",
        chunks=[{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 4}}],
        events=[message_start(4), *message_end("refusal", 4, 0)],
    ),
    StreamCase(
        id="no_text_but_finished",
        chunks=[
            {
                "candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 2},
            }
        ],
        events=[message_start(2), *message_end("end_turn", 2, 0)],
    ),
]


def run(chunks: list[JSON]) -> tuple[GenerateStreamTranslator, list[tuple[str, JSON]]]:
    translator = GenerateStreamTranslator(model=MODEL, message_id="msg_1")
    events: list[tuple[str, JSON]] = []
    for data in chunks:
        events += translator.feed(data)
    events += translator.finish()
    return translator, events


@pytest.mark.parametrize("case", STREAM_CASES, ids=lambda case: case.id)
def test_stream_events(case: StreamCase) -> None:
    _, events = run(case.chunks)
    assert events == case.events


def merge_chunks(chunks: list[JSON]) -> JSON:
    """The non-streaming response a stream adds up to: all parts, the last finishReason and usageMetadata."""
    merged: JSON = {}
    candidate: JSON | None = None
    for data in chunks:
        for streamed in data.get("candidates", []):
            candidate = candidate or {"content": {"role": "model", "parts": []}}
            candidate["content"]["parts"] += streamed["content"]["parts"]
            if streamed.get("finishReason"):
                candidate["finishReason"] = streamed["finishReason"]
        for key in ("usageMetadata", "promptFeedback"):
            if key in data:
                merged[key] = data[key]
    if candidate is not None:
        merged["candidates"] = [candidate]
    return merged


@pytest.mark.parametrize("case", STREAM_CASES, ids=lambda case: case.id)
def test_stream_matches_non_streaming(case: StreamCase) -> None:
    """One mapping: the streamed blocks equal the Message built from the same parts in one response."""
    translator, events = run(case.chunks)
    message = from_generate_response(merge_chunks(case.chunks), model=MODEL, message_id="msg_1")
    assert blocks_from_events(events) == message["content"]
    assert translator.stop_reason == message["stop_reason"]
    assert translator.usage == message["usage"]


def test_usage_attribute_and_finish_is_idempotent() -> None:
    translator, _ = run(STREAM_CASES[1].chunks)
    assert translator.usage == {
        "input_tokens": 15,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 5,
        "output_tokens": 20,
        "output_tokens_details": {"thinking_tokens": 12},
    }
    assert translator.finish() == []
    assert translator.feed(chunk([{"text": "late"}])) == []


def test_error_chunk_raises_gateway_error() -> None:
    translator = GenerateStreamTranslator(model=MODEL)
    translator.feed(chunk([{"text": "a"}]))
    with pytest.raises(RateLimitError, match="RESOURCE_EXHAUSTED"):
        translator.feed({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})


def test_minted_message_id() -> None:
    translator = GenerateStreamTranslator(model=MODEL)
    (name, data), *_ = translator.feed(chunk([{"text": "a"}]))
    assert name == "message_start"
    assert data["message"]["id"].startswith("msg_")


def test_encode_sse() -> None:
    assert encode_sse("content_block_stop", {"type": "content_block_stop", "index": 0}) == (
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    )


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([], id="nothing"),
        pytest.param([{"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}], id="mid_answer"),
    ],
)
def test_a_stream_cut_before_its_finish_reason_raises(chunks: list[JSON]) -> None:
    """Gemini's last chunk always has a finish reason (or the prompt was blocked): without one, the connection
    ended early and the answer must not pass for a whole one."""
    translator = GenerateStreamTranslator(model=MODEL)
    for chunk in chunks:
        translator.feed(chunk)
    with pytest.raises(UpstreamError, match="before a finish reason"):
        translator.finish()
