"""Encoder for the ``application/vnd.amazon.eventstream`` binary framing that Bedrock streams use.

Each message is ``[total_len u32][headers_len u32][prelude CRC32][headers][payload][message CRC32]``,
big-endian, where the prelude CRC covers the first 8 bytes and the message CRC everything before it.
Headers are ``[name_len u8][name][type u8][value]``; only type 7 (string: ``[len u16][utf-8]``) is needed.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import orjson

_STRING = 7
_PADDING_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded_headers = _encode_headers(headers)
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def padding(size: int) -> str:
    """Bedrock pads each event with a ``p`` field so sizes leak less; deterministic filler is enough."""
    return (_PADDING_ALPHABET * (size // len(_PADDING_ALPHABET) + 1))[:size]


def event_frame(event_type: str, body: dict[str, Any]) -> bytes:
    """A ``:message-type=event`` frame whose payload is ``body`` as JSON."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, orjson.dumps(body))


def chunk_frame(event: dict[str, Any]) -> bytes:
    """An InvokeModelWithResponseStream ``chunk``: one model event, base64-encoded under ``bytes``."""
    raw = orjson.dumps(event)
    encoded = base64.b64encode(raw).decode("ascii")
    return event_frame("chunk", {"bytes": encoded, "p": padding(len(raw) % 37 + 4)})


def exception_frame(exception_type: str, message: str) -> bytes:
    """A ``:message-type=exception`` frame, how errors arrive after the stream has started."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, orjson.dumps({"message": message}))
