"""Response helpers: orjson bodies and streamed bodies that surface upstream errors before the status line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


async def streamed(
    chunks: AsyncIterator[bytes], media_type: str, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """Pull the first chunk before answering so an upstream failure still gets its own status and envelope."""
    iterator = aiter(chunks)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        first = b""

    async def body() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in iterator:
            yield chunk

    return StreamingResponse(body(), media_type=media_type, headers=headers)
