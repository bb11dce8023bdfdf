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
from finops.core.push import Push
from finops.providers.http import body_stream, transport_errors
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.pool import PooledBody
from finops.providers.pushed import push_body
from finops.providers.sse import Event, SSEDecoder

_DONE = b"[DONE]"


async def chat_events(
    open_response: Callable[[], Awaitable[httpx.Response]], translator: ChatStreamTranslator, provider: str
) -> AsyncGenerator[list[Event], Push | None]:
    """The Anthropic events of the streamed response ``open_response`` answers (called on the first step), one
    list per upstream read; the response is closed however iteration ends. Sent a ``Push`` (``asend``), it
    delivers the rest of a pooled body through it as it arrives (``finops.core.push``)."""
    response = await open_response()
    decoder = SSEDecoder()
    body = body_stream(response)

    def read(chunk: bytes, events: list[Event]) -> None:
        for _, data in decoder.feed(chunk):
            if data == _DONE:
                events += translator.finish()
                return
            events += translator.feed(_parse(data))

    try:
        with transport_errors(provider):
            async for chunk in body:
                events: list[Event] = []
                try:
                    read(chunk, events)
                except GatewayError:
                    if events:
                        yield events  # what this read completed before the failure still goes out first
                    raise
                if events:
                    push = yield events
                    if push is not None and isinstance(body, PooledBody) and not translator.finished:
                        await push_body(body, read, lambda: translator.finished, push, _cut_off)
                        return
                if translator.finished:
                    return
        raise _cut_off()
    finally:
        await response.aclose()  # also when the client went away mid-stream


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
