"""Converse answers read back as Anthropic answers, streamed and not, where the request's translation changed their
shape: the forced answer tool of structured output on Nova, omitted thinking, redacted reasoning, citations, and
the cache writes' TTL split. Fixtures are checked against botocore's ``bedrock-runtime`` model."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from finops.providers.bedrock.answers import from_converse_response, from_converse_usage
from finops.providers.bedrock.stream import ConverseStreamTranslator
from finops.providers.bedrock.translate import ANSWER_TOOL, AnswerShape
from finops.providers.usage import fold_usage
from tests.unit.providers.test_bedrock_shapes import assert_valid_converse_response, assert_valid_converse_stream_event

JSON = dict[str, Any]
JSON_ANSWER = AnswerShape(json_tool=ANSWER_TOOL)
PLAIN = AnswerShape()
WEATHER = {"city": "Paris", "temperature_c": 18, "conditions": "sunny"}


def _response(content: list[JSON], stop_reason: str = "end_turn", **usage: Any) -> JSON:
    response = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15, **usage},
        "metrics": {"latencyMs": 1},
    }
    assert_valid_converse_response(response)
    return response


def _answer_call(tool_input: JSON, name: str = ANSWER_TOOL) -> JSON:
    return {"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": tool_input}}


def _read(response: JSON, shape: AnswerShape = PLAIN) -> JSON:
    return from_converse_response(response, model="amazon.nova-lite-v1:0", message_id="msg_1", shape=shape)


# -- structured output through the answer tool ----------------------------------------------------------------


def test_the_answer_tool_call_is_the_answers_json_text() -> None:
    message = _read(_response([{"text": "Here it is:"}, _answer_call(WEATHER)], "tool_use"), JSON_ANSWER)
    assert message["content"] == [{"type": "text", "text": orjson.dumps(WEATHER).decode()}]
    assert message["stop_reason"] == "end_turn"
    assert orjson.loads(message["content"][0]["text"]) == WEATHER


def test_a_user_tool_called_instead_of_the_answer_tool_stays_a_tool_use() -> None:
    response = _response([{"text": "Checking."}, _answer_call({"city": "Paris"}, name="get_weather")], "tool_use")
    message = _read(response, JSON_ANSWER)
    assert [block["type"] for block in message["content"]] == ["text", "tool_use"]
    assert message["stop_reason"] == "tool_use"


def test_without_the_answer_tool_a_tool_use_stop_is_kept() -> None:
    # A request without structured output: a tool_use stop with no tool call (an odd upstream) is not rewritten.
    assert _read(_response([{"text": "x"}], "tool_use"))["stop_reason"] == "tool_use"


# -- reasoning, citations, usage ------------------------------------------------------------------------------

REDACTED = base64.b64encode(b"secret").decode()


def test_omitted_thinking_keeps_the_signature_and_empties_the_text() -> None:
    reasoning = {"reasoningContent": {"reasoningText": {"text": "step 1", "signature": "sig"}}}
    message = _read(_response([reasoning, {"text": "42"}]), AnswerShape(hide_thinking=True))
    assert message["content"][0] == {"type": "thinking", "thinking": "", "signature": "sig"}


def test_citations_become_anthropic_citations() -> None:
    cited = {
        "citationsContent": {
            "content": [{"text": "Paris is sunny."}],
            "citations": [
                {
                    "title": "Report",
                    "sourceContent": [{"text": "Sunny in Paris"}],
                    "location": {"documentChar": {"documentIndex": 0, "start": 10, "end": 24}},
                },
                {
                    "title": "Slides",
                    "sourceContent": [{"text": "page two"}],
                    "location": {"documentPage": {"documentIndex": 1, "start": 2, "end": 3}},
                },
                {
                    "title": "Notes",
                    "sourceContent": [{"text": "chunk"}],
                    "location": {"documentChunk": {"documentIndex": 2, "start": 0, "end": 1}},
                },
                {
                    "title": "Paris weather",
                    "source": "https://example.com/paris",
                    "sourceContent": [{"text": "Sunny"}],
                    "location": {"searchResultLocation": {"searchResultIndex": 0, "start": 0, "end": 0}},
                },
            ],
        }
    }
    message = _read(_response([cited]))
    assert message["content"] == [
        {
            "type": "text",
            "text": "Paris is sunny.",
            "citations": [
                {
                    "type": "char_location",
                    "cited_text": "Sunny in Paris",
                    "document_index": 0,
                    "document_title": "Report",
                    "start_char_index": 10,
                    "end_char_index": 24,
                },
                {
                    "type": "page_location",
                    "cited_text": "page two",
                    "document_index": 1,
                    "document_title": "Slides",
                    "start_page_number": 2,
                    "end_page_number": 3,
                },
                {
                    "type": "content_block_location",
                    "cited_text": "chunk",
                    "document_index": 2,
                    "document_title": "Notes",
                    "start_block_index": 0,
                    "end_block_index": 1,
                },
                {
                    "type": "search_result_location",
                    "cited_text": "Sunny",
                    "search_result_index": 0,
                    "source": "https://example.com/paris",
                    "title": "Paris weather",
                    "start_block_index": 0,
                    "end_block_index": 0,
                },
            ],
        }
    ]


def test_cache_writes_are_split_by_ttl_for_pricing() -> None:
    usage = from_converse_usage(
        {
            "inputTokens": 3,
            "outputTokens": 5,
            "totalTokens": 1508,
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 1500,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 1000}, {"ttl": "5m", "inputTokens": 500}],
        }
    )
    assert usage == {
        "input_tokens": 3,
        "output_tokens": 5,
        "cache_creation_input_tokens": 1500,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1000},
    }


# -- streams --------------------------------------------------------------------------------------------------

METADATA = (
    "metadata",
    {"usage": {"inputTokens": 9, "outputTokens": 8, "totalTokens": 17}, "metrics": {"latencyMs": 1}},
)


def _stream(events: list[tuple[str, JSON]], shape: AnswerShape = PLAIN) -> tuple[list[tuple[str, JSON]], JSON]:
    translator = ConverseStreamTranslator(model="amazon.nova-lite-v1:0", message_id="msg_1", shape=shape)
    out: list[tuple[str, JSON]] = []
    for name, payload in events:
        assert_valid_converse_stream_event(name, payload)
        out += translator.feed(name, payload)
    out += translator.finish()
    return out, translator.usage


def _final(events: list[tuple[str, JSON]]) -> JSON:
    """The message an SDK assembles from the events (text, tool input and thinking concatenated)."""
    blocks: dict[int, JSON] = {}
    usage: JSON | None = None
    stop = None
    for name, data in events:
        if name == "message_start":
            usage = data["message"]["usage"]
        elif name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
        elif name == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                block["partial"] = block.get("partial", "") + delta["partial_json"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "citations_delta":
                block.setdefault("citations", []).append(delta["citation"])  # as the SDKs accumulate it
        elif name == "message_delta":
            stop = data["delta"]["stop_reason"]
            usage = fold_usage(usage, data["usage"])
    return {"content": [blocks[index] for index in sorted(blocks)], "stop_reason": stop, "usage": usage}


def _tool_stream(name: str, text_first: bool = True) -> list[tuple[str, JSON]]:
    fragments = [orjson.dumps(WEATHER).decode()[i : i + 10] for i in range(0, 60, 10)]
    events: list[tuple[str, JSON]] = [("messageStart", {"role": "assistant"})]
    if text_first:
        events += [
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Here is "}}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "the answer."}}),
            ("contentBlockStop", {"contentBlockIndex": 0}),
        ]
    events.append(
        ("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": name}}})
    )
    events += [
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": fragment}}})
        for fragment in fragments
        if fragment
    ]
    events += [("contentBlockStop", {"contentBlockIndex": 1}), ("messageStop", {"stopReason": "tool_use"}), METADATA]
    return events


def test_a_streamed_answer_tool_call_streams_as_the_answers_text() -> None:
    events, usage = _stream(_tool_stream(ANSWER_TOOL), JSON_ANSWER)
    final = _final(events)
    assert final["content"] == [{"type": "text", "text": orjson.dumps(WEATHER).decode()}]
    assert final["stop_reason"] == "end_turn"
    assert final["usage"]["input_tokens"] == usage["input_tokens"] == 9


def test_held_text_is_released_before_a_user_tool_call_when_no_answer_tool_comes() -> None:
    events, _ = _stream(_tool_stream("get_weather"), JSON_ANSWER)
    final = _final(events)
    assert [block["type"] for block in final["content"]] == ["text", "tool_use"]
    assert final["content"][0]["text"] == "Here is the answer."
    assert orjson.loads(final["content"][1]["partial"]) == WEATHER
    assert final["stop_reason"] == "tool_use"


def test_held_text_is_released_at_the_end_when_the_model_answered_in_words() -> None:
    events = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "I cannot."}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        METADATA,
    ]
    final = _final(_stream(events, JSON_ANSWER)[0])
    assert final["content"] == [{"type": "text", "text": "I cannot."}]


def test_streamed_citations_redacted_reasoning_and_omitted_thinking() -> None:
    citation = {
        "title": "Report",
        "sourceContent": [{"text": "Sunny"}],
        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 5}},
    }
    events = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig"}}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"reasoningContent": {"redactedContent": REDACTED}}}),
        ("contentBlockStop", {"contentBlockIndex": 1}),
        ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"text": "It is sunny."}}),
        ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"citation": citation}}),
        ("contentBlockStop", {"contentBlockIndex": 2}),
        ("messageStop", {"stopReason": "end_turn"}),
        METADATA,
    ]
    final = _final(_stream(events, AnswerShape(hide_thinking=True))[0])
    assert final["content"] == [
        {"type": "thinking", "thinking": "", "signature": "sig"},
        {"type": "redacted_thinking", "data": REDACTED},
        {
            "type": "text",
            "text": "It is sunny.",
            "citations": [
                {
                    "type": "char_location",
                    "cited_text": "Sunny",
                    "document_index": 0,
                    "document_title": "Report",
                    "start_char_index": 0,
                    "end_char_index": 5,
                }
            ],
        },
    ]


@pytest.mark.parametrize("shape", [PLAIN, JSON_ANSWER])
def test_every_stream_is_a_complete_anthropic_sequence(shape: AnswerShape) -> None:
    events, _ = _stream(_tool_stream(ANSWER_TOOL), shape)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    starts = [data["index"] for name, data in events if name == "content_block_start"]
    stops = [data["index"] for name, data in events if name == "content_block_stop"]
    assert starts == sorted(starts) == list(range(len(starts))) and sorted(stops) == starts
