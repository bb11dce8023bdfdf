"""Pushed streams: a streamed answer's frames delivered by callbacks, from the upstream's read to the client's
socket, instead of being pulled through a chain of async generators by the request's task.

With thousands of open streams the pull design costs, per event, a future, a task wake-up and a resumption of
every generator layer (pool body, translation, relay, governor, response). Pushed, one upstream read runs its
translation, encoding and checks and writes the frame to the client inside the upstream protocol's
``data_received``; the request's task sleeps until the stream needs it again.

The generators stay the one description of a stream: each layer keeps its pull loop, and a driver that can take
frames by callback sends a ``Push`` into the generator it iterates (``asend``) instead of pulling. A layer that
receives one passes it on to its own source, wrapped with a stage doing per item what its loop body does
(``Push.through``); the innermost source that can push (an upstream body read off the gateway's own pool) then
delivers item after item through the stages, and returns to its loop when the stream needs the task: it has
ended, failed, or the client went away. Whatever is left (a frame held back until its usage row is durable, an
error frame, the end of the body) then goes the pull way. A layer or source that cannot push ignores the value
``asend`` gives it, and the stream is simply pulled.

A stage may raise: the innermost source stops pushing and raises the error from its loop, where the layers'
usual error handling sees it as if it had been raised by a pull.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

CLIENT_CHANNEL = "finops.client_channel"
"""The ASGI scope extension (``scope["extensions"]``) under which ``finops serve``'s HTTP protocol offers the
client's connection as a ``ClientChannel``."""


class ClientGone(Exception):
    """The client of a pushed stream closed its connection: the push stops, the stream is abandoned."""


class ClientChannel(Protocol):
    """A client connection a streamed response may write body chunks to without awaiting, once its
    ``http.response.start`` was sent (chunked transfer encoding, as the server chose it)."""

    @property
    def writable(self) -> bool:
        """False while the connection's send buffer is above its high-water mark: stop producing."""

    def write_chunk(self, data: bytes) -> None:
        """Send ``data`` as one chunk of the response body; raises ``ClientGone`` once the client has gone."""

    def watch(self, on_writable: Callable[[], None] | None, on_gone: Callable[[], None] | None) -> None:
        """Call ``on_writable`` when the send buffer has drained, ``on_gone`` when the client leaves (``None``
        for either stops watching). One watcher at a time: the push in progress."""


@dataclass(frozen=True, slots=True)
class Push:
    """What a driver sends into a stream generator to take its items by callback: ``deliver`` is the stage that
    takes the generator's next item, ``channel`` the client end, whose flow (``writable``, ``watch``) the
    innermost source obeys."""

    deliver: Callable[[Any], None]
    channel: ClientChannel

    def through(self, stage: Callable[[Any], None]) -> Push:
        """The same push with ``stage`` as the entry: a layer's per-item work, which ends by calling this push's
        ``deliver``."""
        return Push(stage, self.channel)
