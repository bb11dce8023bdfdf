"""Bedrock's translated streams when their frames are pushed (``finops.core.push``): an AWS event stream
(ConverseStream, InvokeModelWithResponseStream) answered in many reads over a real pooled connection, its binary
frames cut across reads, the relay sent a ``Push`` after its first frame as the response sends it. What the client
gets must be what the same body pulled gives: the whole answer and its usage, an exception frame ending in one
``event: error`` after the frames before it, a body cut inside a frame ending in ``event: error``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from finops.core.errors import RateLimitError
from finops.providers.bedrock.errors import bedrock_fault
from finops.providers.bedrock.pushed_stream import converse_events, invoke_events
from finops.providers.bedrock.stream import ConverseStreamTranslator, InvokeStreamTranslator
from finops.providers.relay import relay_events
from finops.providers.sse import parse_events
from finops.providers.upstream_errors import ErrorPolicy
from tests.support.scripted_upstream import chunked
from tests.unit.providers.test_bedrock_eventstream import encode_frame, event_frame, exception_frame
from tests.unit.providers.test_bedrock_stream import CLAUDE, CONVERSE_TEXT_AND_TOOL, INVOKE_EVENTS, MODEL, chunk
from tests.unit.providers.test_pushed_relay import pushed
from tests.unit.providers.test_relay import SECRET, pieces, sdk_final_message

JSON = dict[str, Any]
OpenResponse = Callable[[], Awaitable[httpx.Response]]
ERRORS = ErrorPolicy("bedrock", [SECRET], bedrock_fault)
READ = 64  # bytes per upstream read: every frame is longer, so frames are cut across reads

CONVERSE_FRAMES = [event_frame(name, payload) for name, payload in CONVERSE_TEXT_AND_TOOL]
# A frame that is not a ``chunk`` first: Invoke ignores it.
INVOKE_FRAMES = [
    encode_frame({":message-type": "event", ":event-type": "initial-response"}, b""),
    *[event_frame("chunk", chunk(event)) for event in INVOKE_EVENTS],
]


def converse(opener: OpenResponse) -> Any:
    translator = ConverseStreamTranslator(model=MODEL, message_id="msg_test")
    return relay_events(ERRORS, converse_events(opener, translator, ERRORS))


def invoke(opener: OpenResponse) -> Any:
    return relay_events(ERRORS, invoke_events(opener, InvokeStreamTranslator(CLAUDE), ERRORS))


def both(
    make_stream: Callable[[OpenResponse], Any], reads: list[bytes], *, end: bool = True
) -> tuple[list[bytes], Any, int, list[bytes]]:
    """The client's frames, the stream and how many frames were pushed, then the frames of the same body pulled."""
    frames, stream, pushed_count = asyncio.run(pushed(make_stream, chunked(reads, pause=0.01, end=end)))
    pulled_frames, _, _ = asyncio.run(pushed(make_stream, chunked(reads, pause=0.01, end=end), push_on=False))
    return frames, stream, pushed_count, pulled_frames


def events(frames: list[bytes]) -> list[tuple[str, JSON]]:
    return [(name, orjson.loads(data)) for frame in frames for name, data in parse_events(frame)]


@pytest.mark.parametrize(
    ("make_stream", "frames", "text", "stop_reason", "usage", "returned"),
    [
        pytest.param(
            converse,
            CONVERSE_FRAMES,
            "Let me check.",
            "tool_use",
            {"input_tokens": 30, "output_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5},
            0,
            id="converse",
        ),
        pytest.param(
            converse,
            CONVERSE_FRAMES[:-1],  # no metadata: the translator closes the message at the end of the body
            "Let me check.",
            "tool_use",
            {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            1,
            id="converse-closed-at-the-end",
        ),
        pytest.param(
            invoke,
            INVOKE_FRAMES,
            "Hello",
            "end_turn",
            {"input_tokens": 25, "output_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 7},
            0,
            id="invoke",
        ),
    ],
)
def test_an_event_stream_in_many_reads_arrives_as_pulled_mostly_pushed(
    make_stream: Callable[[OpenResponse], Any],
    frames: list[bytes],
    text: str,
    stop_reason: str,
    usage: JSON,
    returned: int,
) -> None:
    got, stream, pushed_count, expected = both(make_stream, pieces(b"".join(frames), READ))
    assert events(got) == events(expected)  # how the events are grouped into frames depends on the reads' timing
    message = sdk_final_message(b"".join(got))
    assert message.content[0].text == text and message.stop_reason == stop_reason
    assert stream.usage == usage and stream.error is None
    # Every frame after the first is pushed but the one Converse's finish closes the message with, at the end.
    assert pushed_count == len(got) - 1 - returned and pushed_count >= 5


@pytest.mark.parametrize(
    ("make_stream", "frames"),
    [pytest.param(converse, CONVERSE_FRAMES[:7], id="converse"), pytest.param(invoke, INVOKE_FRAMES[:5], id="invoke")],
)
def test_an_exception_frame_mid_stream_ends_in_one_error_event_after_the_frames_before_it(
    make_stream: Callable[[OpenResponse], Any], frames: list[bytes]
) -> None:
    failure = exception_frame("throttlingException", {"message": f"Too many tokens ({SECRET})"})
    # The last good frame and the exception frame in one read: what that read completed still goes out first.
    reads = [*pieces(b"".join(frames[:-1]), READ), frames[-1] + failure]
    frames_got, stream, pushed_count, expected = both(make_stream, reads)
    got = events(frames_got)
    assert got == events(expected)
    assert [name for name, _ in got].count("error") == 1 and got[-2][0] == "content_block_delta"
    assert got[-1] == (
        "error",
        {
            "type": "error",
            "error": {
                "type": "overloaded_error",
                "message": "Bedrock ThrottlingException: Too many tokens ([redacted])",
            },
        },
    )
    assert isinstance(stream.error, RateLimitError)
    assert pushed_count == len(frames_got) - 2 and pushed_count >= 3  # all but the first frame and the error


@pytest.mark.parametrize(
    ("end", "message_part"),
    [
        pytest.param(True, "ended inside a frame", id="body-ends"),
        pytest.param(False, "closed the connection before its answer was complete", id="connection-closes"),
    ],
)
@pytest.mark.parametrize(
    ("make_stream", "frames"),
    [pytest.param(converse, CONVERSE_FRAMES, id="converse"), pytest.param(invoke, INVOKE_FRAMES, id="invoke")],
)
def test_a_body_cut_inside_a_frame_ends_in_an_error_event_as_pulled(
    make_stream: Callable[[OpenResponse], Any], frames: list[bytes], end: bool, message_part: str
) -> None:
    cut = len(b"".join(frames[:6])) + 20  # inside the seventh frame
    frames_got, stream, pushed_count, expected = both(make_stream, pieces(b"".join(frames)[:cut], READ), end=end)
    got = events(frames_got)
    assert got == events(expected)
    names = [name for name, _ in got]
    assert names[-1] == "error" and names.count("error") == 1 and "message_stop" not in names
    assert message_part in got[-1][1]["error"]["message"] and stream.error is not None
    assert pushed_count == len(frames_got) - 2 and pushed_count >= 3  # all but the first frame and the error
