"""The one upstream SSE splitter (``SSEDecoder`` / ``parse_events``) and the Anthropic frame helpers."""

from __future__ import annotations

import pytest

from finops.core.errors import UpstreamError
from finops.providers.sse import (
    MAX_EVENT_BYTES,
    SSEDecoder,
    block_delta,
    block_start,
    block_stop,
    complete_events_end,
    encode_sse,
    error_frame,
    parse_events,
)

ANTHROPIC_BODY = (
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b": keep-alive comment\n\n"
    b'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
ANTHROPIC_EVENTS = [
    ("message_start", b'{"type":"message_start"}'),
    ("content_block_delta", b'{"type":"content_block_delta"}'),
    ("message_stop", b'{"type":"message_stop"}'),
]


def decode_in_pieces(body: bytes, size: int) -> list[tuple[str, bytes]]:
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(body), size):
        events += decoder.feed(body[start : start + size])
    assert not decoder.pending
    return events


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
@pytest.mark.parametrize(
    "line_end", [pytest.param(b"\n", id="lf"), pytest.param(b"\r\n", id="crlf"), pytest.param(b"\r", id="cr")]
)
def test_events_survive_any_split_and_any_line_end(size: int, line_end: bytes) -> None:
    body = ANTHROPIC_BODY.replace(b"\n", line_end)
    assert decode_in_pieces(body, size) == ANTHROPIC_EVENTS


CASES = [
    pytest.param(b"data: [DONE]\n\n", [("message", b"[DONE]")], id="openai_done_without_event_name"),
    pytest.param(b"data:no-space\n\n", [("message", b"no-space")], id="no_space_after_colon"),
    pytest.param(b"data:  two spaces\n\n", [("message", b" two spaces")], id="only_one_space_dropped"),
    pytest.param(b"data: a\ndata: b\n\n", [("message", b"a\nb")], id="multi_line_data_joined"),
    pytest.param(b"event: ping\n\n", [], id="event_without_data_is_skipped"),
    pytest.param(b"id: 7\nretry: 10\ndata: x\n\n", [("message", b"x")], id="id_and_retry_ignored"),
    pytest.param(b"data\n\n", [("message", b"")], id="bare_data_field"),
    pytest.param(b"\n\n\ndata: x\n\n\n\n", [("message", b"x")], id="extra_blank_lines"),
    pytest.param(b"event:error\ndata: {}\n\n", [("error", b"{}")], id="event_name_without_space"),
]


@pytest.mark.parametrize(("body", "events"), CASES)
def test_parse_events_follows_the_sse_spec(body: bytes, events: list[tuple[str, bytes]]) -> None:
    assert parse_events(body) == events
    assert decode_in_pieces(body, 1) == events
    assert decode_in_pieces(body, len(body)) == events  # a whole read at once (the decoder's quick path)


@pytest.mark.parametrize(
    "read",
    [
        b'data: {"choices":[]}\n\n',
        b"data: \n\n",
        b"data: x\n\ndata: y\n\n",
        b"data: x\r\n\r\n",
        b"data: x\rdata: y\n\n",
        b"data: x\n\n\n",
        b"data: x\n",
        b"data: x",
        b"event: ping\ndata: x\n\n",
    ],
)
def test_a_whole_read_decodes_as_the_spec_parser_reads_it(read: bytes) -> None:
    decoder = SSEDecoder()
    end = complete_events_end(read)
    assert decoder.feed(read) == parse_events(read[:end])
    assert decoder.pending == bool(read[end:].strip())


def test_an_event_cut_by_the_end_of_the_body_stays_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\n\ndata: {"b"') == [("message", b'{"a":1}')]
    assert decoder.pending


@pytest.mark.parametrize(
    ("buffer", "end"),
    [(b"", 0), (b"data: x", 0), (b"data: x\n\n", 9), (b"data: x\n\ndata: y", 9), (b"data: x\r\n\r\ndata", 11)],
)
def test_complete_events_end(buffer: bytes, end: int) -> None:
    assert complete_events_end(buffer) == end


def test_an_endless_event_is_refused_instead_of_buffered_without_bound() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: " + b"x" * (MAX_EVENT_BYTES - 6))
    with pytest.raises(UpstreamError, match="larger than the gateway accepts"):
        decoder.feed(b"x")


def test_frame_helpers() -> None:
    assert encode_sse(*block_start(0, {"type": "text", "text": ""})) == (
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n'
    )
    assert block_delta(2, {"type": "text_delta", "text": "hi"}) == (
        "content_block_delta",
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "hi"}},
    )
    assert block_stop(1) == ("content_block_stop", {"type": "content_block_stop", "index": 1})
    assert error_frame("overloaded_error", "Overloaded") == (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
