"""The upstream connection pool (``finops.providers.pool``), against a scripted raw-socket server: what goes on
the wire, keep-alive reuse, every way a response can end, limits and timeouts."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from finops.providers.pool import PoolTransport

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # answers one request; False: close the connection


class ScriptedServer:
    """Reads whole requests (head + content-length body) and answers each with ``reply``; records what came."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
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
            writer.close()


def answer(body: bytes, *, headers: bytes = b"") -> Reply:
    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n" % (len(body), headers) + body)
        await writer.drain()
        return True

    return reply


def client(url: str, **limits: float) -> httpx.AsyncClient:
    pool_limits = httpx.Limits(max_connections=int(limits.pop("max_connections", 10)), keepalive_expiry=5.0)
    return httpx.AsyncClient(
        base_url=url, transport=PoolTransport(pool_limits), timeout=httpx.Timeout(limits.pop("timeout", 5.0))
    )


def test_sends_exactly_what_httpx_built_and_reuses_the_connection() -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer(b'{"ok":true}')) as server, client(server.url) as http:
            first = await http.post("/v1/messages?beta=true", content=b'{"a":1}', headers={"x-api-key": "k"})
            second = await http.post("/v1/messages", content=b"{}")
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
                response = await http.get("/file")
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
            assert (await http.get("/")).content == b"all of it"
            assert (await http.get("/")).content == b"all of it"
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
                await http.post("/", content=b"x")
            assert (await http.post("/", content=b"x")).content == b"fine"
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
                await http.post("/", content=b"x")
        async with ScriptedServer(silent) as server, client(server.url, timeout=0.2) as http:
            started = asyncio.get_running_loop().time()
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/", content=b"x")
            assert asyncio.get_running_loop().time() - started < 2

    asyncio.run(scenario())


def test_a_connection_the_upstream_closed_while_idle_is_replaced() -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        await answer(b"done")(request, writer)
        return False  # closes after every answer, without saying so

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url) as http:
            assert (await http.post("/", content=b"1")).content == b"done"
            await asyncio.sleep(0.05)  # the close reaches the idle connection
            assert (await http.post("/", content=b"2")).content == b"done"
            assert server.connections == 2

    asyncio.run(scenario())


def test_the_limit_makes_requests_wait_and_the_pool_timeout_ends_the_wait() -> None:
    release = asyncio.Event()

    async def slow(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/slow" in request.split(b"\r\n")[0]:
            await release.wait()
        return await answer(b"ok")(request, writer)

    async def scenario() -> None:
        async with ScriptedServer(slow) as server, client(server.url, max_connections=1) as http:
            first = asyncio.create_task(http.post("/slow", content=b"x"))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(http.post("/fast", content=b"x"))
            await asyncio.sleep(0.05)
            assert not second.done()  # waiting for the only connection
            release.set()
            assert (await first).content == b"ok" and (await second).content == b"ok"
            assert server.connections == 1

            release.clear()
            held = asyncio.create_task(http.post("/slow", content=b"x"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await http.post("/fast", content=b"x", timeout=httpx.Timeout(5.0, pool=0.1))
            release.set()
            assert (await held).content == b"ok"
            assert (await http.post("/fast", content=b"x")).content == b"ok"

    asyncio.run(scenario())


def test_a_large_stream_arrives_whole_and_an_abandoned_one_frees_its_connection() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: more than the connection buffers before pausing

    async def reply(request: bytes, writer: asyncio.StreamWriter) -> bool:
        return await answer(big if b"/big" in request else b"small")(request, writer)

    async def scenario() -> None:
        async with ScriptedServer(reply) as server, client(server.url, max_connections=1) as http:
            received = bytearray()
            async with http.stream("GET", "/big") as response:
                async for chunk in response.aiter_raw():
                    received += chunk
                    await asyncio.sleep(0)  # a consumer slower than loopback
            assert bytes(received) == big

            async with http.stream("GET", "/big") as response:
                async for _chunk in response.aiter_raw():
                    break  # the caller stops reading: the connection cannot be reused
            assert (await http.get("/small")).content == b"small"
            assert server.connections == 2

    asyncio.run(scenario())


def test_a_header_with_a_line_break_is_never_sent() -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer(b"ok")) as server, client(server.url) as http:
            with pytest.raises(httpx.LocalProtocolError):
                await http.post("/", content=b"x", headers={"anthropic-beta": "a\r\nx-injected: 1"})
            assert server.requests == []

    asyncio.run(scenario())


def test_a_reader_that_stops_reading_stops_the_upstream_instead_of_buffering() -> None:
    huge = b"x" * (32 * 1024 * 1024)
    writers: list[asyncio.StreamWriter] = []

    async def reply(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writers.append(writer)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(huge) + huge)
        return True  # no drain: what the client does not take stays in the server's buffer

    async def scenario() -> None:
        async with (
            ScriptedServer(reply) as server,
            client(server.url) as http,
            http.stream("GET", "/huge") as response,
        ):
            await response.aiter_raw().__anext__()
            await asyncio.sleep(0.3)
            # the gateway holds at most a few hundred KiB; the rest waits upstream (or in kernel buffers)
            assert writers[0].transport.get_write_buffer_size() > 16 * 1024 * 1024

    asyncio.run(scenario())
