"""Cached answers and streams, both ways.

``replay`` turns a stored message into the event sequence a live stream of it has — ``message_start``, ``ping``,
each content block as start / deltas / stop (text, ``citations_delta``, ``input_json_delta`` for tool calls,
``thinking_delta`` + ``signature_delta``; blocks without deltas, such as server tool results or redacted
thinking, arrive whole in their start event), ``message_delta`` with the usage, ``message_stop`` — built with
``providers.sse``'s helpers, so a replayed stream and a translated live one are the same frames for the same
message.

``MessageAssembler`` does the reverse for a live stream, as the SDKs' accumulators do: the answer is stored once
the stream has reached ``message_stop`` with no error, never a part of one.
"""

from __future__ import annotations

import orjson

from finops.core.types import JSON
from finops.providers.sse import (
    PING,
    SSEDecoder,
    block_delta,
    block_start,
    block_stop,
    encode_sse,
    message_end,
    message_start,
)
from finops.providers.usage import complete_usage, fold_usage

_STREAMED_INPUT = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
"""Blocks whose ``input`` streams as ``input_json_delta``."""


def _block_events(index: int, block: JSON) -> list[tuple[str, JSON]]:
    kind = block.get("type")
    if kind == "text":
        start: JSON = {key: value for key, value in block.items() if key not in ("text", "citations")}
        start["text"] = ""
        if block.get("citations") is not None:
            start["citations"] = []
        events = [block_start(index, start)]
        events += [
            block_delta(index, {"type": "citations_delta", "citation": citation})
            for citation in block.get("citations") or []
        ]
        if block.get("text"):
            events.append(block_delta(index, {"type": "text_delta", "text": block["text"]}))
    elif kind in _STREAMED_INPUT:
        events = [block_start(index, {**block, "input": {}})]
        if block.get("input"):
            partial = orjson.dumps(block["input"]).decode()
            events.append(block_delta(index, {"type": "input_json_delta", "partial_json": partial}))
    elif kind == "thinking":
        events = [block_start(index, {**block, "thinking": "", "signature": ""})]
        if block.get("thinking"):
            events.append(block_delta(index, {"type": "thinking_delta", "thinking": block["thinking"]}))
        if block.get("signature"):
            events.append(block_delta(index, {"type": "signature_delta", "signature": block["signature"]}))
    else:
        events = [block_start(index, block)]
    events.append(block_stop(index))
    return events


def replay(message: JSON) -> list[bytes]:
    """The SSE frames of a live stream that produced ``message``."""
    usage = complete_usage(message.get("usage"))
    opening = {**usage, "output_tokens": 0}  # output is counted at the end, as a live stream does
    name, start = message_start(message_id=message["id"], model=message["model"], usage=opening)
    for key, value in message.items():  # fields a provider adds (container, context_management...) ride along
        if key not in start["message"] and key != "usage":
            start["message"][key] = value
    frames = [encode_sse(name, start), PING]
    for index, block in enumerate(message.get("content") or []):
        frames += [encode_sse(event, data) for event, data in _block_events(index, block)]
    closing = message_end(
        stop_reason=message.get("stop_reason"), stop_sequence=message.get("stop_sequence"), usage=usage
    )
    frames += [encode_sse(event, data) for event, data in closing]
    return frames


class MessageAssembler:
    """Feed it a stream's frames; ``message`` is the final message once the stream ended well, else ``None``."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self._message: JSON | None = None
        self._partial_json: dict[int, list[str]] = {}
        self._complete = False
        self._broken = False

    @property
    def message(self) -> JSON | None:
        return self._message if self._complete and not self._broken else None

    def feed(self, frame: bytes) -> None:
        if self._broken:
            return
        try:
            for name, data in self._decoder.feed(frame):
                self._event(name, orjson.loads(data))
        except Exception:  # anything unexpected only means this answer is not stored
            self._broken = True

    def _event(self, name: str, data: JSON) -> None:
        if name == "message_start":
            self._message = {**data["message"], "content": []}
            self._message["usage"] = complete_usage(self._message.get("usage"))
            return
        if name in ("ping",):
            return
        message = self._message
        if message is None or name == "error":
            self._broken = True
            return
        if name == "content_block_start":
            index = data["index"]
            if index != len(message["content"]):
                self._broken = True
                return
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            self._delta(message["content"][data["index"]], data["index"], data["delta"])
        elif name == "content_block_stop":
            index = data["index"]
            parts = self._partial_json.pop(index, None)
            if parts is not None:
                joined = "".join(parts)
                message["content"][index]["input"] = orjson.loads(joined) if joined.strip() else {}
        elif name == "message_delta":
            delta = data.get("delta") or {}
            for key in ("stop_reason", "stop_sequence"):
                if key in delta:
                    message[key] = delta[key]
            message["usage"] = fold_usage(message["usage"], data.get("usage"))
        elif name == "message_stop":
            self._complete = True

    def _delta(self, block: JSON, index: int, delta: JSON) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "input_json_delta":
            self._partial_json.setdefault(index, []).append(delta.get("partial_json", ""))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])
        else:
            self._broken = True  # a delta this gateway does not know: do not store what it cannot rebuild
