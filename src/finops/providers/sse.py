"""The Anthropic stream vocabulary shared by every translating provider (pure: no I/O).

A translated stream always opens with ``message_start`` and closes with ``message_delta`` + ``message_stop``;
the blocks in between are each provider's business. Building the envelope in one place keeps the three
translators emitting byte-identical frames for the same facts.
"""

from __future__ import annotations

from typing import Any

import orjson

JSON = dict[str, Any]
Event = tuple[str, JSON]
"""An Anthropic stream event: (event name, data object whose ``type`` is the same name)."""

_USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def encode_sse(event: str, data: JSON) -> bytes:
    """One SSE frame: ``event: <name>\\ndata: <compact JSON>\\n\\n``."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def message_start(*, message_id: str, model: str, usage: JSON) -> Event:
    """``message_start`` with an empty assistant message; ``usage`` is what is known before any output."""
    message = {
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


def message_end(*, stop_reason: str | None, stop_sequence: str | None, usage: JSON) -> list[Event]:
    """``message_delta`` (stop reason and the final usage, all four counters) followed by ``message_stop``."""
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {key: usage.get(key, 0) for key in _USAGE_KEYS},
    }
    return [("message_delta", delta), ("message_stop", {"type": "message_stop"})]
