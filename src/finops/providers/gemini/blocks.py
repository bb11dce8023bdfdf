"""Gemini response parts -> Anthropic content-block events, and those events replayed into content blocks.

Streaming (``stream.py``) and non-streaming (``translate.from_generate_response``) share this one mapping, so
both paths produce the same blocks for the same parts.
"""

from __future__ import annotations

import orjson

from finops.core.types import JSON
from finops.providers.gemini.tool_ids import encode_tool_use_id
from finops.providers.sse import block_delta, block_start, block_stop

Event = tuple[str, JSON]
"""An Anthropic stream event: (event name, data object whose ``type`` is the same name)."""


class BlockAssembler:
    """Turns Gemini response parts, in order, into Anthropic content-block events.

    * Adjacent text parts form one text block; adjacent thought parts one thinking block (a new one starts
      when a second signature arrives).
    * A thought signature on a thought part, or on the text part right after one, becomes that thinking
      block's ``signature`` (sent as ``signature_delta`` just before the block stops). A signature on any
      other text part is dropped: Gemini only enforces signatures on functionCall parts, and Anthropic text
      blocks have nowhere to keep one.
    * A functionCall arrives whole and becomes a complete tool_use block (start, one input_json_delta, stop)
      whose id carries the part's signature (``encode_tool_use_id``).
    * Other parts (executable code, inline media output) have no Anthropic block and are dropped.
    """

    def __init__(self) -> None:
        self.block_count = 0
        self.has_tool_use = False
        self._open: str | None = None  # "text" | "thinking" while a block is open
        self._signature: str | None = None  # signature of the open thinking block, sent when it stops

    def add_part(self, part: JSON) -> list[Event]:
        events: list[Event] = []
        signature = part.get("thoughtSignature") or None
        function_call = part.get("functionCall")
        if isinstance(function_call, dict):
            events += self.close()
            tool_use_id = encode_tool_use_id(function_call.get("id"), signature)
            block = {
                "type": "tool_use",
                "id": tool_use_id,
                "name": function_call.get("name", ""),
                "input": {},
            }
            index = self._start(block, events)
            arguments = orjson.dumps(function_call.get("args") or {}).decode()
            events.append(block_delta(index, {"type": "input_json_delta", "partial_json": arguments}))
            events += self._stop()
            self.has_tool_use = True
            return events
        text = part.get("text") or ""
        if not text and signature is None:
            return events  # an empty part (Gemini streams some) must not open an empty block
        if part.get("thought"):
            if self._open != "thinking" or (signature and self._signature):
                events += self.close()
                self._start({"type": "thinking", "thinking": "", "signature": ""}, events)
                self._open = "thinking"
            if text:
                events.append(block_delta(self.block_count - 1, {"type": "thinking_delta", "thinking": text}))
            if signature:
                self._signature = signature
            return events
        if signature and self._open == "thinking" and not self._signature:
            self._signature = signature
        if text:
            if self._open != "text":
                events += self.close()
                self._start({"type": "text", "text": ""}, events)
                self._open = "text"
            events.append(block_delta(self.block_count - 1, {"type": "text_delta", "text": text}))
        return events

    def close(self) -> list[Event]:
        """Stop the open text or thinking block, if any."""
        if self._open is None:
            return []
        events: list[Event] = []
        if self._open == "thinking" and self._signature:
            events.append(block_delta(self.block_count - 1, {"type": "signature_delta", "signature": self._signature}))
        return events + self._stop()

    def _start(self, block: JSON, events: list[Event]) -> int:
        index = self.block_count
        self.block_count += 1
        events.append(block_start(index, block))
        return index

    def _stop(self) -> list[Event]:
        self._open, self._signature = None, None
        index = self.block_count - 1
        return [block_stop(index)]


def blocks_from_events(events: list[Event]) -> list[JSON]:
    """Replay content-block events into the content list a non-streaming Message carries."""
    blocks: list[JSON] = []
    for name, data in events:
        if name == "content_block_start":
            blocks.append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            kind = delta["type"]
            if kind == "text_delta":
                block["text"] += delta["text"]
            elif kind == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif kind == "signature_delta":
                block["signature"] = delta["signature"]
            elif kind == "input_json_delta":
                block["input"] = orjson.loads(delta["partial_json"])
    return blocks
