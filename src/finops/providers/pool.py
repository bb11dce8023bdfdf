"""The upstream transport: a small keep-alive HTTP/1.1 connection pool of our own behind httpx's public
transport interface (``httpx.AsyncBaseTransport.handle_async_request``).

Why not httpx's or aiohttp's pool: a sequential request to a loopback upstream cost ~250 µs of CPU through httpx
over aiohttp and ~190 µs through bare aiohttp, against ~50 µs on one asyncio protocol with httptools
(``docs/benchmarks.md``, step 6); that difference was most of what the gateway added per request. The parts that
are hard to get right stay in libraries: llhttp (via ``httptools``) parses responses, asyncio does TLS, httpx keeps
building requests, decoding bodies and mapping errors. What is ours is the pooling (``limits``, keep-alive
expiry, a wait for room with the pool timeout) and writing the request head.

A response whose request had to wait for room carries ``POOL_WAITED`` in its ``extensions``, and ``waits`` counts
such requests (those whose wait ran out included): the signal that ``max_connections`` is too low.

Requests whose body is a stream (file uploads) and ``HEAD`` requests go through httpx's own transport instead.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

from finops.providers.connection import BodyReceiver, Connection

Origin = tuple[str, str, int]

POOL_WAITED = "finops.pool_waited"
"""The response extension set when the request waited for a free connection."""

# A request may be sent again on a fresh connection only if a reused connection died before answering anything
# and sending it twice cannot do harm (as Go's net/http does; a POST is never replayed).
_REPLAYABLE = frozenset({"GET", "PUT", "DELETE", "OPTIONS"})


def _time_out_pool(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.PoolTimeout("no upstream connection became free in time"))


def _request_bytes(request: httpx.Request) -> bytes:
    """The request line, headers and body, exactly as httpx built them."""
    raw = request.headers.raw
    head = b"".join([name + b": " + value + b"\r\n" for name, value in raw])
    # every CR and LF in the head must be one of the line ends written here: a header holding a line break
    # would smuggle in headers of its own
    if head.count(b"\n") != len(raw) or head.count(b"\r") != len(raw):
        raise httpx.LocalProtocolError("a request header holds a line break")
    method = request.method.encode("ascii")
    return b"%s %s HTTP/1.1\r\n%s\r\n%s" % (method, request.url.raw_path, head, request.content)


class PooledBody(httpx.AsyncByteStream):
    """A response body read off its connection, which goes back to the pool (or is closed) when the body ends or
    the response is closed. Iterated, it is pulled chunk by chunk; or it is handed to a ``BodyReceiver`` as it
    arrives (``push_to``, see ``finops.core.push``)."""

    def __init__(self, pool: PoolTransport, origin: Origin, connection: Connection, timeout: float | None) -> None:
        self._pool = pool
        self._origin = origin
        self._connection = connection
        self._timeout = timeout
        self._released = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        # Its own iterator, not an async generator: a stream that stops iterating to take the rest by push
        # (``push_to``) drops the iterator, and an async generator dropped unfinished is closed by the event loop's
        # finalizer hook (a thread-safe wake-up, a system call pair and a task per stream).
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._connection.read_chunk(self._timeout)
        if chunk is None:
            self._release()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self._release()

    def push_to(self, receiver: BodyReceiver) -> None:
        """The rest of the body to ``receiver`` as it arrives, each read within the read timeout of the last."""
        self._connection.push_to(receiver, self._timeout)

    def stop_push(self) -> None:
        self._connection.stop_push()

    def hold(self) -> None:
        """Stop reading (and the read timeout) until ``release_hold``: the client cannot take more."""
        self._connection.hold()

    def release_hold(self) -> None:
        self._connection.release_hold()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._connection.stop_push()
            self._pool.release(self._origin, self._connection)


class PoolTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._max_connections = limits.max_connections or 1_000_000
        self._keepalive_expiry = limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0
        self._idle: dict[Origin, deque[Connection]] = {}  # oldest on the left
        self._open = 0  # connections counted against the limit: idle, in use or being opened
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._ssl_context: ssl.SSLContext | None = None
        self._fallback: httpx.AsyncHTTPTransport | None = None
        self._closed = False
        self.waits = 0
        """Requests that found no room under ``max_connections`` and had to wait for it."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.ByteStream) or request.method == "HEAD":
            if self._fallback is None:
                # Built on a worker thread: the first one imports httpcore's async backend and loads the CA bundle,
                # 0.1 to 0.3 s during which the loop (every other request) would wait.
                fallback = await asyncio.to_thread(httpx.AsyncHTTPTransport, limits=self._limits)
                if self._fallback is None:  # another request may have built one meanwhile: keep the first
                    self._fallback = fallback
            return await self._fallback.handle_async_request(request)
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        data = _request_bytes(request)
        waited = False
        while True:
            connection, reused, waited_now = await self._acquire(origin, timeouts.get("connect"), timeouts.get("pool"))
            waited = waited or waited_now
            try:
                connection.send(data)
                head = await connection.read_head(read_timeout)
            except httpx.RemoteProtocolError:
                self._discard(connection)
                if reused and not connection.received_anything and request.method in _REPLAYABLE:
                    continue  # the upstream had closed that idle connection: again, on another one
                raise
            except BaseException:
                self._discard(connection)
                raise
            break
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1", "reason_phrase": head.reason}
        if waited:
            extensions[POOL_WAITED] = True
        return httpx.Response(
            status_code=head.status,
            headers=head.headers,
            stream=PooledBody(self, origin, connection, read_timeout),
            extensions=extensions,
        )

    # -- the pool ---------------------------------------------------------------------------------------------

    async def _acquire(
        self, origin: Origin, connect_timeout: float | None, pool_timeout: float | None
    ) -> tuple[Connection, bool, bool]:
        """An idle connection to ``origin`` or a new one once the limit leaves room; whether it was reused and
        whether the request had to wait."""
        if self._closed:
            raise httpx.ConnectError("the upstream client is closed")
        loop = asyncio.get_running_loop()
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        waited = False
        while True:
            connection = self._take_idle(origin, loop.time())
            if connection is not None:
                return connection, True, waited
            if self._open < self._max_connections or self._close_idle_elsewhere():
                break
            if not waited:
                waited = True
                self.waits += 1
            await self._wait_for_room(loop, deadline)
        self._open += 1
        try:
            return await self._connect(loop, origin, connect_timeout), False, waited
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise

    def _take_idle(self, origin: Origin, now: float) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to have been closed upstream
            if not connection.closed and now - connection.idle_since < self._keepalive_expiry:
                return connection
            self._forget(connection)
        return None

    def _close_idle_elsewhere(self) -> bool:
        """At the limit, an idle connection to another origin gives way to a request that needs one."""
        for idle in self._idle.values():
            if idle:
                self._forget(idle.popleft())
                return True
        return False

    async def _wait_for_room(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        waiter = loop.create_future()
        self._waiting.append(waiter)
        timer = None if deadline is None else loop.call_at(deadline, _time_out_pool, waiter)
        try:
            await waiter
        except BaseException:
            if waiter in self._waiting:
                self._waiting.remove(waiter)  # timed out or cancelled while queued
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._wake_one()  # woken and cancelled at once: the turn goes to the next in line
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self, loop: asyncio.AbstractEventLoop, origin: Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl_context is None:
                # On a worker thread: loading the CA bundle is tens of ms the loop would otherwise wait out.
                context = await asyncio.to_thread(httpx.create_ssl_context)
                if self._ssl_context is None:  # another connection may have made one meanwhile: keep the first
                    self._ssl_context = context
            context = self._ssl_context
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop), host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS
            raise httpx.ConnectError(str(exc)) from exc
        return connection

    def release(self, origin: Origin, connection: Connection) -> None:
        """Back to the pool if the response was read to its end on a connection that stays open, else closed."""
        if connection.reusable and not self._closed:
            now = asyncio.get_running_loop().time()
            idle = self._idle.get(origin)
            if idle is None:
                idle = self._idle[origin] = deque()
            self._close_expired(idle, now)
            connection.idle_since = now
            idle.append(connection)
            self._wake_one()
        else:
            self._discard(connection)

    def _close_expired(self, idle: deque[Connection], now: float) -> None:
        """Close the oldest idle connections once expired or closed upstream, so that after a burst of thousands
        of requests their sockets do not stay open until the upstream drops them."""
        while idle and (idle[0].closed or now - idle[0].idle_since >= self._keepalive_expiry):
            self._discard(idle.popleft())

    def _discard(self, connection: Connection) -> None:
        """Close a connection taken from the pool; its place goes to the next request waiting for one."""
        self._forget(connection)
        self._wake_one()

    def _forget(self, connection: Connection) -> None:
        connection.close()
        self._open -= 1

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                self._forget(connection)
        self._idle.clear()
        if self._fallback is not None:
            await self._fallback.aclose()
