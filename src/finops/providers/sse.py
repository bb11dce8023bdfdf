"""Server-sent events both ways: the Anthropic stream vocabulary every translating provider emits, and the one
decoder that splits an upstream SSE body (OpenAI, Gemini, Anthropic) into events. Pure: no I/O.

A translated stream always opens with ``message_start`` and closes with ``message_delta`` + ``message_stop``;
its blocks are built with ``block_start`` / ``block_delta`` / ``block_stop``, so the three translators emit
byte-identical frames for the same facts.

Substring tests on a stream's bytes use ``find``, not ``in``: CPython 3.11's ``in`` on bytes first tries the
operand as an integer (``65 in data`` asks for a byte value), and for a bytes operand it raises, formats and
clears a ``TypeError`` before searching. That is about 1,800 instructions per test (callgrind), on every event.
"""

from __future__ import annotations

import orjson

from finops.core.errors import UpstreamError
from finops.core.types import JSON
from finops.providers.usage import USAGE_KEYS

Event = tuple[str, JSON]
"""An Anthropic stream event: (event name, data object whose ``type`` is the same name)."""

SSEEvent = tuple[str, bytes]
"""One decoded upstream event: (event name, ``"message"`` when the event has none; its data, lines joined)."""

MAX_EVENT_BYTES = 16 << 20
"""Bytes one upstream event may take before the stream is treated as broken (no real event comes close)."""


def encode_sse(event: str, data: JSON) -> bytes:
    """One SSE frame: ``event: <name>\\ndata: <compact JSON>\\n\\n``."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


PING = encode_sse("ping", {"type": "ping"})
"""Sent after ``message_start``, as Anthropic does; SDKs expect and ignore it."""


def error_frame(error_type: str, message: str) -> bytes:
    """Anthropic's in-stream error event; the official SDKs raise ``APIStatusError`` on it."""
    return encode_sse("error", {"type": "error", "error": {"type": error_type, "message": message}})


# -- the Anthropic event vocabulary ------------------------------------------------------------------------------


def message_start(*, message_id: str, model: str, usage: JSON) -> Event:
    """``message_start`` with an empty assistant message; ``usage`` is what is known before any output."""
    message: JSON = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return "message_start", {"type": "message_start", "message": message}


def block_start(index: int, block: JSON) -> Event:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: JSON) -> Event:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> Event:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


_DELTA_USAGE_DETAILS = ("output_tokens_details", "server_tool_use")
"""Usage breakdowns (thinking tokens, server tool requests) a ``message_delta`` carries beside the four counts."""


def message_end(*, stop_reason: str | None, stop_sequence: str | None, usage: JSON) -> list[Event]:
    """``message_delta`` (stop reason and the final usage, all four counts, plus the breakdowns Anthropic's
    ``MessageDeltaUsage`` carries when the answer has them) followed by ``message_stop``."""
    delta_usage = {key: usage.get(key, 0) for key in USAGE_KEYS}
    for key in _DELTA_USAGE_DETAILS:
        if usage.get(key) is not None:
            delta_usage[key] = usage[key]
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": delta_usage,
    }
    return [("message_delta", delta), ("message_stop", {"type": "message_stop"})]


# -- reading an upstream SSE body --------------------------------------------------------------------------------


_EVENT_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")


def complete_events_end(buffer: bytes) -> int:
    """Where the last complete event in ``buffer`` ends (just past its blank line), or 0 if none has.
    Line ends may be ``\n``, ``\r\n`` or ``\r`` (the SSE spec allows all three)."""
    if buffer.endswith(_EVENT_ENDS):  # the usual case: upstreams write whole events
        return len(buffer)
    ends = _EVENT_ENDS if buffer.find(b"\r") >= 0 else _EVENT_ENDS[:1]  # not ``in`` (module docstring)
    return max(_past(buffer, separator) for separator in ends)


def _past(buffer: bytes, separator: bytes) -> int:
    at = buffer.rfind(separator)
    return at + len(separator) if at >= 0 else 0


def parse_events(complete: bytes) -> list[SSEEvent]:
    """The events in ``complete`` (whole events only, as cut by ``complete_events_end``), following the SSE
    spec: ``data`` lines joined with ``\n``, one leading space dropped, comments and ``id``/``retry`` ignored,
    events without data skipped."""
    events: list[SSEEvent] = []
    name = "message"
    data: list[bytes] = []
    for line in complete.splitlines():  # bytes.splitlines splits on exactly \n, \r\n and \r
        if not line:
            if data:
                events.append((name, data[0] if len(data) == 1 else b"\n".join(data)))
                data = []
            name = "message"
        elif line.startswith(b"data:"):
            data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif line.startswith(b"event:"):
            name = (line[7:] if line.startswith(b"event: ") else line[6:]).decode("utf-8", "replace")
        elif line == b"data":
            data.append(b"")
    return events


class SSEDecoder:
    """Splits an SSE body fed in chunks of any size into ``(event, data)`` pairs. An event left incomplete when
    the body ends is dropped (``pending`` says whether there is one), as the SSE spec says."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    @property
    def pending(self) -> bool:
        return bool(self._buffer.strip())

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if (
            not self._buffer
            and chunk.startswith(b"data: ")
            and chunk.find(b"\n") == len(chunk) - 2
            and chunk.endswith(b"\n\n")
            and chunk.find(b"\r") < 0  # not ``in`` (module docstring)
        ):
            # The usual read of a streamed answer (OpenAI's, Gemini's): one unnamed event of one data line, taken
            # by a few C calls instead of the line-by-line parse; it is what ``parse_events`` makes of it.
            return [("message", chunk[6:-2])]
        buffer = self._buffer + chunk if self._buffer else chunk
        end = complete_events_end(buffer)
        if end == 0:
            if len(buffer) > MAX_EVENT_BYTES:
                raise UpstreamError("the upstream sent a stream event larger than the gateway accepts")
            self._buffer = buffer
            return []
        self._buffer = buffer[end:]
        return parse_events(buffer[:end])
