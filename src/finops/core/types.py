"""Canonical shapes. The gateway's pivot dialect is Anthropic's: a request body is a Messages body as JSON.

What a provider call takes in (``CallContext``, ``FileUpload``) and gives back (``MessageResult``,
``MessageStream``) lives here, so the API layer and the core name them without importing any provider. Inputs
are frozen: the core derives a new context (``dataclasses.replace``) instead of filling one in, and every
answer carries its own usage instead of leaving it on the context.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, Protocol

from finops.core.errors import GatewayError

JSON = dict[str, Any]


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``owner`` scopes every file and batch; key facts are set for virtual keys."""

    owner: str
    key_id: str | None = None
    key_name: str | None = None
    cache: Mapping[str, Any] | None = field(default=None, compare=False)
    """The virtual key's response-cache settings (``mode``, ``ttl_seconds``, ``threshold``...), if it has any."""


@dataclass(frozen=True)
class CacheStatus:
    """What the response cache did for one request (answered as ``x-finops-cache`` and
    ``x-finops-cache-similarity``)."""

    result: Literal["hit", "miss", "bypass"]
    similarity: float | None = None


@dataclass(frozen=True)
class FileRef:
    """A file a Messages body references, by the upstream's own ID (the core has already rewritten it)."""

    upstream_id: str
    mime_type: str
    gateway_id: str = ""
    """The caller's ID for the file: what an upstream error naming the file is rewritten to (core only)."""


@dataclass(frozen=True)
class CallContext:
    """The facts of one call that are not in its body: inputs only, never written by the callee."""

    request_id: str
    anthropic_beta: str | None = None
    anthropic_version: str | None = None
    files: Mapping[str, FileRef] = field(default_factory=dict)
    """Files the body references, keyed by upstream ID (Gemini needs their MIME types to build ``fileData``)."""
    raw_body: bytes | None = None
    """The client's body exactly as sent, when the gateway did not change it (lets passthrough skip a dump)."""
    upstream_key: str | None = None
    """For a create (batch, file): the intent's key (``finops.store.intents``), to send upstream where the provider
    keeps one (metadata, display name, file name), so a crash before the gateway's row leaves a findable object."""
    batch_id: str | None = None
    """``create_batch``: the gateway ID the batch will be stored under (minted first, so upstream objects can
    carry it and a crash between the upstream create and the row leaves something recovery can recognise)."""


@dataclass(frozen=True)
class FileUpload:
    """An upload spooled by the API layer (to disk past 1 MB); adapters stream it upstream from ``file``."""

    file: BinaryIO
    filename: str
    content_type: str
    size_bytes: int
    purpose: str | None = None


@dataclass(frozen=True)
class MessageResult:
    """A non-streamed answer: the Anthropic message and the usage it carries, which is what gets priced
    (``usage`` is ``message["usage"]``, with all four token counts present)."""

    message: JSON
    usage: JSON
    cache: CacheStatus | None = None
    """Set when the response cache was in play: a hit's ``message`` is the cached answer."""


class MessageStream(Protocol):
    """A streamed answer: iterate it for Anthropic SSE frames. Once iteration has ended (or the stream was
    closed), ``usage`` holds the counts the frames carried — exactly what a client summing them sees, and
    what gets priced — or ``None`` if no ``message_start`` went out; ``error`` is the failure the stream
    ended with after its first frame (sent to the client as ``event: error``), if any."""

    usage: JSON | None
    error: GatewayError | None

    def __aiter__(self) -> AsyncGenerator[bytes, Any]:
        """The frames; a stream that can push them (``finops.core.push``) takes a ``Push`` through ``asend``."""

    async def aclose(self) -> None: ...
