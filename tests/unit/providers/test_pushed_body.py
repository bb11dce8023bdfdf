"""A pooled body handed over as it arrives (``PooledBody.push_to``, ``push_body``, ``finops.core.push``), against a
scripted raw-socket server: order and completeness, the connection's reuse, the read timeout, the hold a slow
client puts on the upstream, a client that leaves, and a push that is cancelled."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from finops.core.push import ClientGone, Push
from finops.providers.client import UpstreamClient
from finops.providers.pool import PooledBody
from finops.providers.pushed import push_body
from tests.support.channels import FakeChannel
from tests.support.scripted_upstream import ScriptedServer, answer, chunked, undrained


class Collector:
    """A ``BodyReceiver`` that keeps what it is given and resolves ``done`` at the end."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.done: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def piece(self, data: bytes) -> None:
        assert not self.done.done(), "a piece after the end"
        self.pieces.append(data)

    def ended(self) -> None:
        self.done.set_result(None)

    def failed(self, error: Exception) -> None:
        self.done.set_result(error)


def client(url: str, *, timeout: float = 5.0) -> UpstreamClient:
    return UpstreamClient(url, timeout=httpx.Timeout(timeout), limits=httpx.Limits(max_connections=1))


async def streamed(http: UpstreamClient, path: str) -> tuple[httpx.Response, PooledBody]:
    response = await http.send(http.build_request("GET", path), stream=True)
    assert isinstance(response.stream, PooledBody)
    return response, response.stream


def test_what_was_read_before_and_what_arrives_after_the_hand_over_comes_in_order_and_the_connection_is_reused() -> (
    None
):
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/small" in request:
            return await answer(b"small")(request, writer)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for index in range(6):
            writer.write(b"2\r\ne%d\r\n" % index)
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
        return True

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            response, body = await streamed(http, "/stream")
            first = await aiter(body).__anext__()
            await asyncio.sleep(0.12)  # more arrives and is queued before the hand-over
            collector = Collector()
            body.push_to(collector)
            assert await collector.done is None
            body.stop_push()
            assert first + b"".join(collector.pieces) == b"e0e1e2e3e4e5"
            await response.aclose()
            assert (await http.send(http.build_request("GET", "/small"))).content == b"small"
            assert server.connections == 1

    asyncio.run(scenario())


def test_the_read_timeout_counts_from_each_pushed_read_and_a_silence_fails_the_receiver() -> None:
    async def trickle(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\ns-\r\n")
        for index in range(8):
            await asyncio.sleep(0.1)
            writer.write(b"2\r\ne%d\r\n" % index)
            await writer.drain()
        await asyncio.sleep(10)
        return False

    async def scenario() -> None:
        async with ScriptedServer(trickle) as server, client(server.url, timeout=0.3) as http:
            response, body = await streamed(http, "/")
            await aiter(body).__anext__()
            collector = Collector()
            body.push_to(collector)
            error = await collector.done  # 0.8 s of events 0.1 s apart, then silence past the 0.3 s timeout
            assert isinstance(error, httpx.ReadTimeout)
            assert b"".join(collector.pieces) == b"".join(b"e%d" % index for index in range(8))
            body.stop_push()
            await response.aclose()

    asyncio.run(scenario())


def test_a_hold_stops_reading_without_timing_out_and_the_whole_body_arrives_after_it() -> None:
    """While held, the upstream's bytes stay on its side (its send buffer grows) and the 0.3 s read timeout
    does not run; released, the rest arrives whole."""
    huge = bytes(range(256)) * (64 * 1024)  # 16 MiB
    writers: list[asyncio.StreamWriter] = []

    async def scenario() -> None:
        async with ScriptedServer(undrained(huge, writers)) as server, client(server.url, timeout=0.3) as http:
            response, body = await streamed(http, "/huge")
            first = await aiter(body).__anext__()
            collector = Collector()
            body.push_to(collector)
            body.hold()
            await asyncio.sleep(0.8)
            assert not collector.done.done()  # no timeout while held
            taken = len(first) + sum(map(len, collector.pieces))
            assert taken < 4 * 1024 * 1024  # what the kernel buffers, not the body
            assert writers[0].transport.get_write_buffer_size() > 8 * 1024 * 1024
            body.release_hold()
            assert await collector.done is None
            assert first + b"".join(collector.pieces) == huge
            body.stop_push()
            await response.aclose()

    asyncio.run(scenario())


def pushed(body: PooledBody, channel: FakeChannel) -> Awaitable[None]:
    def read(data: bytes, events: list[Any]) -> None:
        events.append(data)

    def deliver(events: list[Any]) -> None:
        for event in events:
            channel.write_chunk(event)

    return push_body(body, read, lambda: False, Push(deliver, channel), lambda: AssertionError("cut off"))


def test_a_client_that_leaves_ends_the_push_at_once_while_the_upstream_is_silent() -> None:
    async def scenario() -> None:
        async with ScriptedServer(chunked([b"a", b"b"], end=False, hang=30)) as server, client(server.url) as http:
            response, body = await streamed(http, "/")
            await aiter(body).__anext__()
            channel = FakeChannel()
            push = asyncio.ensure_future(pushed(body, channel))
            await asyncio.sleep(0.2)
            assert channel.written == [b"b"]
            channel.leave()
            with pytest.raises(ClientGone):
                await asyncio.wait_for(push, timeout=2)  # not when the upstream's next word comes (in 30 s)
            await response.aclose()

    asyncio.run(scenario())


def test_a_cancelled_push_hands_the_body_back_to_reading() -> None:
    """What arrives after the push was cancelled is read the pull way, not given to the stopped receiver."""

    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n")
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.write(b"1\r\nb\r\n0\r\n\r\n")
        await writer.drain()
        return True

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            response, body = await streamed(http, "/")
            chunks = aiter(body)
            assert await anext(chunks) == b"a"
            channel = FakeChannel()
            push = asyncio.ensure_future(pushed(body, channel))
            await asyncio.sleep(0.1)
            push.cancel()
            with pytest.raises(asyncio.CancelledError):
                await push
            assert [chunk async for chunk in chunks] == [b"b"]
            assert channel.written == []
            await response.aclose()

    asyncio.run(scenario())


def test_a_body_left_for_a_push_leaves_the_event_loop_no_generator_to_finalize() -> None:
    """A stream reads its first piece by iterating the body, then takes the rest by push and drops the iterator.
    Dropped unfinished, an async generator would be handed to the loop's finalizer hook (a thread-safe wake-up and
    a task to close it, per stream); the body's iterator is no generator."""
    finalized: list[object] = []

    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\ne0\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"2\r\ne1\r\n0\r\n\r\n")
        return True

    async def scenario() -> None:
        sys.set_asyncgen_hooks(firstiter=lambda _: None, finalizer=finalized.append)
        async with ScriptedServer(reply) as server, client(server.url) as http:
            response, body = await streamed(http, "/stream")
            read: list[bytes] = []
            async for piece in body:
                read.append(piece)
                break  # as a stream does once a push comes
            collector = Collector()
            body.push_to(collector)
            assert await collector.done is None
            body.stop_push()
            await response.aclose()
            assert b"".join(read + collector.pieces) == b"e0e1"
        gc.collect()

    asyncio.run(scenario())
    assert finalized == []
