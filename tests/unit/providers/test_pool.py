"""The upstream connection pool (``finops.providers.pool``) under the gateway's client, against a scripted
raw-socket server: what goes on the wire, keep-alive reuse, every way a response can end, limits, timeouts and
the count of requests that waited for a connection."""

from __future__ import annotations

import asyncio
import gzip
import socket
from typing import Any

import httpx
import pytest

from finops.providers.client import UpstreamClient
from finops.providers.pool import POOL_WAITED, PoolTransport
from tests.support.scripted_upstream import ScriptedServer, answer, undrained


def client(url: str, *, max_connections: int = 10, timeout: float = 5.0, keepalive: float = 5.0) -> UpstreamClient:
    limits = httpx.Limits(max_connections=max_connections, keepalive_expiry=keepalive)
    return UpstreamClient(url, timeout=httpx.Timeout(timeout), limits=limits)


async def post(
    http: UpstreamClient, path: str, content: bytes = b"x", *, pool_timeout: float | None = None, **options: Any
) -> httpx.Response:
    request = http.build_request("POST", path, content=content, **options)
    if pool_timeout is not None:
        request.extensions["timeout"] = httpx.Timeout(5.0, pool=pool_timeout).as_dict()
    return await http.send(request)


async def get(http: UpstreamClient, path: str, *, stream: bool = False) -> httpx.Response:
    return await http.send(http.build_request("GET", path), stream=stream)


def pool_of(http: UpstreamClient) -> PoolTransport:
    assert isinstance(http.transport, PoolTransport)
    return http.transport


def test_sends_exactly_what_httpx_built_and_reuses_the_connection() -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer(b'{"ok":true}')) as server, client(server.url) as http:
            first = await post(http, "/v1/messages?beta=true", b'{"a":1}', headers={"x-api-key": "k"})
            second = await post(http, "/v1/messages", b"{}")
            assert (first.status_code, first.json(), second.json()) == (200, {"ok": True}, {"ok": True})
            assert first.reason_phrase == "OK"
            assert server.connections == 1
            lines = server.requests[0].split(b"\r\n")
            assert lines[0] == b"POST /v1/messages?beta=true HTTP/1.1"
            port = server.url.rsplit(":", 1)[1].encode()
            assert lines[1] == b"Host: 127.0.0.1:" + port
            assert b"x-api-key: k" in lines and b"Content-Length: 7" in lines
            assert server.requests[0].endswith(b'\r\n\r\n{"a":1}')

    asyncio.run(scenario())


def test_chunked_and_gzip_bodies_are_decoded() -> None:
    packed = gzip.compress(b'{"text":"' + b"x" * 5000 + b'"}')

    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-encoding: gzip\r\n\r\n")
        for start in range(0, len(packed), 100):
            piece = packed[start : start + 100]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            for _ in range(2):
                response = await get(http, "/file")
                assert response.json() == {"text": "x" * 5000}
            assert server.connections == 1

    asyncio.run(scenario())


def test_a_body_without_length_ends_with_the_connection() -> None:
    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()
        return False

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            assert (await get(http, "/")).content == b"all of it"
            assert (await get(http, "/")).content == b"all of it"
            assert server.connections == 2  # connection: close is honoured

    asyncio.run(scenario())


def test_a_truncated_body_is_an_error_and_the_connection_is_not_reused() -> None:
    calls = 0

    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
            await writer.drain()
            return False
        return await answer(b"fine")(_request, writer)

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await post(http, "/")
            assert (await post(http, "/")).content == b"fine"
            assert server.connections == 2

    asyncio.run(scenario())


