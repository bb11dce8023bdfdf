"""The HTTP protocol the gateway serves with: uvicorn's httptools protocol, with the writes of one event-loop turn
sent as one.

uvicorn writes a response's head as soon as the app sends ``http.response.start`` and its body separately, so every
plain JSON answer cost two ``send`` system calls and reached the client as two segments (waking it twice). Here the
writes made during one turn of the loop are joined and written at the end of that turn: a JSON answer leaves in
one segment, and a stream's chunks still leave as soon as each is produced (at most one turn later).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """The real transport, except that ``write`` waits for the end of the loop turn. Closing sends what waits."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
