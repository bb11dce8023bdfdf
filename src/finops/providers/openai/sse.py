"""An upstream Chat Completions SSE body as Anthropic events, for ``finops.providers.relay``.

Reads ``data: {...}`` events up to ``data: [DONE]`` and feeds each chunk to ``ChatStreamTranslator``. A body
that ends without ``[DONE]`` was cut off and raises: the relay then tells the client with ``event: error``.

The events of one upstream read are yielded together (the relay writes them as one frame), straight off the
response's byte stream (``finops.providers.pushed.events_by_read``, which Gemini and Bedrock share): with thousands
of open streams every generator layer is resumed once per read, so opening the response, mapping transport errors
and closing it happen in that one generator rather than in layers of their own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from finops.core.errors import UpstreamError
from finops.core.push import Push
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.pushed import events_by_read
from finops.providers.sse import Event, SSEDecoder

_DONE = b"[DONE]"


def chat_events(
    open_response: Callable[[], Awaitable[httpx.Response]], translator: ChatStreamTranslator, provider: str
) -> AsyncGenerator[list[Event], Push | None]:
    """The Anthropic events of the streamed response ``open_response`` answers (``events_by_read``), up to
    ``data: [DONE]``; a body that ends before it was cut off."""
    decoder = SSEDecoder()

    def read(chunk: bytes, events: list[Event]) -> None:
        for _, data in decoder.feed(chunk):
            if data == _DONE:
                events += translator.finish()
                return
            events += translator.feed(_parse(data))

    return events_by_read(open_response, read, provider, finished=lambda: translator.finished, cut_off=_cut_off)


def _cut_off() -> UpstreamError:
    # Without [DONE] the answer may be cut anywhere; calling it complete would be a lie.
    return UpstreamError("openai: the upstream stream ended before it was complete")


def _parse(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError("openai: the upstream stream sent a chunk that is not JSON") from None
    if not isinstance(chunk, dict):
        raise UpstreamError("openai: the upstream stream sent a chunk that is not a JSON object")
    return chunk
