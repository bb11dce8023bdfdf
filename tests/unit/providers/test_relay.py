"""The one stream relay: the first-frame error rule, ``message_stop`` required, usage on the wire equal to the
usage priced, and the Anthropic passthrough (bytes untouched, cut only between events, failures as
``event: error``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anthropic
import httpx
import httpx2
import orjson
import pytest

from finops.core.errors import GatewayError, OverloadedError, UpstreamError, UpstreamUnavailableError
from finops.providers.relay import relay_events, relay_sse
from finops.providers.sse import encode_sse, message_end, message_start, parse_events
from finops.providers.upstream_errors import ErrorPolicy

JSON = dict[str, Any]
SECRET = "upstream-secret-0123456789"
ERRORS = ErrorPolicy("anthropic", [SECRET])
FULL = {"input_tokens": 25, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 7, "output_tokens": 12}


def sdk_final_message(sse: bytes) -> anthropic.types.Message:
    """What the official SDK makes of the relayed bytes (it raises on ``event: error``)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse)

    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://gateway.test",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as stream:
        return stream.get_final_message()


def collect(stream: Any) -> list[bytes]:
    async def run() -> list[bytes]:
        return [frame async for frame in stream]

    return asyncio.run(run())


def names(frames: list[bytes]) -> list[str]:
    return [name for frame in frames for name, _ in parse_events(frame)]


def last_error(frames: list[bytes]) -> JSON:
    name, data = parse_events(frames[-1])[-1]
    assert name == "error"
    return orjson.loads(data)["error"]


# -- translated streams (relay_events) ---------------------------------------------------------------------------


def translated(start_usage: JSON, end_usage: JSON) -> list[tuple[str, JSON]]:
    return [
        message_start(message_id="msg_1", model="m", usage=start_usage),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        *message_end(stop_reason="end_turn", stop_sequence=None, usage=end_usage),
    ]


async def source(
    events: list[tuple[str, JSON]], *, fail_at: int | None = None, error: Exception | None = None
) -> AsyncGenerator[tuple[str, JSON], None]:
    for position, event in enumerate(events):
        if position == fail_at:
            raise error or UpstreamError("boom")
        yield event
    if fail_at == len(events):
        raise error or UpstreamError("boom")


# Usage as each provider puts it on the wire: the relay makes both ends carry all four counts, folded as the SDK
# folds them, so the client and the ledger see the same numbers.
USAGE_SHAPES = [
    pytest.param({"input_tokens": 0}, FULL, FULL, id="openai_converse_all_counts_at_the_end"),
    pytest.param(
        {"input_tokens": 25, "cache_read_input_tokens": 7, "cache_creation_input_tokens": 3, "output_tokens": 1},
        {"output_tokens": 12},
        FULL,
        id="bedrock_invoke_output_only_in_the_delta",
    ),
    pytest.param(
        {"input_tokens": 25, "cache_read_input_tokens": 7},
        {**FULL, "cache_creation_input_tokens": 3},
        FULL,
        id="gemini_input_known_at_start",
    ),
]


@pytest.mark.parametrize(("start", "delta", "priced"), USAGE_SHAPES)
def test_usage_on_the_wire_is_the_usage_priced(start: JSON, delta: JSON, priced: JSON) -> None:
    events = translated(start, delta)
    events[-2][1]["usage"] = dict(delta)  # what the upstream said, not completed by message_end
    stream = relay_events(ERRORS, source(events))
    frames = collect(stream)

    assert stream.usage == priced and stream.error is None
    frame_data = [orjson.loads(data) for frame in frames for _, data in parse_events(frame)]
    start_usage = frame_data[0]["message"]["usage"]
    assert set(start_usage) >= set(FULL) and start_usage["input_tokens"] == start.get("input_tokens", 0)
    delta_usage = next(data for data in frame_data if data["type"] == "message_delta")["usage"]
    assert {key: delta_usage[key] for key in FULL} == priced  # a client reading only the last delta agrees
    usage = sdk_final_message(b"".join(frames)).usage
    assert {key: getattr(usage, key) for key in FULL} == priced


def test_frames_and_ping() -> None:
    frames = collect(relay_events(ERRORS, source(translated(FULL, FULL))))
    assert names(frames) == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def steps(*groups: list[tuple[str, JSON]]) -> AsyncGenerator[list[tuple[str, JSON]], None]:
    for group in groups:
        yield group


