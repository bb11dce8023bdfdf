"""A scripted raw-socket HTTP/1.1 server for client tests: reads whole requests (head + content-length body),
answers each with a coroutine of the test's and records what came."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # answers one request; False: close the connection


class ScriptedServer:
    """Reads whole requests (head + content-length body) and answers each with ``reply``; records what came."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed_connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.reply(request, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed_connections += 1
            writer.close()


def answer(body: bytes, *, headers: bytes = b"") -> Reply:
    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n" % (len(body), headers) + body)
        await writer.drain()
        return True

    return reply


def undrained(body: bytes, writers: list[asyncio.StreamWriter]) -> Reply:
    """Answers with ``body`` written at once and never drained: what the client does not read stays in this
    server's send buffer. ``writers`` gets each answer's writer, to look at that buffer."""

    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writers.append(writer)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        return True

    return reply


def chunked(pieces: list[bytes], *, pause: float = 0.0, end: bool = True, hang: float = 0.0) -> Reply:
    """An event stream sent as one chunk per piece, ``pause`` seconds apart (each its own read when > 0); then the
    chunked end, or (``end=False``) the connection closed inside the body after ``hang`` seconds of silence."""

    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in pieces:
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if pause:
                await writer.drain()
                await asyncio.sleep(pause)
        if end:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(hang)
        return end

    return reply
