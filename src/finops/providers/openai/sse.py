"""An upstream Chat Completions SSE body as Anthropic events, for ``finops.providers.relay``.

Reads ``data: {...}`` events up to ``data: [DONE]`` and feeds each chunk to ``ChatStreamTranslator``. A body
that ends without ``[DONE]`` was cut off and raises: the relay then tells the client with ``event: error``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from finops.core.errors import UpstreamError
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.sse import Event, SSEDecoder

_DONE = b"[DONE]"


async def chat_events(chunks: AsyncIterator[bytes], translator: ChatStreamTranslator) -> AsyncIterator[Event]:
    """The Anthropic events for the body read from ``chunks`` (the caller closes the response they come from)."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for _, data in decoder.feed(chunk):
            if data == _DONE:
                for event in translator.finish():
                    yield event
                return
            for event in translator.feed(_parse(data)):
                yield event
    # Without [DONE] the answer may be cut anywhere; calling it complete would be a lie.
    raise UpstreamError("openai: the upstream stream ended before it was complete")


def _parse(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError("openai: the upstream stream sent a chunk that is not JSON") from None
    if not isinstance(chunk, dict):
        raise UpstreamError("openai: the upstream stream sent a chunk that is not a JSON object")
    return chunk