def test_the_events_of_one_upstream_read_leave_as_one_frame() -> None:
    events = translated(FULL, FULL)
    # first read: message_start, block start, first delta; last read: block stop, message_delta, message_stop
    stream = relay_events(ERRORS, steps(events[:3], events[3:]))
    frames = collect(stream)

    assert len(frames) == 2
    assert [name for name, _ in parse_events(frames[0])] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
    ]
    assert [name for name, _ in parse_events(frames[1])] == ["content_block_stop", "message_delta", "message_stop"]
    assert stream.usage == FULL and stream.error is None
    assert sdk_final_message(b"".join(frames)).content[0].text == "Hi"  # type: ignore[union-attr]


def test_an_error_before_the_first_frame_raises_redacted() -> None:
    stream = relay_events(ERRORS, source(translated(FULL, FULL), fail_at=0, error=OverloadedError(f"no {SECRET}")))
    with pytest.raises(OverloadedError) as raised:
        collect(stream)
    assert raised.value.message == "no [redacted]"


@pytest.mark.parametrize(
    ("error", "event_type"),
    [(OverloadedError("busy"), "overloaded_error"), (UpstreamError(f"broken {SECRET}"), "api_error")],
)
def test_an_error_after_the_first_frame_ends_the_stream_with_an_error_event(
    error: GatewayError, event_type: str
) -> None:
    stream = relay_events(ERRORS, source(translated(FULL, FULL), fail_at=3, error=error))
    frames = collect(stream)
    assert names(frames)[:3] == ["message_start", "ping", "content_block_start"]
    assert last_error(frames)["type"] == event_type and SECRET not in last_error(frames)["message"]
    assert stream.error is not None and stream.usage is not None  # priced as far as it went
    with pytest.raises(anthropic.APIStatusError):
        sdk_final_message(b"".join(frames))


def test_a_source_that_ends_without_message_stop_is_an_error() -> None:
    stream = relay_events(ERRORS, source(translated(FULL, FULL)[:-1]))
    frames = collect(stream)
    assert "before message_stop" in last_error(frames)["message"]


def test_an_abandoned_stream_keeps_its_usage_and_closes_its_source() -> None:
    closed = []

    async def upstream() -> AsyncGenerator[tuple[str, JSON], None]:
        try:
            for event in translated({"input_tokens": 25}, FULL):
                yield event
        finally:
            closed.append(True)

    async def run() -> Any:
        stream = relay_events(ERRORS, upstream())
        async for _ in stream:
            break  # the client went away after the first frame
        await stream.aclose()
        return stream

    stream = asyncio.run(run())
    assert closed == [True]
    assert stream.usage is not None and stream.usage["input_tokens"] == 25


# -- the Anthropic passthrough (relay_sse) -----------------------------------------------------------------------


def anthropic_body(delta_usage: JSON | None = None) -> bytes:
    start_message = {"id": "msg_up", "type": "message", "role": "assistant", "model": "m", "content": []}
    start_message |= {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 25, "output_tokens": 1}}
    return b"".join(
        [
            encode_sse("message_start", {"type": "message_start", "message": start_message}),
            encode_sse("ping", {"type": "ping"}),
            encode_sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            *[
                encode_sse(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}},
                )
                for word in ("Hello ", "error-free ", "message_ world")
            ],
            encode_sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            encode_sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": delta_usage or {"output_tokens": 12},
                },
            ),
            encode_sse("message_stop", {"type": "message_stop"}),
        ]
    )


def pieces(body: bytes, size: int) -> list[bytes]:
    return [body[start : start + size] for start in range(0, len(body), size)]


