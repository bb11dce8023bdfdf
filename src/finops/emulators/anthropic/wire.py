"""A :class:`Reply` on the wire: the Message object, its usage, and the exact SSE event sequence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from finops.emulators._common.tokens import tokenize
from finops.emulators.anthropic.generation import Reply

_TOKENS_PER_DELTA = 3


def usage(reply: Reply, *, service_tier: str = "standard") -> dict[str, Any]:
    cache = reply.cache
    fields: dict[str, Any] = {
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cache_creation_input_tokens": cache.cache_write,
        "cache_read_input_tokens": cache.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.cache_write - cache.cache_write_1h,
            "ephemeral_1h_input_tokens": cache.cache_write_1h,
        },
        "server_tool_use": _server_tool_use(reply),
        "service_tier": service_tier,
        "inference_geo": None,
        # Beta-only fields; always present so ?beta=true answers match BetaMessage too.
        "iterations": None,
        "speed": None,
    }
    if reply.thinking_tokens:
        # The newest SDK (2.14) reads the reasoning share of output_tokens here.
        fields["output_tokens_details"] = {"thinking_tokens": reply.thinking_tokens}
    return fields


def _server_tool_use(reply: Reply) -> dict[str, int] | None:
    if not reply.web_search_requests:
        return None
    return {"web_search_requests": reply.web_search_requests, "web_fetch_requests": 0}


def message_object(reply: Reply, *, message_id: str, model: str, service_tier: str = "standard") -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "stop_details": None,
        "container": None,
        "context_management": None,
        "usage": usage(reply, service_tier=service_tier),
    }


def stream_events(reply: Reply, *, message_id: str, model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The SSE events of a streamed reply in Anthropic's exact order (``ping`` after ``message_start``)."""
    start = message_object(reply, message_id=message_id, model=model)
    start.update(content=[], stop_reason=None, stop_sequence=None)
    # As on the real API, message_start has the input and a provisional output count; message_delta is final.
    start["usage"]["output_tokens"] = min(1, reply.output_tokens)
    start["usage"]["server_tool_use"] = None
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(reply.content):
        opening, deltas = _block_events(block)
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    final = usage(reply)
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": reply.stop_reason,
                "stop_sequence": reply.stop_sequence,
                "stop_details": None,
                "container": None,
            },
            "usage": {
                "input_tokens": final["input_tokens"],
                "output_tokens": final["output_tokens"],
                "cache_creation_input_tokens": final["cache_creation_input_tokens"],
                "cache_read_input_tokens": final["cache_read_input_tokens"],
                "server_tool_use": final["server_tool_use"],
                **({"output_tokens_details": final["output_tokens_details"]} if reply.thinking_tokens else {}),
            },
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _block_events(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A block's ``content_block_start`` payload and its deltas."""
    kind = block["type"]
    if kind == "text":
        citations = [{"type": "citations_delta", "citation": c} for c in block.get("citations") or []]
        text = [{"type": "text_delta", "text": piece} for piece in _text_pieces(block["text"])]
        return {"type": "text", "text": "", "citations": None}, citations + text
    if kind == "thinking":
        thoughts = [{"type": "thinking_delta", "thinking": p} for p in _text_pieces(block["thinking"]) if p]
        return (
            {"type": "thinking", "thinking": "", "signature": ""},
            [*thoughts, {"type": "signature_delta", "signature": block["signature"]}],
        )
    if kind in ("tool_use", "server_tool_use"):
        pieces = _json_pieces(block["input"])
        return {**block, "input": {}}, [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    return block, []  # web_search_tool_result arrives whole


def _text_pieces(text: str) -> list[str]:
    tokens = tokenize(text) or [text]
    return ["".join(tokens[i : i + _TOKENS_PER_DELTA]) for i in range(0, len(tokens), _TOKENS_PER_DELTA)]


def _json_pieces(value: dict[str, Any]) -> list[str]:
    # The real API opens a tool_use stream with an empty partial_json, then sends the JSON in fragments.
    encoded = orjson.dumps(value).decode()
    size = max(1, len(encoded) // 3 + 1)
    return ["", *(encoded[i : i + size] for i in range(0, len(encoded), size))]


def sse_frame(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
