"""Bedrock streams (already split into frames by ``eventstream.py``) -> Anthropic SSE events.

Two sources:

- InvokeModelWithResponseStream (Claude): every ``chunk`` frame carries
  ``{"bytes": base64(<Anthropic event>)}``, so the events only need unwrapping and the model name fixing.
- ConverseStream (other families): Converse events are rebuilt into Anthropic's exact sequence
  ``message_start``, per block ``content_block_start`` / ``_delta`` / ``_stop``, ``message_delta``,
  ``message_stop``.

The relay (``finops.providers.relay``) takes the usage from the events both produce.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

import orjson

from finops.core.errors import UpstreamError
from finops.core.ids import new_message_id
from finops.core.types import JSON
from finops.providers.bedrock.answers import from_converse_citation, from_converse_usage, map_stop_reason
from finops.providers.bedrock.translate import AnswerShape
from finops.providers.sse import block_delta, block_start, block_stop, message_end, message_start

SSEEvent = tuple[str, JSON]

# Bedrock's own accounting, appended to the last InvokeModel stream event; not part of Anthropic's dialect.
_INVOCATION_METRICS_KEY = "amazon-bedrock-invocationMetrics"


# ------------------------------------------------------------------------------------------------------------
# InvokeModelWithResponseStream (Anthropic family)
# ------------------------------------------------------------------------------------------------------------


def invoke_stream_events(decoded_payload: JSON) -> SSEEvent | None:
    """The Anthropic event inside one ``chunk`` payload (``{"bytes": ..., "p": padding}``), or None when the
    chunk carries no bytes. The event's own ``type`` is its SSE event name."""
    encoded = decoded_payload.get("bytes")
    if not encoded:
        return None
    try:
        event = orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise UpstreamError("Bedrock sent a stream chunk that is not base64-encoded JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise UpstreamError("Bedrock sent a stream chunk without an event type")
    event.pop(_INVOCATION_METRICS_KEY, None)
    return event["type"], event


class InvokeStreamTranslator:
    """Unwraps InvokeModel stream chunks and reports the requested ``model`` (Bedrock echoes its own name).
    Bedrock's ``message_delta.usage`` holds only ``output_tokens``; the relay completes it from
    ``message_start``, so clients that read the final delta see the input and cache counts too."""

    def __init__(self, model: str, *, message_id: str | None = None) -> None:
        self.model = model
        self.message_id = message_id

    def feed(self, payload: JSON) -> list[SSEEvent]:
        unwrapped = invoke_stream_events(payload)
        if unwrapped is None:
            return []
        event_type, event = unwrapped
        if event_type == "message_start":
            message = event.setdefault("message", {})
            message["model"] = self.model
            if self.message_id:
                message["id"] = self.message_id
        return [(event_type, event)]


# ------------------------------------------------------------------------------------------------------------
# ConverseStream (other families)
# ------------------------------------------------------------------------------------------------------------


class ConverseStreamTranslator:
    """Rebuilds Anthropic's event sequence from ConverseStream events, fed one ``(event_type, payload)`` at a
    time (``payload`` is the event's member structure, e.g. ``{"contentBlockIndex": 0, "delta": {...}}``).

    Usage: Anthropic puts ``input_tokens`` in ``message_start`` but Converse reports all usage only in the
    final ``metadata`` event. Waiting for it would hold back the whole answer, so ``message_start`` carries
    zeros and the real counts (input, output and cache) arrive in ``message_delta.usage``, where Anthropic's
    dialect also allows input and cache counts and the SDK takes them over.

    ``shape`` says how the request was translated: with a forced answer tool (structured output on Nova) the
    tool's streamed input is the answer's text, and text the model says beside it is held back until it is clear
    whether the answer tool is called (then it is left out, as in ``answers.from_converse_response``).
    """

    def __init__(self, *, model: str, message_id: str | None = None, shape: AnswerShape | None = None) -> None:
        self.model = model
        self.message_id = message_id or new_message_id()
        self.shape = shape or AnswerShape()
        self.usage: JSON = from_converse_usage(None)
        self._started = False
        self._finished = False
        self._stop_reason: str | None = None
        # Converse contentBlockIndex -> (Anthropic index, Anthropic block type) for blocks open right now.
        self._open: dict[int, tuple[int, str]] = {}
        self._next_index = 0
        self._tool_called = False
        self._answered_by_tool = False
        # Structured output on Nova: text blocks held back (Converse index -> text) until a tool call decides.
        self._held: dict[int, str] = {}
        self._redacted: dict[int, str] = {}

    def feed(self, event_type: str, payload: JSON) -> list[SSEEvent]:
        if self._finished:
            return []
        events: list[SSEEvent] = []
        if not self._started:
            events.append(self._message_start())
        handler = self._HANDLERS.get(event_type)
        if handler is not None:
            events.extend(handler(self, payload))
        # Unknown event types (new Bedrock additions) are skipped: the Anthropic sequence stays valid.
        return events

    def finish(self) -> list[SSEEvent]:
        """Events still owed when the upstream stream ends. A stream that ends after ``messageStop`` but
        without ``metadata`` is closed normally; one that ends before ``messageStop`` was cut off and
        raises."""
        if self._finished:
            return []
        if self._stop_reason is None:
            raise UpstreamError("Bedrock ConverseStream ended before messageStop")
        events = [] if self._started else [self._message_start()]
        events.extend(self._close_message())
        return events

    # -- handlers ---------------------------------------------------------------------------------------

    def _on_message_start(self, payload: JSON) -> list[SSEEvent]:
        return []  # message_start is emitted by feed() before the first event of any kind

    def _on_block_start(self, payload: JSON) -> list[SSEEvent]:
        tool_use = (payload.get("start") or {}).get("toolUse")
        if tool_use is None:
            return []  # text and reasoning blocks open on their first delta
        index = payload.get("contentBlockIndex", 0)
        if tool_use["name"] == self.shape.json_tool:
            self._answered_by_tool = True
            self._held.clear()  # words beside the structured answer are not part of it
            return self._open_block(index, {"type": "text", "text": ""})
        self._tool_called = True
        events = self._release_held()
        block = {"type": "tool_use", "id": tool_use["toolUseId"], "name": tool_use["name"], "input": {}}
        return events + self._open_block(index, block)

    def _on_block_delta(self, payload: JSON) -> list[SSEEvent]:
        bedrock_index = payload.get("contentBlockIndex", 0)
        delta = payload.get("delta") or {}
        events: list[SSEEvent] = []
        if "text" in delta:
            if self.shape.json_tool is not None and not self._answered_by_tool:
                self._held[bedrock_index] = self._held.get(bedrock_index, "") + delta["text"]
                return events
            if bedrock_index not in self._open:
                events += self._open_block(bedrock_index, {"type": "text", "text": ""})
            events.append(self._delta(bedrock_index, {"type": "text_delta", "text": delta["text"]}))
        elif "toolUse" in delta:
            opened = self._open.get(bedrock_index)
            if opened is None:
                raise UpstreamError("Bedrock sent tool input for a content block it never started")
            partial = delta["toolUse"].get("input", "")
            if opened[1] == "text":  # the answer tool: its input is the answer's text
                events.append(self._delta(bedrock_index, {"type": "text_delta", "text": partial}))
            else:
                events.append(self._delta(bedrock_index, {"type": "input_json_delta", "partial_json": partial}))
        elif "reasoningContent" in delta:
            events += self._on_reasoning_delta(bedrock_index, delta["reasoningContent"])
        elif "citation" in delta:
            citation = from_converse_citation(delta["citation"])
            if citation is not None:
                if bedrock_index not in self._open:
                    events += self._open_block(bedrock_index, {"type": "text", "text": "", "citations": []})
                events.append(self._delta(bedrock_index, {"type": "citations_delta", "citation": citation}))
        return events

    def _on_reasoning_delta(self, bedrock_index: int, reasoning: JSON) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if "redactedContent" in reasoning:
            # Anthropic sends a redacted_thinking block whole, in its content_block_start: collect, send at stop.
            self._redacted[bedrock_index] = self._redacted.get(bedrock_index, "") + reasoning["redactedContent"]
            return events
        if "text" not in reasoning and "signature" not in reasoning:
            return events
        if bedrock_index not in self._open:
            events += self._open_block(bedrock_index, {"type": "thinking", "thinking": "", "signature": ""})
        if "text" in reasoning and not self.shape.hide_thinking:
            events.append(self._delta(bedrock_index, {"type": "thinking_delta", "thinking": reasoning["text"]}))
        if "signature" in reasoning:
            signature_delta = {"type": "signature_delta", "signature": reasoning["signature"]}
            events.append(self._delta(bedrock_index, signature_delta))
        return events

    def _on_block_stop(self, payload: JSON) -> list[SSEEvent]:
        bedrock_index = payload.get("contentBlockIndex", 0)
        opened = self._open.pop(bedrock_index, None)
        # A block that never produced anything (or is held back) was never announced either.
        events = [block_stop(opened[0])] if opened is not None else []
        redacted = self._redacted.pop(bedrock_index, None)
        if redacted is not None:
            index = self._next_index
            self._next_index += 1
            events += [block_start(index, {"type": "redacted_thinking", "data": redacted}), block_stop(index)]
        return events

    def _on_message_stop(self, payload: JSON) -> list[SSEEvent]:
        self._stop_reason = payload.get("stopReason") or "end_turn"
        events = [] if self._answered_by_tool else self._release_held()
        return events + self._close_open_blocks()

    def _on_metadata(self, payload: JSON) -> list[SSEEvent]:
        self.usage = from_converse_usage(payload.get("usage"))
        if self._stop_reason is None:
            return []  # metadata always follows messageStop; if not, wait for it
        return self._close_message()

    _HANDLERS: dict[str, Callable[[ConverseStreamTranslator, JSON], list[SSEEvent]]] = {
        "messageStart": _on_message_start,
        "contentBlockStart": _on_block_start,
        "contentBlockDelta": _on_block_delta,
        "contentBlockStop": _on_block_stop,
        "messageStop": _on_message_stop,
        "metadata": _on_metadata,
    }

    # -- event builders ---------------------------------------------------------------------------------

    def _message_start(self) -> SSEEvent:
        self._started = True
        return message_start(message_id=self.message_id, model=self.model, usage=from_converse_usage(None))

    def _open_block(self, bedrock_index: int, block: JSON) -> list[SSEEvent]:
        index = self._next_index
        self._next_index += 1
        self._open[bedrock_index] = (index, block["type"])
        return [block_start(index, block)]

    def _delta(self, bedrock_index: int, delta: JSON) -> SSEEvent:
        return block_delta(self._open[bedrock_index][0], delta)

    def _release_held(self) -> list[SSEEvent]:
        """Held-back text, as whole text blocks (the structured answer turned out not to come from the tool)."""
        events: list[SSEEvent] = []
        for text in self._held.values():
            index = self._next_index
            self._next_index += 1
            events += [
                block_start(index, {"type": "text", "text": ""}),
                block_delta(index, {"type": "text_delta", "text": text}),
                block_stop(index),
            ]
        self._held.clear()
        return events

    def _close_open_blocks(self) -> list[SSEEvent]:
        events = [block_stop(index) for index, _ in sorted(self._open.values())]
        self._open.clear()
        return events

    def _close_message(self) -> list[SSEEvent]:
        self._finished = True
        events = self._close_open_blocks()
        stop_reason = map_stop_reason(self._stop_reason)
        if self.shape.json_tool is not None and stop_reason == "tool_use" and not self._tool_called:
            stop_reason = "end_turn"  # the only tool call was the answer tool: the answer is complete
        events += message_end(stop_reason=stop_reason, stop_sequence=None, usage=self.usage)
        return events
