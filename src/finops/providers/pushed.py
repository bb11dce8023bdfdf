"""The rest of an upstream body pushed to the client as it arrives (``finops.core.push``): each read off the
gateway's pool is turned into the stream's next item and delivered through the push's stages inside the upstream
connection's callback; the request's task waits only for the end.

Flow: while the client's send buffer is full, the upstream is not read (its read timeout paused meanwhile); the
client leaving stops the push at once, not when the next event is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from finops.core.push import ClientGone, Push
from finops.providers.pool import PooledBody

Read = Callable[[bytes, list[Any]], None]
"""Turns one upstream read into the events it completes, appended to the list given; raises when the read is
bad (the events appended before the failure are still delivered first)."""


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
