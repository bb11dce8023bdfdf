"""The rest of an upstream body pushed to the client as it arrives (``finops.core.push``): each read off the
gateway's pool is turned into the stream's next item and delivered through the push's stages inside the upstream
connection's callback; the request's task waits only for the end (``push_body``). ``events_by_read`` is the
translated streams' source around it (OpenAI, Gemini, Bedrock): one list of events per read, pulled until a
``Push`` comes.

Flow: while the client's send buffer is full, the upstream is not read (its read timeout paused meanwhile); the
client leaving stops the push at once, not when the next event is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from finops.core.push import ClientGone, Push
from finops.providers.http import body_stream, transport_errors
from finops.providers.pool import PooledBody

T = TypeVar("T")

Read = Callable[[bytes, list[Any]], None]
"""Turns one upstream read into the events it completes, appended to the list given; raises when the read is
bad (the events appended before the failure are still delivered first)."""


async def events_by_read(
    open_response: Callable[[], Awaitable[httpx.Response]],
    read: Callable[[bytes, list[T]], None],
    provider: str,
    *,
    finished: Callable[[], bool] = lambda: False,
    cut_off: Callable[[], Exception | None] = lambda: None,
    closing: Callable[[], list[T]] = list,
) -> AsyncGenerator[list[T], Push | None]:
    """A translated stream's events, one list per upstream read of the streamed response ``open_response`` answers
    (called on the first step), for ``finops.providers.relay``: the events of one read leave in one frame. Sent a
    ``Push`` (``asend``), it delivers the rest of a pooled body through it as it arrives (``push_body``).

    The stream is read until ``finished()`` (an end marker such as OpenAI's ``[DONE]`` was read) or its body ends,
    where ``cut_off()`` is the error of a body that ended too soon (``None``: the end of the body is no error by
    itself). Then ``closing()``'s events, those owed at the end, go the pull way: the frame holding
    ``message_stop`` is the request task's to hold until its usage row is durable. A read that fails still yields
    the events it completed first; transport errors are the provider's gateway errors; the response is closed
    however iteration ends."""
    response = await open_response()
    body = body_stream(response)
    try:
        with transport_errors(provider):
            async for chunk in body:
                events: list[T] = []
                try:
                    read(chunk, events)
                except Exception:
                    if events:
                        yield events  # what this read completed before the failure still goes out first
                    raise
                if events:
                    push = yield events
                    if push is not None and isinstance(body, PooledBody) and not finished():
                        await push_body(body, read, finished, push, cut_off)
                        break
                if finished():
                    break
            else:
                error = cut_off()
                if error is not None:
                    raise error
    finally:
        await response.aclose()  # also when the client went away mid-stream
    tail = closing()
    if tail:
        yield tail


async def push_body(
    body: PooledBody, read: Read, finished: Callable[[], bool], push: Push, cut_off: Callable[[], Exception | None]
) -> None:
    """Deliver the events of the rest of ``body`` through ``push``, one list per upstream read. Returns once
    ``finished()`` says the stream is complete, or the body ended and ``cut_off()`` is ``None``; raises what stopped
    it otherwise: the error a read or a stage raised, the body's ``httpx.TransportError``, ``cut_off()`` if the body
    ended first, ``ClientGone``."""
    receiver = _Receiver(body, read, finished, push, cut_off)
    receiver.start()
    try:
        await receiver.done
    finally:
        receiver.stop(None)  # no-op once done; on cancellation, the upstream is no longer pushed to


class _Receiver:
    """A ``BodyReceiver`` (``finops.providers.connection``) that reads, delivers and obeys the client's flow."""

    def __init__(
        self,
        body: PooledBody,
        read: Read,
        finished: Callable[[], bool],
        push: Push,
        cut_off: Callable[[], Exception | None],
    ) -> None:
        self._body = body
        self._read = read
        self._finished = finished
        self._deliver = push.deliver
        self._channel = push.channel
        self._cut_off = cut_off
        self._stopped = False  # not ``done.done()``: a cancelled wait cancels ``done`` before ``stop`` runs
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        self._channel.watch(None, self._client_left)
        self._body.push_to(self)  # may deliver what was already read, and even finish, before it returns

    def piece(self, data: bytes) -> None:
        if self._stopped:
            return
        events: list[Any] = []
        try:
            self._read(data, events)
        except Exception as exc:
            if events:
                self._send(events)  # what this read completed before the failure still goes out first
            self.stop(exc)
            return
        if events and not self._send(events):
            return
        if self._finished():
            self.stop(None)
        elif not self._channel.writable:
            self._body.hold()
            self._channel.watch(self._writable, self._client_left)

    def ended(self) -> None:
        self.stop(self._cut_off())

    def failed(self, error: Exception) -> None:
        self.stop(error)

    def stop(self, error: BaseException | None) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._body.stop_push()
        self._channel.watch(None, None)
        if self.done.done():
            return  # cancelled
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)

    def _send(self, events: list[Any]) -> bool:
        """Deliver ``events``; False when a stage raised (the push is then stopped with that error)."""
        try:
            self._deliver(events)
        except Exception as exc:
            self.stop(exc)
            return False
        return True

    def _writable(self) -> None:
        if not self._stopped:
            self._channel.watch(None, self._client_left)
            self._body.release_hold()

    def _client_left(self) -> None:
        self.stop(ClientGone())
