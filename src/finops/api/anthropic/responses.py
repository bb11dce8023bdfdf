"""Response helpers: orjson bodies and streamed bodies that surface upstream errors before the status line."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from finops.api.middleware import client_channel, server_send
from finops.core.push import ClientGone, Push, may_end_stream


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


async def streamed(
    chunks: AsyncIterator[bytes],
    media_type: str,
    headers: dict[str, str] | None = None,
    *,
    rest: AsyncIterator[bytes] | None = None,
) -> StreamingResponse:
    """Pull the first chunk before answering so an upstream failure still gets its own status and envelope.
    ``rest``: where the chunks after the first come from, when not from ``chunks`` itself (a wrapper that only
    matters for the first, see ``AnswerFrames.rest``)."""
    iterator = aiter(chunks)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        first = b""
    return _ChunkedResponse(first, rest if rest is not None else iterator, media_type, headers)


class _ChunkedResponse(StreamingResponse):
    """A streamed body written straight to the server, one ``send`` per chunk, with no task of its own.

    Starlette's ``StreamingResponse`` runs every body in an anyio task group beside a task that waits for the
    client to leave (about 7 KB and two tasks per open stream, and an await through every middleware per chunk).
    Here the start message goes through the middleware as usual; the chunks go to the server's own ``send``
    (``finops.api.middleware.server_send``), and a client that has gone is noticed before its next chunk is sent:
    the chunks are then closed at once (which closes the upstream response and prices what was streamed).
    Under a server that cannot say whether the client is still there, Starlette's own way applies. Where the server
    offers the client's connection (``finops serve``), the stream is sent a ``Push`` and writes what it can there
    itself (``finops.core.push``).
    """

    def __init__(
        self, first: bytes, rest: AsyncIterator[bytes], media_type: str, headers: Mapping[str, str] | None
    ) -> None:
        super().__init__(rest, media_type=media_type, headers=headers)
        self._first = first
        self._rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = server_send(scope)
        if direct is None:
            self.body_iterator = self._chained()
            await super().__call__(scope, receive, send)
            return
        body_send, client_gone = direct
        rest = self._rest
        channel = client_channel(scope)
        chunks = rest
        if channel is not None and isinstance(rest, AsyncGenerator):
            chunks = _unpushed(rest, Push(channel.write_chunk, channel))
        holding = False  # writes held, to leave with the next one (finops.http_protocol)
        try:
            if channel is not None:
                holding = True  # the head goes out with the first frame
                channel.hold_writes()
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if self._first:
                await body_send({"type": "http.response.body", "body": self._first, "more_body": True})
            if holding:
                holding = False
                channel.release_writes()  # type: ignore[union-attr]
            async for chunk in chunks:
                if holding:  # the ending frame was not the end after all
                    holding = False
                    channel.release_writes()  # type: ignore[union-attr]
                if client_gone():
                    return
                if channel is not None and may_end_stream(chunk):
                    # Nothing follows an ending frame (the governor holds it back to the end): it goes out with
                    # the end of the body, unless the stream goes on after all.
                    holding = True
                    channel.hold_writes()
                await body_send({"type": "http.response.body", "body": chunk, "more_body": True})
            await body_send({"type": "http.response.body", "body": b"", "more_body": False})
        except ClientGone:
            return  # the client left a pushed stream: the stream has recorded what it streamed
        finally:
            if holding:
                channel.release_writes()  # type: ignore[union-attr]
            if chunks is not rest:
                await _close(chunks)
            await _close(rest)

    async def _chained(self) -> AsyncIterator[bytes]:
        try:
            if self._first:
                yield self._first
            async for chunk in self._rest:
                yield chunk
        finally:
            await _close(self._rest)


async def _unpushed(frames: AsyncGenerator[bytes, Any], push: Push) -> AsyncGenerator[bytes, None]:
    """The frames a stream could not push (``finops.core.push``): it wrote the others to the client's connection
    itself. What comes back here needed the request's task: a frame held back until its usage row is durable, an
    error frame, the frames of a stream that cannot push."""
    while True:
        try:
            frame = await frames.asend(push)
        except StopAsyncIteration:
            return
        yield frame


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
