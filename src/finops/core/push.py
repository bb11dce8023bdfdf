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

import re
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

    def hold_writes(self) -> None:
        """Keep what the server writes to the connection from now on, until ``release_writes``: a response's
        head and its first body part, or its last body part and the end of the body, then leave in one system
        call (and one packet) instead of two. Chunks are not to be written while writes are held."""

    def release_writes(self) -> None:
        """Write what was held, joined; nothing when nothing was."""


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


_STREAM_ENDING = re.compile(rb"event: (?:message_stop|error)[\r\n]")
"""An SSE event line of either event that ends an Anthropic stream. Inside a ``data:`` line a line break is escaped
(JSON), so these bytes are an event's own line."""


def may_end_stream(frame: bytes) -> bool:
    """Whether ``frame`` holds an event after which an Anthropic stream is over (``message_stop``, ``error``); a
    frame that only quotes one looks the same, which is why this says "may"."""
    return _STREAM_ENDING.search(frame) is not None
