"""Graceful shutdown with open streams: on SIGTERM (or SIGINT) the gateway keeps serving what is open, refuses
what is new, and hands over to uvicorn's own shutdown once nothing is open or the drain time is up.

Why not uvicorn's shutdown alone: it closes the listening socket at once, so a new request meets a refused
connection (or, with several workers sharing a socket the supervisor still holds, a connection nobody accepts
until the supervisor exits). During the drain a new request instead gets an immediate, explicit answer the
official SDKs retry: **503** with the Anthropic envelope, ``error.type`` ``overloaded_error``, ``x-should-retry:
true``, ``retry-after: 1`` and ``connection: close`` (so the retry opens a fresh connection, which a load balancer
sends elsewhere). ``/health`` answers the same 503, which takes the process out of a load balancer's rotation.

How the hand-over works, with public APIs only: when the application's lifespan start-up completes (uvicorn has
installed its signal handlers by then), ``loop.add_signal_handler`` takes SIGTERM and SIGINT over and remembers
uvicorn's handlers (``signal.getsignal``). When the drain ends, uvicorn's handlers are put back and the signal is
raised again: uvicorn then closes the listener and idle connections, gives what is still open its
``timeout_graceful_shutdown``, runs the lifespan shutdown (which writes out the usage ledger) and exits. A second
signal during the drain changes nothing (a supervisor and a terminal may both send one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

import orjson

from finops.core.ids import new_request_id

logger = logging.getLogger("finops.shutdown")

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_MESSAGE = "The gateway is shutting down and takes no new requests; retry."


class DrainingApp:
    """ASGI wrapper around the whole gateway: counts open HTTP requests and runs the drain described above."""

    def __init__(self, app: Any, drain_seconds: float) -> None:
        self.app = app
        self.drain_seconds = drain_seconds
        self.open_requests = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._previous: dict[int, Any] = {}
        self._drain_task: asyncio.Task[None] | None = None
        self.on_started: list[Callable[[], None]] = []
        """Called on the event loop once the lifespan start-up completed (the serving process's GC sweeps)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.draining:
            await _refuse(send)
            return
        self.open_requests += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open_requests -= 1
            if self.draining and self.open_requests == 0:
                self._idle.set()

    def _lifespan_send(self, send: Any) -> Callable[[dict[str, Any]], Any]:
        async def lifespan_send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._take_signals()
                for started in self.on_started:
                    started()
            await send(message)

        return lifespan_send

    def _take_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            previous = signal.getsignal(sig)
            try:
                loop.add_signal_handler(sig, self.begin, sig)
            except (ValueError, RuntimeError, NotImplementedError):
                # Not the main thread (an app served from a test thread) or no signals here: uvicorn's own
                # shutdown applies unchanged.
                return
            self._previous[sig] = previous

    def begin(self, sig: int = signal.SIGTERM) -> None:
        """Start draining (idempotent)."""
        if self.draining:
            return
        self.draining = True
        logger.warning(
            "%s (pid %d): draining %d open request(s) for up to %.0f s; new requests get 503",
            signal.Signals(sig).name,
            os.getpid(),
            self.open_requests,
            self.drain_seconds,
        )
        self._drain_task = asyncio.get_running_loop().create_task(self._drain(sig), name="finops-drain")

    async def _drain(self, sig: int) -> None:
        if self.open_requests:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=self.drain_seconds)
        if self.open_requests:
            logger.warning("drain time over: %d request(s) still open are cut", self.open_requests)
        self._hand_over(sig)

    def _hand_over(self, sig: int) -> None:
        loop = asyncio.get_running_loop()
        for taken, previous in self._previous.items():
            loop.remove_signal_handler(taken)
            signal.signal(taken, previous if previous is not None else signal.SIG_DFL)
        signal.raise_signal(sig)


async def _refuse(send: Any) -> None:
    request_id = new_request_id()
    body = orjson.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": _MESSAGE}, "request_id": request_id}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"request-id", request_id.encode()),
                (b"retry-after", b"1"),
                (b"x-should-retry", b"true"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
