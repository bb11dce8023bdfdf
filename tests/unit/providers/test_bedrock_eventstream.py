"""``EventStreamDecoder``: frames split anywhere, exception and error frames, and corrupt or cut-off streams."""

from __future__ import annotations

import itertools
import random
import struct
import zlib
from typing import Any

import orjson
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from finops.core.errors import UpstreamError
from finops.providers.bedrock.eventstream import EventStreamDecoder

JSON = dict[str, Any]

_STRING_HEADER_TYPE = 7


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """A test-only ``application/vnd.amazon.eventstream`` encoder (string headers only)."""
    encoded_headers = b""
    for name, value in headers.items():
        name_bytes, value_bytes = name.encode(), value.encode()
        encoded_headers += struct.pack(">B", len(name_bytes)) + name_bytes
        encoded_headers += struct.pack(">BH", _STRING_HEADER_TYPE, len(value_bytes)) + value_bytes
    total_length = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total_length, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event_frame(event_type: str, payload: JSON) -> bytes:
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return encode_frame(headers, orjson.dumps(payload))


def exception_frame(exception_type: str, payload: JSON) -> bytes:
    headers = {":message-type": "exception", ":exception-type": exception_type, ":content-type": "application/json"}
    return encode_frame(headers, orjson.dumps(payload))


THREE_FRAMES = (
    event_frame("messageStart", {"role": "assistant", "p": "abcd"})
    + event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Héllo"}})
    + exception_frame("throttlingException", {"message": "Too many requests"})
)
THREE_DECODED = [
    ("event", "messageStart", {"role": "assistant", "p": "abcd"}),
    ("event", "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Héllo"}}),
    ("exception", "throttlingException", {"message": "Too many requests"}),
]


def _feed_in_pieces(data: bytes, cuts: list[int]) -> list[tuple[str, str, JSON]]:
    decoder = EventStreamDecoder()
    frames = []
    edges = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(edges):
        frames += decoder.feed(data[start:end])
    decoder.close()  # raises if bytes were left over
    return frames


def test_test_encoder_is_accepted_by_botocore() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(event_frame("chunk", {"bytes": "e30="}))
    message = next(buffer)
    assert message.headers[":event-type"] == "chunk"
    assert orjson.loads(message.payload) == {"bytes": "e30="}


def test_whole_buffer_at_once() -> None:
    assert _feed_in_pieces(THREE_FRAMES, []) == THREE_DECODED


def test_split_at_every_byte_boundary() -> None:
    for cut in range(1, len(THREE_FRAMES)):
        assert _feed_in_pieces(THREE_FRAMES, [cut]) == THREE_DECODED, f"cut at {cut}"


def test_split_at_random_boundaries() -> None:
    rng = random.Random(20240101)  # fixed seed: reproducible, still covering many multi-cut layouts
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(THREE_FRAMES)), rng.randint(2, 8)))
        assert _feed_in_pieces(THREE_FRAMES, cuts) == THREE_DECODED, f"cuts at {cuts}"


def test_one_byte_at_a_time() -> None:
    assert _feed_in_pieces(THREE_FRAMES, list(range(1, len(THREE_FRAMES)))) == THREE_DECODED


def test_frames_are_returned_as_soon_as_complete() -> None:
    first = event_frame("messageStart", {"role": "assistant"})
    decoder = EventStreamDecoder()
    assert decoder.feed(first[:-1]) == []
    assert decoder.feed(first[-1:]) == [("event", "messageStart", {"role": "assistant"})]
    decoder.close()


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(
            encode_frame({":message-type": "event", ":event-type": "initial-response"}, b""),
            ("event", "initial-response", {}),
            id="empty_payload",
        ),
        pytest.param(
            encode_frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""),
            ("error", "InternalFailure", {"message": "boom"}),
            id="error_frame_from_headers",
        ),
        pytest.param(
            exception_frame("modelStreamErrorException", {"message": "model broke", "originalStatusCode": 500}),
            ("exception", "modelStreamErrorException", {"message": "model broke", "originalStatusCode": 500}),
            id="exception_frame",
        ),
    ],
)
def test_frame_kinds(frame: bytes, expected: tuple[str, str, JSON]) -> None:
    assert EventStreamDecoder().feed(frame) == [expected]


def _corrupt(frame: bytes, offset: int) -> bytes:
    return frame[:offset] + bytes([frame[offset] ^ 0xFF]) + frame[offset + 1 :]


GOOD = event_frame("messageStart", {"role": "assistant"})
BAD_PAYLOAD = _corrupt(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}), -6)
BAD_PRELUDE_CRC = _corrupt(GOOD, 9)
BAD_LENGTH = _corrupt(GOOD, 2)


def test_botocore_itself_rejects_a_bad_message_crc() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(BAD_PAYLOAD)
    with pytest.raises(ChecksumMismatch):
        next(buffer)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(BAD_PAYLOAD, id="payload_byte_flipped"),
        pytest.param(BAD_PRELUDE_CRC, id="prelude_crc_flipped"),
        pytest.param(BAD_LENGTH, id="length_flipped"),
    ],
)
def test_corrupt_frame_raises_upstream_error(frame: bytes) -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(UpstreamError, match="corrupt event-stream frame"):
        decoder.feed(frame)
    # The stream cannot be resynchronised: every later call fails too.
    with pytest.raises(UpstreamError):
        decoder.feed(GOOD)
    with pytest.raises(UpstreamError):
        decoder.close()


def test_good_frames_before_a_corrupt_one_are_delivered_first() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(GOOD + BAD_PAYLOAD) == [("event", "messageStart", {"role": "assistant"})]
    with pytest.raises(UpstreamError, match="ChecksumMismatch"):
        decoder.close()


def test_non_json_payload_raises() -> None:
    frame = encode_frame({":message-type": "event", ":event-type": "chunk"}, b"not json")
    with pytest.raises(UpstreamError, match="chunk frame that is not JSON"):
        EventStreamDecoder().feed(frame)


def test_truncated_stream_is_reported_on_close() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(GOOD + GOOD[:10]) == [("event", "messageStart", {"role": "assistant"})]
    with pytest.raises(UpstreamError, match="ended inside a frame"):
        decoder.close()
