"""Gemini response parts -> Anthropic content-block events, and those events replayed into content blocks.

Streaming (``stream.py``) and non-streaming (``translate.from_generate_response``) share this one mapping, so
both paths produce the same blocks for the same parts.
"""

from __future__ import annotations

from typing import Any

import orjson

from finops.core.ids import new_tool_use_id
from finops.core.types import JSON
from finops.providers.gemini.grounding import grounded_events
from finops.providers.gemini.tool_ids import encode_tool_use_id
from finops.providers.sse import block_delta, block_start, block_stop

Event = tuple[str, JSON]
"""An Anthropic stream event: (event name, data object whose ``type`` is the same name)."""

_SERVER_TOOL_ID_PREFIX = "srvtoolu_"


def new_server_tool_use_id() -> str:
    """An id for a tool Google ran (Anthropic names them ``srvtoolu_…``)."""
    return _SERVER_TOOL_ID_PREFIX + new_tool_use_id().removeprefix("toolu_")


def code_execution_result(result: JSON) -> JSON:
    """The content of Anthropic's ``code_execution_tool_result`` for a Gemini ``codeExecutionResult``: its one
    ``output`` is stdout when the code ran, stderr when it failed."""
    outcome, output = result.get("outcome"), str(result.get("output") or "")
    if outcome == "OUTCOME_DEADLINE_EXCEEDED":
        return {"type": "code_execution_tool_result_error", "error_code": "execution_time_exceeded"}
    ok = outcome in ("OUTCOME_OK", "OUTCOME_UNSPECIFIED", None)
    return {
        "type": "code_execution_result",
        "stdout": output if ok else "",
        "stderr": "" if ok else output,
        "return_code": 0 if ok else 1,
        "content": [],
    }


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
    * ``executableCode`` and ``codeExecutionResult`` (Gemini ran Python) become ``server_tool_use``
      ``code_execution`` and ``code_execution_tool_result`` blocks.
    * With ``grounded`` (Google Search was offered), everything after the thinking is held back until
      ``close(grounding)``: Anthropic puts the searches before the answer and splits the answer's text where its
      citations change, and Gemini only says what it searched and cites at the end (``grounding.py``).
    * Other parts (inline media output) have no Anthropic block and are dropped.
    """

    def __init__(self, *, grounded: bool = False) -> None:
        self.block_count = 0
        self.has_tool_use = False
        self.web_search_requests = 0
        self._grounded = grounded
        self._held: list[JSON] = []  # parts held back until the grounding metadata is known
        self._open: str | None = None  # "text" | "thinking" while a block is open
        self._signature: str | None = None  # signature of the open thinking block, sent when it stops
        self._code_id: str | None = None  # the server_tool_use a codeExecutionResult answers

    def add_part(self, part: JSON) -> list[Event]:
        if self._grounded and not part.get("thought"):
            self._held.append(part)
            return []
        return self._add(part)

    def close(self, grounding: JSON | None = None) -> list[Event]:
        """Stop the open block, if any; with held-back parts, send the searches ``grounding`` names (a
        candidate's ``groundingMetadata``) and then those parts, their text split by citation."""
        held, self._held = self._held, []
        events = self._close_open()
        if not held:
            return events
        answer = "".join(str(part.get("text") or "") for part in held if _is_answer_text(part))
        found = grounded_events(grounding, answer, self.block_count, new_server_tool_use_id)
        if found is None:
            for part in held:
                events += self._add(part)
            return events + self._close_open()
        events += found.events
        self.block_count += found.block_count
        self.web_search_requests += found.requests
        # Code Gemini ran while answering keeps its blocks; the answer's text follows them whole, split where its
        # citations change (Gemini's citations count bytes across the whole answer).
        for part in held:
            if not _is_answer_text(part):
                events += self._add(part)
        events += self._close_open()
        for text, citations in found.text_blocks:
            index = self._start({"type": "text", "text": ""}, events)
            events += [block_delta(index, {"type": "citations_delta", "citation": c}) for c in citations]
            events.append(block_delta(index, {"type": "text_delta", "text": text}))
            events += self._stop()
        return events

    def _add(self, part: JSON) -> list[Event]:
        events: list[Event] = []
        signature = part.get("thoughtSignature") or None
        function_call = part.get("functionCall")
        if isinstance(function_call, dict):
            events += self._close_open()
            tool_use_id = encode_tool_use_id(function_call.get("id"), signature)
            block = {"type": "tool_use", "id": tool_use_id, "name": function_call.get("name", ""), "input": {}}
            self._whole_input_block(block, function_call.get("args") or {}, events)
            self.has_tool_use = True
            return events
        code = part.get("executableCode")
        if isinstance(code, dict):
            events += self._close_open()
            self._code_id = new_server_tool_use_id()
            block = {"type": "server_tool_use", "id": self._code_id, "name": "code_execution", "input": {}}
            self._whole_input_block(block, {"code": str(code.get("code") or "")}, events)
            return events
        result = part.get("codeExecutionResult")
        if isinstance(result, dict):
            events += self._close_open()
            tool_use_id = self._code_id or new_server_tool_use_id()
            self._code_id = None
            block = {"type": "code_execution_tool_result", "tool_use_id": tool_use_id}
            self._start({**block, "content": code_execution_result(result)}, events)
            return events + self._stop()
        text = part.get("text") or ""
        if not text and signature is None:
            return events  # an empty part (Gemini streams some) must not open an empty block
        if part.get("thought"):
            if self._open != "thinking" or (signature and self._signature):
                events += self._close_open()
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
                events += self._close_open()
                self._start({"type": "text", "text": ""}, events)
                self._open = "text"
            events.append(block_delta(self.block_count - 1, {"type": "text_delta", "text": text}))
        return events

    def _whole_input_block(self, block: JSON, arguments: Any, events: list[Event]) -> None:
        """A block whose input arrives whole: start, one input_json_delta, stop."""
        index = self._start(block, events)
        partial_json = orjson.dumps(arguments).decode()
        events.append(block_delta(index, {"type": "input_json_delta", "partial_json": partial_json}))
        events += self._stop()

    def _close_open(self) -> list[Event]:
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


def _is_answer_text(part: JSON) -> bool:
    return bool(part.get("text")) and not part.get("thought")


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
            elif kind == "citations_delta":
                block.setdefault("citations", []).append(delta["citation"])
    return blocks
