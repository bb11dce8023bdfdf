"""The relay's rules when its frames are pushed (``finops.core.push``): an upstream answering in many reads over
a real pooled connection, the relay sent a ``Push`` after its first frame as the response sends it. What the client
gets (pushed frames, then the ones returned to the task) must be what a pulled stream gives: the whole answer,
the upstream's own error event redacted, a body cut short ending in ``event: error``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from finops.core.errors import (
    GatewayError,
    OverloadedError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from finops.core.push import Push
from finops.providers.client import UpstreamClient
from finops.providers.gemini.stream import GenerateStreamTranslator, generate_events
from finops.providers.gemini.translate import gemini_fault
from finops.providers.openai.sse import chat_events
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.openai.translate import openai_fault
from finops.providers.relay import relay_events, relay_sse
from finops.providers.sse import encode_sse, parse_events
from finops.providers.upstream_errors import ErrorPolicy
from tests.support.channels import FakeChannel
from tests.support.scripted_upstream import ScriptedServer, chunked
from tests.unit.providers.test_relay import ERRORS, SECRET, anthropic_body, pieces, sdk_final_message


async def pushed(
    make_stream: Callable[[Callable[[], Awaitable[httpx.Response]]], Any],
    reply: Any,
    *,
    push_on: bool = True,
    timeout: float = 5,
) -> tuple[list[bytes], Any, int]:
    """The stream's frames as the client gets them, the stream, and how many of them were pushed (``push_on=False``:
    none, the stream is pulled as by a driver that cannot push)."""
    async with ScriptedServer(reply) as server:
        http = UpstreamClient(server.url, timeout=httpx.Timeout(timeout), limits=httpx.Limits(max_connections=1))
        async with http:

            async def open_response() -> httpx.Response:
                return await http.send(http.build_request("POST", "/v1/x", content=b"{}"), stream=True)

            stream = make_stream(open_response)
            channel = FakeChannel()
            frames = aiter(stream)
            channel.written.append(await anext(frames))
            push = Push(channel.write_chunk, channel) if push_on else None
            returned = 0
            while True:
                try:
                    channel.written.append(await frames.asend(push))
                except StopAsyncIteration:
                    break
                returned += 1
            await stream.aclose()
            return channel.written, stream, len(channel.written) - 1 - returned


def test_a_passthrough_answer_in_many_reads_arrives_byte_for_byte_mostly_pushed() -> None:
    body = anthropic_body()
    frames, stream, pushed_count = asyncio.run(
        pushed(lambda opener: relay_sse(ERRORS, opener), chunked(pieces(body, 40), pause=0.01))
    )
    assert b"".join(frames) == body
    assert all(frame.endswith(b"\n\n") for frame in frames)
    assert pushed_count >= 5
    assert stream.usage["output_tokens"] == 12 and stream.error is None
    assert sdk_final_message(b"".join(frames)).content[0].text == "Hello error-free message_ world"


def test_the_upstreams_own_error_event_is_redacted_when_pushed() -> None:
    body = anthropic_body()
    cut = body.index(b"event: content_block_stop")
    error = {"type": "error", "error": {"type": "overloaded_error", "message": f"Overloaded ({SECRET})"}}
    reply = chunked([*pieces(body[:cut], 60), encode_sse("error", error)], pause=0.01)
    frames, stream, pushed_count = asyncio.run(pushed(lambda opener: relay_sse(ERRORS, opener), reply))
    events = [(name, data) for frame in frames for name, data in parse_events(frame)]
    assert pushed_count >= 3
    assert [name for name, _ in events].count("error") == 1 and events[-1][0] == "error"
    assert orjson.loads(events[-1][1])["error"] == {"type": "overloaded_error", "message": "Overloaded ([redacted])"}
    assert isinstance(stream.error, OverloadedError)


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x"}
    return (
        b"data: "
        + orjson.dumps({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        + b"\n\n"
    )


WORDS = [f"w{index} " for index in range(12)]
CHAT = [
    chat_chunk({"role": "assistant", "content": ""}),
    *[chat_chunk({"content": word}) for word in WORDS],
    chat_chunk({}, "stop"),
    b"data: "
    + orjson.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-x",
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 12, "total_tokens": 15},
        }
    )
    + b"\n\n",
    b"data: [DONE]\n\n",
]


def translated(opener: Callable[[], Awaitable[httpx.Response]]) -> Any:
    translator = ChatStreamTranslator(model="gpt-x")
    return relay_events(ErrorPolicy("openai", [], openai_fault), chat_events(opener, translator, "openai"))


def test_a_translated_answer_in_many_reads_is_whole_and_mostly_pushed() -> None:
    frames, stream, pushed_count = asyncio.run(pushed(translated, chunked(CHAT, pause=0.01)))
    message = sdk_final_message(b"".join(frames))
    assert message.content[0].text == "".join(WORDS) and message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 12 and stream.usage["output_tokens"] == 12
    assert pushed_count >= len(WORDS) - 1


def test_a_translated_body_cut_before_done_ends_with_an_error_event() -> None:
    frames, stream, _ = asyncio.run(pushed(translated, chunked(CHAT[:6], pause=0.01, end=False)))
    events = [name for frame in frames for name, _ in parse_events(frame)]
    assert events[-1] == "error" and events.count("error") == 1 and "message_stop" not in events
    assert stream.error is not None


def test_an_error_object_mid_stream_ends_a_pushed_translation_with_an_error_event() -> None:
    failure = b"data: " + orjson.dumps({"error": {"message": "server overloaded", "type": "server_error"}}) + b"\n\n"
    frames, stream, _ = asyncio.run(pushed(translated, chunked([*CHAT[:5], failure], pause=0.01)))
    events = [(name, data) for frame in frames for name, data in parse_events(frame)]
    assert events[-1][0] == "error" and [name for name, _ in events].count("error") == 1
    assert sum(name == "content_block_delta" for name, _ in events) == 4
    assert stream.error is not None


def gemini_chunk(text: str, finish: str | None = None, output_tokens: int = 0) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    usage = {"promptTokenCount": 3, "candidatesTokenCount": output_tokens, "totalTokenCount": 3 + output_tokens}
    return b"data: " + orjson.dumps({"candidates": [candidate], "usageMetadata": usage}) + b"\r\n\r\n"


GEMINI = [
    *[gemini_chunk(word, output_tokens=index) for index, word in enumerate(WORDS[:-1])],
    gemini_chunk(WORDS[-1], "STOP", output_tokens=12),
]


def generated(opener: Callable[[], Awaitable[httpx.Response]]) -> Any:
    translator = GenerateStreamTranslator(model="gemini-x", message_id="msg_1")
    return relay_events(ErrorPolicy("gemini", [], gemini_fault), generate_events(opener, translator, "gemini"))


def as_pulled(reply: Any, timeout: float = 5) -> tuple[list[tuple[str, Any]], Any]:
    """The events a pulled Gemini stream gives the client for ``reply``, and the stream."""
    frames, stream, _ = asyncio.run(pushed(generated, reply, push_on=False, timeout=timeout))
    return parsed(frames), stream


def parsed(frames: list[bytes]) -> list[tuple[str, Any]]:
    return [(name, orjson.loads(data)) for frame in frames for name, data in parse_events(frame)]


def test_a_gemini_answer_in_many_reads_is_the_pulled_one_mostly_pushed() -> None:
    frames, stream, pushed_count = asyncio.run(pushed(generated, chunked(GEMINI, pause=0.01)))
    assert parsed(frames) == as_pulled(chunked(GEMINI, pause=0.01))[0]
    message = sdk_final_message(b"".join(frames))
    assert message.content[0].text == "".join(WORDS) and message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 12 and stream.usage["output_tokens"] == 12
    assert stream.usage["input_tokens"] == 3 and stream.error is None
    # Every read after the first is pushed; the end of the message goes back to the task (the governor's to hold).
    assert pushed_count == len(frames) - 2 and pushed_count >= len(WORDS) - 1
    assert [name for name, _ in parse_events(frames[-1])][-1] == "message_stop"


def test_a_gemini_chunk_that_is_not_json_ends_a_pushed_stream_in_one_error_event_after_what_it_read() -> None:
    # The bad event shares a read with a good one: what that read completed still goes out before the error.
    reply = chunked([*GEMINI[:5], GEMINI[5] + b"data: {not json\r\n\r\n"], pause=0.01)
    frames, stream, pushed_count = asyncio.run(pushed(generated, reply))
    events = parsed(frames)
    assert events == as_pulled(reply)[0]
    assert [name for name, _ in events].count("error") == 1 and events[-1][0] == "error"
    assert sum(name == "content_block_delta" for name, _ in events) == 6
    assert events[-1][1]["error"]["message"] == "the gemini upstream sent an unreadable stream event"
    assert isinstance(stream.error, UpstreamError) and pushed_count >= 4


@pytest.mark.parametrize(
    ("hang", "failure"),
    [(0.0, UpstreamUnavailableError), (1.0, UpstreamTimeoutError)],
    ids=["connection-closed", "read-timed-out"],
)
def test_a_gemini_body_broken_off_mid_stream_ends_as_pulled(hang: float, failure: type[GatewayError]) -> None:
    reply = chunked(GEMINI[:6], pause=0.01, end=False, hang=hang)
    frames, stream, pushed_count = asyncio.run(pushed(generated, reply, timeout=0.3))
    events = parsed(frames)
    pulled_events, pulled_stream = as_pulled(reply, timeout=0.3)
    assert events == pulled_events
    assert [name for name, _ in events].count("error") == 1 and "message_stop" not in [name for name, _ in events]
    assert sum(name == "content_block_delta" for name, _ in events) == 6
    assert type(stream.error) is failure and str(stream.error) == str(pulled_stream.error)
    assert pushed_count >= 4


def test_a_gemini_body_that_ends_before_a_finish_reason_ends_with_an_error_event() -> None:
    reply = chunked(GEMINI[:6], pause=0.01)
    frames, stream, pushed_count = asyncio.run(pushed(generated, reply))
    events = parsed(frames)
    assert events == as_pulled(reply)[0]
    assert [name for name, _ in events][-1] == "error" and "message_stop" not in [name for name, _ in events]
    assert str(stream.error) == "the gemini upstream ended its stream before a finish reason"
    assert pushed_count >= 4