def test_refused_and_silent_upstreams() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async def silent(_request: bytes, _writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(10)
        return False

    async def scenario() -> None:
        async with client(f"http://127.0.0.1:{closed_port}") as http:
            with pytest.raises(httpx.ConnectError):
                await post(http, "/")
        async with ScriptedServer(silent) as server, client(server.url, timeout=0.2) as http:
            started = asyncio.get_running_loop().time()
            with pytest.raises(httpx.ReadTimeout):
                await post(http, "/")
            assert asyncio.get_running_loop().time() - started < 2

    asyncio.run(scenario())


def test_the_read_timeout_counts_from_each_wait_not_from_the_start_of_a_streamed_body() -> None:
    """Events 0.1 s apart for longer than the 0.3 s read timeout all arrive; the silence after them times out."""

    async def trickle(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for index in range(8):
            writer.write(b"2\r\ne%d\r\n" % index)
            await writer.drain()
            await asyncio.sleep(0.1)
        await asyncio.sleep(10)
        return False

    async def scenario() -> None:
        async with ScriptedServer(trickle) as server, client(server.url, timeout=0.3) as http:
            response = await get(http, "/", stream=True)
            received = []
            with pytest.raises(httpx.ReadTimeout):
                async for chunk in response.aiter_raw():
                    received.append(chunk)
            assert b"".join(received) == b"".join(b"e%d" % index for index in range(8))

    asyncio.run(scenario())


def test_a_connection_the_upstream_closed_while_idle_is_replaced() -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        await answer(b"done")(request, writer)
        return False  # closes after every answer, without saying so

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            assert (await post(http, "/", b"1")).content == b"done"
            await asyncio.sleep(0.05)  # the close reaches the idle connection
            assert (await post(http, "/", b"2")).content == b"done"
            assert server.connections == 2

    asyncio.run(scenario())


def test_the_limit_makes_requests_wait_the_pool_timeout_ends_the_wait_and_waits_are_counted() -> None:
    release = asyncio.Event()

    async def slow(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/slow" in request.split(b"\r\n")[0]:
            await release.wait()
        return await answer(b"ok")(request, writer)

    async def scenario() -> None:
        async with ScriptedServer(slow) as server, client(server.url, max_connections=1) as http:
            first = asyncio.create_task(post(http, "/slow"))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(post(http, "/fast"))
            await asyncio.sleep(0.05)
            assert not second.done()  # waiting for the only connection
            release.set()
            first_response, second_response = await first, await second
            assert first_response.content == b"ok" and second_response.content == b"ok"
            assert server.connections == 1
            assert POOL_WAITED not in first_response.extensions and second_response.extensions[POOL_WAITED]
            assert pool_of(http).waits == 1

            release.clear()
            held = asyncio.create_task(post(http, "/slow"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await post(http, "/fast", pool_timeout=0.1)
            assert pool_of(http).waits == 2  # a wait that ran out counts too
            release.set()
            assert (await held).content == b"ok"
            assert (await post(http, "/fast")).content == b"ok"
            assert pool_of(http).waits == 2

    asyncio.run(scenario())


def test_a_large_stream_arrives_whole_and_an_abandoned_one_frees_its_connection() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: more than the connection buffers before pausing

    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        return await answer(big if b"/big" in request else b"small")(request, writer)

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url, max_connections=1) as http:
            received = bytearray()
            response = await get(http, "/big", stream=True)
            async for chunk in response.aiter_raw():
                received += chunk
                await asyncio.sleep(0)  # a consumer slower than loopback
            await response.aclose()
            assert bytes(received) == big

            response = await get(http, "/big", stream=True)
            async for _chunk in response.aiter_raw():
                break  # the caller stops reading: the connection cannot be reused
            await response.aclose()
            assert (await get(http, "/small")).content == b"small"
            assert server.connections == 2

    asyncio.run(scenario())


def test_a_header_with_a_line_break_is_never_sent() -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer(b"ok")) as server, client(server.url) as http:
            with pytest.raises(httpx.LocalProtocolError):
                await post(http, "/", headers={"anthropic-beta": "a\r\nx-injected: 1"})
            assert server.requests == []

    asyncio.run(scenario())


def test_a_reader_that_stops_reading_stops_the_upstream_instead_of_buffering() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def scenario() -> None:
        async with ScriptedServer(undrained(b"x" * (32 * 1024 * 1024), writers)) as server, client(server.url) as http:
            response = await get(http, "/huge", stream=True)
            await response.aiter_raw().__anext__()
            await asyncio.sleep(0.3)
            # the gateway holds at most a few hundred KiB; the rest waits upstream (or in kernel buffers)
            assert writers[0].transport.get_write_buffer_size() > 16 * 1024 * 1024
            await response.aclose()

    asyncio.run(scenario())


def test_idle_connections_past_their_expiry_are_closed_while_traffic_continues() -> None:
    release = asyncio.Event()

    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/burst" in request.split(b"\r\n")[0]:
            await release.wait()
        return await answer(b"ok")(request, writer)

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url, keepalive=0.2) as http:
            burst = [asyncio.create_task(post(http, "/burst")) for _ in range(3)]
            await asyncio.sleep(0.05)
            release.set()
            await asyncio.gather(*burst)
            assert server.connections == 3
            # steady sequential traffic reuses the newest connection; the two left idle since the burst expire
            for _ in range(8):
                assert (await post(http, "/next")).content == b"ok"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)  # the close reaches the server
            assert (server.connections, server.closed_connections) == (3, 2)

    asyncio.run(scenario())