async def _chunks(chunks: list[bytes], failure: Exception | None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if failure is not None:
        raise failure


def passthrough(
    chunks: list[bytes], *, content_type: str = "text/event-stream", failure: Exception | None = None
) -> tuple[Any, httpx.Response]:
    response = httpx.Response(200, headers={"content-type": content_type}, content=_chunks(chunks, failure))

    async def open_response() -> httpx.Response:
        return response

    return relay_sse(ERRORS, open_response), response


@pytest.mark.parametrize("size", [1, 5, 64, 100_000])
def test_passthrough_relays_the_bytes_unchanged_cut_only_between_events(size: int) -> None:
    body = anthropic_body()
    stream, response = passthrough(pieces(body, size))
    frames = collect(stream)
    assert b"".join(frames) == body
    assert all(frame.endswith(b"\n\n") for frame in frames)  # no half event ever reaches the client
    assert stream.usage == {
        "input_tokens": 25,
        "output_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert stream.error is None and response.is_closed
    assert sdk_final_message(body).usage.output_tokens == 12


def test_passthrough_usage_folds_like_the_sdk() -> None:
    body = anthropic_body({"input_tokens": 30, "cache_read_input_tokens": None, "output_tokens": 5})
    stream, _ = passthrough([body])
    collect(stream)
    assert stream.usage == {
        "input_tokens": 30,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


@pytest.mark.parametrize("content_type", ["application/json", "text/html; charset=utf-8", ""])
def test_a_200_that_is_not_an_event_stream_is_a_502(content_type: str) -> None:
    stream, response = passthrough([b'{"type":"message"}'], content_type=content_type)
    with pytest.raises(UpstreamUnavailableError, match="not an event stream") as raised:
        collect(stream)
    assert raised.value.status_code == 502 and response.is_closed


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ReadError("connection reset by peer"), id="reset"),
        pytest.param(httpx.RemoteProtocolError("incomplete chunked read"), id="fin_inside_the_chunked_body"),
        pytest.param(None, id="fin_after_a_whole_chunk"),
    ],
)
def test_a_stream_broken_off_mid_answer_ends_with_an_error_event(failure: Exception | None) -> None:
    body = anthropic_body()
    cut = body.index(b"event: content_block_stop") - 10  # inside an event
    stream, response = passthrough(pieces(body[:cut], 40), failure=failure)
    frames = collect(stream)
    assert all(frame.endswith(b"\n\n") for frame in frames)
    assert b"".join(frames[:-1]) == body[: body.rindex(b"\n\n", 0, cut) + 2]  # whole events only
    assert last_error(frames)["type"] == "api_error"
    assert stream.error is not None and response.is_closed
    assert stream.usage is not None and stream.usage["input_tokens"] == 25  # what was used is still priced
    with pytest.raises(anthropic.APIStatusError):
        sdk_final_message(b"".join(frames))


def test_a_failure_before_any_event_raises() -> None:
    stream, _ = passthrough([b"event: message_start\ndata: {"], failure=httpx.ReadError("reset"))
    with pytest.raises(UpstreamUnavailableError, match="before its answer was complete"):
        collect(stream)


def test_a_reset_after_message_stop_changes_nothing() -> None:
    stream, _ = passthrough([anthropic_body()], failure=httpx.ReadError("reset"))
    frames = collect(stream)
    assert names(frames)[-1] == "message_stop" and stream.error is None


def test_the_upstreams_own_error_event_is_passed_on_redacted() -> None:
    body = anthropic_body()
    cut = body.index(b"event: content_block_stop")
    error = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": f"Overloaded ({SECRET}, file_011CNha8iCJcU1wXNR6q4V8w)"},
    }
    stream, _ = passthrough([body[:cut] + encode_sse("error", error)])
    frames = collect(stream)
    assert names(frames)[-2:] == ["content_block_delta", "error"]
    assert last_error(frames) == {"type": "overloaded_error", "message": "Overloaded ([redacted], [redacted])"}
    assert isinstance(stream.error, OverloadedError)
    assert b"".join(frames).count(b"event: error") == 1  # nothing added after the upstream's own error


def test_an_in_band_error_event_from_a_translated_source_is_the_one_error_frame() -> None:
    """Bedrock's InvokeModel stream carries Anthropic events, an ``error`` event among them possible."""
    error_event = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": f"busy {SECRET}"}})
    stream = relay_events(ERRORS, source([*translated(FULL, FULL)[:3], error_event]))
    frames = collect(stream)
    assert last_error(frames) == {"type": "overloaded_error", "message": "busy [redacted]"}
    assert b"".join(frames).count(b"event: error") == 1 and isinstance(stream.error, OverloadedError)


def test_a_bug_after_the_first_frame_still_ends_the_stream_with_an_error_event() -> None:
    stream = relay_events(ERRORS, source(translated(FULL, FULL), fail_at=2, error=KeyError("bug")))
    frames = collect(stream)
    assert last_error(frames) == {"type": "api_error", "message": "Internal server error"}
