"""``finops serve``'s HTTP protocol writes a response's head with its body, and a streamed answer's last frame with
the end of its body: one system call (and one packet to the client) each instead of two
(``finops.http_protocol``). Checked on the writes the protocol makes to its transport, with the real middleware
and the real streamed response; pushed chunks keep their place behind what uvicorn wrote before them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.config import Config
from uvicorn.server import ServerState

from finops.api.anthropic.responses import json_response, streamed
from finops.api.middleware import GatewayMiddleware
from finops.http_protocol import BoundedHeadHttpToolsProtocol, TransportChannel

FRAMES = [
    b'event: message_start\ndata: {"type":"message_start"}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n',
    b'event: message_delta\ndata: {}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
]


class RecordingTransport(asyncio.Transport):
    """A client connection that keeps each write as it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _frames() -> AsyncIterator[bytes]:
    for frame in FRAMES:
        yield frame


async def _stream(request: Request) -> Response:
    return await streamed(_frames(), "text/event-stream")


async def _json(request: Request) -> Response:
    return json_response({"ok": True})


def _serve(request: bytes) -> list[bytes]:
    """The writes ``finops serve``'s protocol makes answering ``request`` on one connection."""

    async def run() -> list[bytes]:
        app = Starlette(routes=[Route("/stream", _stream), Route("/json", _json)])
        config = Config(GatewayMiddleware(app, CollectorRegistry()), http=BoundedHeadHttpToolsProtocol, lifespan="off")
        config.load()
        transport = RecordingTransport()
        protocol = BoundedHeadHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)
        protocol.data_received(request)
        for _ in range(200):  # until the answer has ended
            await asyncio.sleep(0.001)
            if transport.writes and transport.writes[-1].endswith((b"0\r\n\r\n", b'{"ok":true}')):
                break
        protocol.connection_lost(None)
        return transport.writes

    return asyncio.run(run())


def test_a_json_answer_leaves_in_one_write() -> None:
    writes = _serve(b"GET /json HTTP/1.1\r\nhost: gateway\r\n\r\n")
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b'\r\n\r\n{"ok":true}')


def test_a_streamed_answer_sends_its_head_with_the_first_frame_and_its_last_frame_with_the_end() -> None:
    writes = _serve(b"GET /stream HTTP/1.1\r\nhost: gateway\r\n\r\n")
    chunk = [b"%x\r\n%s\r\n" % (len(frame), frame) for frame in FRAMES]
    assert len(writes) == 3
    head, _, first = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in head
    assert first == chunk[0]
    assert writes[1] == chunk[1]
    assert writes[2] == chunk[2] + b"0\r\n\r\n"


def test_a_pushed_chunk_and_a_close_come_after_what_was_held() -> None:
    transport = RecordingTransport()
    channel = TransportChannel(transport)
    channel.hold_writes()
    channel.write(b"head")
    assert transport.writes == []
    channel.write_chunk(b"pushed")
    assert transport.writes == [b"head", b"6\r\npushed\r\n"]

    channel.hold_writes()
    channel.write(b"last")
    channel.write(b"0\r\n\r\n")
    channel.close()
    assert transport.writes[2:] == [b"last0\r\n\r\n"]
    assert transport.closed
