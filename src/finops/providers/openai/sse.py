"""An upstream Chat Completions SSE body as Anthropic events, for ``finops.providers.relay``.

Reads ``data: {...}`` events up to ``data: [DONE]`` and feeds each chunk to ``ChatStreamTranslator``. A body
that ends without ``[DONE]`` was cut off and raises: the relay then tells the client with ``event: error``.

The events of one upstream read are yielded together (the relay writes them as one frame), straight off the
response's byte stream: with thousands of open streams every generator layer is resumed once per event, so
opening the response, mapping transport errors and closing it happen here rather than in layers of their own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from finops.core.errors import GatewayError, UpstreamError
from finops.providers.http import body_stream, transport_errors
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.sse import Event, SSEDecoder

_DONE = b"[DONE]"


async def chat_events(
    open_response: Callable[[], Awaitable[httpx.Response]], translator: ChatStreamTranslator, provider: str
) -> AsyncGenerator[list[Event], None]:
    """The Anthropic events of the streamed response ``open_response`` answers (called on the first step), one
    list per upstream read; the response is closed however iteration ends."""
    response = await open_response()
    decoder = SSEDecoder()
    try:
        with transport_errors(provider):
            async for chunk in body_stream(response):
                events: list[Event] = []
                try:
                    for _, data in decoder.feed(chunk):
                        if data == _DONE:
                            events += translator.finish()
                            break
                        events += translator.feed(_parse(data))
                except GatewayError:
                    if events:
                        yield events  # what this read completed before the failure still goes out first
                    raise
                if events:
                    yield events
                if translator.finished:
                    return
        # Without [DONE] the answer may be cut anywhere; calling it complete would be a lie.
        raise UpstreamError("openai: the upstream stream ended before it was complete")
    finally:
        await response.aclose()  # also when the client went away mid-stream


def _parse(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError("openai: the upstream stream sent a chunk that is not JSON") from None
    if not isinstance(chunk, dict):
        raise UpstreamError("openai: the upstream stream sent a chunk that is not a JSON object")
    return chunk
