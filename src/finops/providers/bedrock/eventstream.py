"""Decoding ``application/vnd.amazon.eventstream`` (the binary framing of Bedrock's streaming answers).

Each frame is ``[total_len u32][headers_len u32][prelude CRC32][headers][payload][message CRC32]``.
botocore's ``EventStreamBuffer`` does the framing and checks both CRCs; this wrapper adds incremental
feeding, JSON payloads and the gateway's error type, so a corrupt or truncated stream becomes an
``UpstreamError`` and nothing else.
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore.eventstream import EventStreamBuffer, ParserError

from finops.core.errors import UpstreamError

# Which header names the event for each ``:message-type``: events and modelled exceptions name themselves;
# an unmodelled ``error`` frame carries a code and a message in headers and has no payload.
_TYPE_HEADER_BY_MESSAGE_TYPE: dict[str, str] = {
    "event": ":event-type",
    "exception": ":exception-type",
    "error": ":error-code",
}

DecodedFrame = tuple[str, str, dict[str, Any]]


class EventStreamDecoder:
    """Turns event-stream bytes, fed in chunks of any size, into ``(message_type, type, payload)`` triples."""

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self._pending = 0
        self._error: UpstreamError | None = None

    def feed(self, data: bytes) -> list[DecodedFrame]:
        """Every frame completed by ``data``. A bad CRC or malformed frame raises ``UpstreamError``; when good
        frames precede it in the same chunk they are returned first and the error is raised by the next call
        (``feed`` or ``close``), so the client still receives everything Bedrock sent intact."""
        if self._error is not None:
            # After a bad frame the buffer cannot find the next frame boundary; never guess.
            raise self._error
        self._buffer.add_data(data)
        self._pending += len(data)
        frames: list[DecodedFrame] = []
        try:
            for message in self._buffer:
                self._pending -= message.prelude.total_length
                frames.append(_decode(message.headers, message.payload))
        except ParserError as exc:
            self._error = UpstreamError(f"Bedrock sent a corrupt event-stream frame ({type(exc).__name__})")
            self._error.__cause__ = exc
        except UpstreamError as exc:
            self._error = exc
        if self._error is not None and not frames:
            raise self._error
        return frames

    def close(self) -> None:
        """End of the byte stream: raise ``UpstreamError`` if a frame was corrupt or left incomplete."""
        if self._error is not None:
            raise self._error
        if self._pending:
            raise UpstreamError(f"Bedrock event stream ended inside a frame ({self._pending} bytes left over)")


def _decode(headers: dict[str, Any], payload: bytes) -> DecodedFrame:
    message_type = str(headers.get(":message-type", "event"))
    type_header = _TYPE_HEADER_BY_MESSAGE_TYPE.get(message_type, ":event-type")
    event_type = str(headers.get(type_header, ""))
    if message_type == "error":
        return message_type, event_type, {"message": str(headers.get(":error-message", ""))}
    if not payload:
        return message_type, event_type, {}
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(f"Bedrock sent a {event_type or message_type} frame that is not JSON") from exc
    if not isinstance(parsed, dict):
        raise UpstreamError(f"Bedrock sent a {event_type or message_type} frame that is not a JSON object")
    return message_type, event_type, parsed
