"""One keep-alive HTTP/1.1 client connection: an asyncio protocol whose responses are parsed by ``httptools``
(llhttp, the parser uvicorn serves with). ``finops.providers.pool`` hands these out; it sends one request at a
time on each.

Reading is push-based, as asyncio delivers it: the parser's callbacks record the head, queue body chunks and wake
the one waiting consumer. Reading pauses while more than ``_HIGH_WATER`` bytes wait to be consumed, so a slow
client of a streamed response never makes the gateway buffer the upstream's whole body.

A body may also be handed over as it arrives (``push_to``): the parser's ``on_body`` then calls a
``BodyReceiver`` directly, with no queue, future or task in between (``finops.core.push``). The receiver pauses
the reading itself (``hold``) while its client cannot take more.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Protocol

import httptools
import httpx

_HIGH_WATER = 256 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


class ResponseHead:
    __slots__ = ("headers", "reason", "status")

    def __init__(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers


class BodyReceiver(Protocol):
    """Takes a response body as it arrives (``Connection.push_to``). Called from the connection's protocol
    callbacks: a receiver must not raise, and answers at most one of ``ended`` or ``failed``."""

    def piece(self, data: bytes) -> None: ...

    def ended(self) -> None:
        """The body is complete."""

    def failed(self, error: Exception) -> None:
        """Reading the body failed: an ``httpx.TransportError`` (the connection broke, the read timed out)."""


class Connection(asyncio.Protocol):
    """States: idle (in the pool) → request sent → head received → body read to the end → idle again, or closed
    at any step. ``reusable`` says whether the last response left the connection fit for another request."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        # One timer per connection, not one per wait: see _wait.
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._error: Exception | None = None
        self._closed = False
        self._paused = False
        # the response being read
        self._status_reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: ResponseHead | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._complete = False
        self._keep_alive = False
        self._ends_at_eof = False
        self._received = False
        self._awaiting = False  # a request is out and its response has not ended
        self.idle_since = 0.0
        # a body handed over as it arrives (push_to)
        self._receiver: BodyReceiver | None = None
        self._push_timeout: float | None = None
        self._held = False

    # -- asyncio.Protocol -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._awaiting:
            self.close()  # bytes nobody asked for: the connection can no longer be trusted
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed response from upstream: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._stop_timer()
        if self._head is not None and self._ends_at_eof and not self._complete:
            self._complete = True  # a body without a length ends with the connection
            self._wake()
            self._ended()
        elif not self._complete:
            self._fail(httpx.RemoteProtocolError("the upstream closed the connection before the response ended"))

    # -- httptools callbacks ----------------------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self._status_reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self._status_reason = b""
            self._headers = []
            return
        names = {name.lower() for name, _ in self._headers}
        self._ends_at_eof = (
            status not in _NO_BODY_STATUSES and b"content-length" not in names and b"transfer-encoding" not in names
        )
        self._head = ResponseHead(status, self._status_reason, self._headers)
        self._wake()

    def on_body(self, body: bytes) -> None:
        receiver = self._receiver
        if receiver is not None:
            # (the rest of a read that arrived before a hold still comes; it must not restart the timeout)
            if self._push_timeout is not None and not self._held:
                self._deadline = self._loop.time() + self._push_timeout
            receiver.piece(body)
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._head is None:
            return  # the end of an interim answer
        self._complete = True
        self._awaiting = False
        self._keep_alive = self._parser.should_keep_alive()
        self._wake()
        self._ended()

    # -- used by the pool -------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed or self._transport is None or self._transport.is_closing()

    @property
    def reusable(self) -> bool:
        return self._complete and self._keep_alive and not self._chunks and not self.closed

    @property
    def received_anything(self) -> bool:
        return self._received

    def close(self) -> None:
        self._closed = True
        self._stop_timer()
        if self._transport is not None:
            self._transport.close()

    def send(self, data: bytes) -> None:
        """Start a request: ``data`` is its head and body, written in one go."""
        if self.closed:
            raise httpx.RemoteProtocolError("the connection to the upstream is closed")
        self._status_reason = b""
        self._headers = []
        self._head = None
        self._chunks.clear()
        self._buffered = 0
        self._complete = False
        self._keep_alive = False
        self._ends_at_eof = False
        self._received = False
        self._error = None
        self._awaiting = True
        assert self._transport is not None
        self._transport.write(data)

    async def read_head(self, timeout: float | None) -> ResponseHead:
        while self._head is None:
            await self._wait(timeout)
        return self._head

    async def read_chunk(self, timeout: float | None) -> bytes | None:
        """The next piece of the body, ``None`` once it has all been read."""
        while not self._chunks:
            if self._complete:
                return None
            await self._wait(timeout)
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered <= _HIGH_WATER // 4 and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return chunk

    # -- handing the body over as it arrives -----------------------------------------------------------------

    def push_to(self, receiver: BodyReceiver, timeout: float | None) -> None:
        """From now on the body goes to ``receiver``: what was already read at once, the rest as it arrives. Each
        read must come within ``timeout`` seconds of the previous one (not counting time ``hold`` paused it),
        else ``receiver.failed`` gets an ``httpx.ReadTimeout``. Ends with ``stop_push`` (the receiver's own
        ``ended`` or ``failed`` do not end it)."""
        self._receiver = receiver
        self._push_timeout = timeout
        self._held = False
        while self._chunks and self._receiver is receiver:
            chunk = self._chunks.popleft()
            self._buffered -= len(chunk)
            receiver.piece(chunk)
        if self._receiver is not receiver:
            return  # the receiver stopped while taking what was buffered
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        if self._error is not None:
            receiver.failed(self._error)
        elif self._complete:
            receiver.ended()
        else:
            self._arm(timeout)

    def stop_push(self) -> None:
        """Bytes that still arrive are queued again, for ``read_chunk``."""
        if self._held:
            self.release_hold()
        self._receiver = None

    def hold(self) -> None:
        """Stop reading until ``release_hold``: the receiver's client cannot take more. The read timeout does not
        run meanwhile (it is the client that is slow)."""
        if not self._held and self._transport is not None:
            self._held = True
            self._deadline = math.inf
            self._transport.pause_reading()

    def release_hold(self) -> None:
        if self._held and self._transport is not None:
            self._held = False
            self._arm(self._push_timeout)
            self._transport.resume_reading()

    def _ended(self) -> None:
        receiver = self._receiver
        if receiver is not None:
            receiver.ended()

    # -- waiting ----------------------------------------------------------------------------------------------

    async def _wait(self, timeout: float | None) -> None:
        """Wait for the parser to wake us, at most ``timeout`` seconds.

        A streamed body waits once per upstream event, thousands of times a second with many open streams, so
        arming and cancelling a timer each time (a timer-heap insert and removal) is avoided: each wait only moves
        the connection's deadline, and its one timer, when it fires, either times the waiter out or re-arms itself
        at the deadline that later waits have set."""
        if self._error is not None:
            raise self._error
        waiter = self._waiter = self._loop.create_future()
        self._arm(timeout)
        try:
            await waiter
        finally:
            self._waiter = None

    def _arm(self, timeout: float | None) -> None:
        """The next read is due within ``timeout`` seconds from now."""
        if timeout is None:
            self._deadline = math.inf
        else:
            self._deadline = self._loop.time() + timeout
            if self._timer is None:
                self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        waiter = self._waiter
        waiting = (waiter is not None and not waiter.done()) or self._receiver is not None
        if not waiting or self._deadline == math.inf:
            return  # nothing is waiting with a deadline: the next wait that has one arms the timer again
        if self._loop.time() >= self._deadline:
            error = httpx.ReadTimeout("the upstream did not answer in time")
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
            if self._receiver is not None:
                self._receiver.failed(error)
        else:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        receiver = self._receiver
        if receiver is not None:
            receiver.failed(error)
