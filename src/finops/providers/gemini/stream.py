"""Gemini ``streamGenerateContent?alt=sse`` chunks -> the exact Anthropic Messages event sequence.

``GenerateStreamTranslator`` is pure and synchronous: ``generate_events`` parses each SSE event's data into a
GenerateContentResponse, feeds it there, and hands the returned events to ``finops.providers.relay``. Blocks come
from the same ``BlockAssembler`` the non-streaming translation uses, so both paths agree part for part.

    message_start
    (content_block_start, content_block_delta*, content_block_stop)*   thinking / text / tool_use / server tools
    message_delta    stop_reason + usage (from the last usageMetadata seen)
    message_stop

With Google Search offered (``grounded``), the answer after the thinking is held back to the end of the stream:
Gemini says what it searched and cites only in its last chunk, and Anthropic's blocks put the searches first.

The events of one upstream read are yielded together (the relay writes them as one frame), straight off the
response's byte stream, and pushed once the relay sends a ``Push`` (``finops.core.push``), as
``finops.providers.openai.sse`` does for Chat Completions.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from finops.core.errors import UpstreamError
from finops.core.ids import new_message_id
from finops.core.push import Push
from finops.providers.gemini.blocks import BlockAssembler, Event
from finops.providers.gemini.translate import (
    JSON,
    candidate_parts,
    first_candidate,
    from_gemini_error,
    map_stop_reason,
    map_usage,
)
from finops.providers.pushed import events_by_read
from finops.providers.sse import SSEDecoder, message_end, message_start


class GenerateStreamTranslator:
    """Feed it every chunk of one Gemini stream, then call ``finish()`` once the stream has ended.

    ``usage`` holds the Anthropic usage known so far (final after ``finish()``), ``stop_reason`` the final
    stop reason once finished."""

    def __init__(self, *, model: str, message_id: str | None = None, grounded: bool = False) -> None:
        self.model = model
        self.message_id = message_id or new_message_id()
        self.usage: JSON = map_usage(None)
        self.stop_reason: str | None = None
        self._assembler = BlockAssembler(grounded=grounded)
        self._usage_metadata: JSON | None = None
        self._grounding: JSON | None = None
        self._started = False
        self._finished = False
        self._finish_reason: str | None = None
        self._block_reason: str | None = None
        self._saw_candidate = False

    def feed(self, chunk: JSON) -> list[Event]:
        """Events for one parsed GenerateContentResponse chunk. An error envelope in the stream raises the
        matching ``GatewayError`` (the adapter then sends an ``error`` event)."""
        if self._finished:
            return []
        if isinstance(chunk.get("error"), dict):
            raise from_gemini_error(200, chunk)
        events: list[Event] = []
        if chunk.get("usageMetadata"):
            self._usage_metadata = chunk["usageMetadata"]
            self.usage = map_usage(self._usage_metadata)
        if not self._started:
            events.append(self._message_start())
        block_reason = (chunk.get("promptFeedback") or {}).get("blockReason")
        if block_reason:
            self._block_reason = block_reason
        candidate = first_candidate(chunk)
        if candidate is not None:
            self._saw_candidate = True
            for part in candidate_parts(candidate):
                events += self._assembler.add_part(part)
            if candidate.get("finishReason"):
                self._finish_reason = candidate["finishReason"]
            if isinstance(candidate.get("groundingMetadata"), dict):
                self._grounding = candidate["groundingMetadata"]
        return events

    def finish(self) -> list[Event]:
        """Close the open block and end the message. Safe to call once; later calls return nothing. A stream
        that ended with neither a finish reason nor a blocked prompt was cut off, and raises ``UpstreamError``."""
        if self._finished:
            return []
        if self._finish_reason is None and self._block_reason is None:
            raise UpstreamError("the gemini upstream ended its stream before a finish reason")
        self._finished = True
        events: list[Event] = []
        if not self._started:
            events.append(self._message_start())
        events += self._assembler.close(self._grounding)
        self.usage = map_usage(self._usage_metadata, web_search_requests=self._assembler.web_search_requests)
        self.stop_reason = map_stop_reason(
            self._finish_reason,
            has_tool_use=self._assembler.has_tool_use,
            block_reason=None if self._saw_candidate else self._block_reason,
        )
        events += message_end(stop_reason=self.stop_reason, stop_sequence=None, usage=self.usage)
        return events

    def _message_start(self) -> Event:
        self._started = True
        # Output is not known yet; Gemini's first chunk already carries the prompt count.
        usage = {
            "input_tokens": self.usage["input_tokens"],
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": self.usage["cache_read_input_tokens"],
            "output_tokens": 0,
        }
        return message_start(message_id=self.message_id, model=self.model, usage=usage)


def generate_events(
    open_response: Callable[[], Awaitable[httpx.Response]], translator: GenerateStreamTranslator, provider: str
) -> AsyncGenerator[list[Event], Push | None]:
    """The Anthropic events of the ``streamGenerateContent?alt=sse`` response ``open_response`` answers
    (``events_by_read``). Gemini sends nothing after its last chunk: the end of the body ends the message
    (``finish``, which tells whether the answer was whole)."""
    decoder = SSEDecoder()

    def read(chunk: bytes, events: list[Event]) -> None:
        for _, data in decoder.feed(chunk):
            parsed = _parse(data)
            if isinstance(parsed, dict):  # anything else carries nothing to translate
                events += translator.feed(parsed)

    return events_by_read(open_response, read, provider, closing=translator.finish)


def _parse(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the gemini upstream sent an unreadable stream event") from exc
