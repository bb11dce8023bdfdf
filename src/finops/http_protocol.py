"""The HTTP/1.1 protocol ``finops serve`` runs: uvicorn's httptools protocol with a bound on a request's head.

uvicorn's httptools protocol has no limit on the request line and headers: the parser buffers a header value
until it ends, so one unauthenticated 200 MB header grew the process by 290 MB. An ASGI middleware cannot help
(the app is called only once the head is complete, after it was buffered). So the bound sits where bytes come in:
``data_received`` counts the bytes of the current request's head and feeds the parser only up to the limit; a head
still incomplete past it is answered ``431 Request Header Fields Too Large`` in the Anthropic error envelope and
the connection is closed. What a connection may buffer is thereby the limit plus one read (asyncio reads at most
256 KiB at a time).

Closing a socket whose peer is still sending makes the kernel answer with a reset, which can destroy the 431
before the client reads it. So the close lingers, as nginx's does: the answer goes out followed by a FIN, what
the client still sends is read and dropped unparsed, and the socket closes when the client closes its side or
after ``LINGER_SECONDS``.

It also offers each request the client's connection as a ``ClientChannel`` (the ``finops.client_channel`` scope
extension, ``finops.core.push``): a streamed answer writes its body chunks there from the upstream's callbacks,
without a task wake-up and an ASGI ``send`` per event. The protocol's own asyncio callbacks tell the channel when
the send buffer is full or has drained (``pause_writing``/``resume_writing``) and when the client has gone.

uvicorn writes a response's head as soon as the application starts it, and the first body part separately: two
system calls, two packets and two wake-ups of the client for what could be one. So uvicorn writes through the
channel, which passes every write on at once unless it holds them (``hold_writes``): the middleware holds a
response's head until its body when its length says the body follows at once, and a streamed answer holds its
head until its first frame and its last frame until the end of the body.

The limit comes from uvicorn's ``h11_max_incomplete_event_size`` option, its public knob for exactly this bound
in the h11 protocol (``server.max_header_bytes`` sets it), so the protocol class needs no other configuration
and pickles by name into ``--workers`` processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from finops.core.ids import new_request_id
from finops.core.push import CLIENT_CHANNEL, ClientGone

DEFAULT_MAX_HEAD_BYTES = 64 * 1024
LINGER_SECONDS = 2.0


def too_large_response(limit: int) -> bytes:
    request_id = new_request_id()
    message = f"the request line and headers exceed {limit} bytes"
    body = orjson.dumps(
        {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message},
            "request_id": request_id,
        }
    )
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"request-id: " + request_id.encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class TransportChannel:
    """A ``ClientChannel`` over the client connection's transport, told of its flow by the protocol. It is also
    the transport uvicorn writes through (see the module's docstring): what uvicorn writes goes on at once unless
    writes are held, and is then kept and goes on joined on ``release_writes``, before a pushed chunk, or before
    the connection is closed. Everything else is the transport's own."""

    __slots__ = ("_gone", "_held", "_on_gone", "_on_writable", "_transport", "_writable")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] | None = None
        self._writable = True
        self._gone = False
        self._on_writable: Callable[[], None] | None = None
        self._on_gone: Callable[[], None] | None = None

    # -- the ClientChannel ------------------------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        return self._writable

    def write_chunk(self, data: bytes) -> None:
        if self._gone:
            raise ClientGone()
        if self._held is not None:
            self.release_writes()  # what uvicorn wrote before stays before
        # the framing uvicorn's own send writes for a chunked body
        self._transport.write(b"%x\r\n%s\r\n" % (len(data), data))

    def watch(self, on_writable: Callable[[], None] | None, on_gone: Callable[[], None] | None) -> None:
        self._on_writable = on_writable
        self._on_gone = on_gone

    def hold_writes(self) -> None:
        if self._held is None:
            self._held = []

    def release_writes(self) -> None:
        held = self._held
        self._held = None
        if held and not self._transport.is_closing():
            self._transport.write(b"".join(held))

    # -- told by the protocol ---------------------------------------------------------------------------------

    def paused(self) -> None:
        self._writable = False

    def resumed(self) -> None:
        self._writable = True
        if self._on_writable is not None:
            self._on_writable()

    def lost(self) -> None:
        self._gone = True
        self._held = None
        if self._on_gone is not None:
            self._on_gone()

    # -- the transport, as uvicorn writes to it ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._transport.write(data)
        else:
            held.append(data)

    def close(self) -> None:
        self.release_writes()
        self._transport.close()

    def write_eof(self) -> None:
        self.release_writes()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that refuses a request head longer than the configured limit with 431."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._head_limit = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self._in_head = True  # bytes arriving now belong to a request line or headers
        self._head_bytes = 0
        self._refused = False
        self._channel: TransportChannel | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._channel = TransportChannel(transport)
        super().connection_made(self._channel)  # type: ignore[arg-type]  # uvicorn writes through it

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._channel is not None:
            self._channel.lost()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._channel is not None:
            self._channel.paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._channel is not None:
            self._channel.resumed()

    def on_headers_complete(self) -> None:
        self._in_head = False
        # uvicorn's scope of this request, built in on_message_begin; the app sees it from here on
        extensions: dict[str, object] = {**self.scope.get("extensions", {}), CLIENT_CHANNEL: self._channel}
        self.scope["extensions"] = extensions  # type: ignore[typeddict-item]
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # whatever follows is the next request's head
        self._head_bytes = 0
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._in_head:
            super().data_received(data)
            return
        room = self._head_limit - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Feed the parser only what the head may still take; the rest is fed only if the head ended in it.
        self._head_bytes += room
        if room > 0:
            super().data_received(data[:room])
        if self._in_head:
            self._refuse()
        elif not self.transport.is_closing():
            self.data_received(data[room:])

    def _refuse(self) -> None:
        self._refused = True
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(too_large_response(self._head_limit))
        if transport.can_write_eof():
            transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, transport.close)
        else:
            transport.close()
