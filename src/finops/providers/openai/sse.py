"""Relay an upstream Chat Completions SSE body as Anthropic SSE frames.

Reads ``data: {...}`` lines up to ``data: [DONE]``, feeds each chunk to ``ChatStreamTranslator`` and yields
``encode_sse`` frames. Errors before the first frame raise (the gateway can still answer with a status and an
error envelope); once frames have gone out the status line is sent, so an error becomes Anthropic's
``event: error`` frame and the stream stops.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import orjson

from finops.core.errors import GatewayError, UpstreamError
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.sse import encode_sse

_DONE = "[DONE]"


async def relay_chat_stream(lines: AsyncGenerator[str, None], translator: ChatStreamTranslator) -> AsyncIterator[bytes]:
    sent = False
    try:
        async with aclosing(lines):
            finished = False
            async for line in lines:
                if not line.startswith("data:"):
                    continue  # blank separators, comments (": keep-alive"), event names
                data = line[5:].strip()
                if data == _DONE:
                    finished = True
                    break
                for event, payload in translator.feed(_parse(data)):
                    sent = True
                    yield encode_sse(event, payload)
        if not finished:
            # Without [DONE] the answer may be cut anywhere; calling it complete would be a lie.
            raise UpstreamError("openai: the upstream stream ended before it was complete")
    except GatewayError as exc:
        if not sent:
            raise
        yield encode_sse("error", {"type": "error", "error": {"type": exc.error_type, "message": exc.message}})
        return
    for event, payload in translator.finish():
        yield encode_sse(event, payload)


def _parse(data: str) -> dict:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError("openai: the upstream stream sent a chunk that is not JSON") from None
    if not isinstance(chunk, dict):
        raise UpstreamError("openai: the upstream stream sent a chunk that is not a JSON object")
    return chunk
