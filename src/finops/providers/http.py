"""What every adapter needs from HTTP: a pooled client, transport failures mapped onto the gateway's
error tree, streamed bodies that always release their connection, and the count of requests that waited for one."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator

import httpx

from finops.config import ProviderSettings
from finops.core.errors import GatewayError
from finops.providers.client import UpstreamClient
from finops.providers.pool import POOL_WAITED
from finops.providers.upstream_errors import broke_off, timed_out, unreachable

UpstreamErrorMapper = Callable[[httpx.Response, bytes], GatewayError]
"""Turns a non-2xx upstream response (and its body) into the gateway error to raise."""


def build_client(settings: ProviderSettings, base_url: str, headers: dict[str, str] | None = None) -> UpstreamClient:
    timeouts = settings.timeouts
    limits = httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections)
    return UpstreamClient(
        base_url,
        headers=headers,
        timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool),
        limits=limits,
    )


@contextlib.contextmanager
def transport_errors(provider: str) -> Iterator[None]:
    """Connection-level failures as gateway errors (``upstream_errors`` words them)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise timed_out(provider) from exc
    except (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol) as exc:
        raise unreachable(provider) from exc
    except httpx.TransportError as exc:
        raise broke_off(provider) from exc


_pool_waits: collections.Counter[str] = collections.Counter()


def pool_waits() -> dict[str, int]:
    """Provider -> upstream requests of this process that had to wait for a free connection (including those
    whose wait ran out). For ``/metrics``: a count that keeps growing means ``max_connections`` is too low."""
    return dict(_pool_waits)


async def send(
    client: UpstreamClient,
    request: httpx.Request,
    *,
    provider: str,
    on_error: UpstreamErrorMapper,
    stream: bool = False,
) -> httpx.Response:
    """Send ``request``; a non-2xx answer is read, closed and raised through ``on_error``."""
    with transport_errors(provider):
        try:
            response = await client.send(request, stream=stream)
        except httpx.PoolTimeout:
            _pool_waits[provider] += 1
            raise
        if POOL_WAITED in response.extensions:
            _pool_waits[provider] += 1
        if response.is_success:
            return response
        body = await response.aread()
        await response.aclose()
    raise on_error(response, body)


def body_stream(response: httpx.Response) -> httpx.AsyncByteStream:
    """A streamed response's body as its transport gives it: ``aiter_raw`` would add a generator, a context
    manager and a re-chunker to every chunk, for nothing the gateway uses."""
    stream = response.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        raise TypeError("a streamed body must come from an async transport")
    return stream


async def iter_body(response: httpx.Response, provider: str) -> AsyncIterator[bytes]:
    """The body of a streamed response, chunk by chunk (``body_stream``), closing it however iteration ends."""
    try:
        with transport_errors(provider):
            async for chunk in body_stream(response):
                yield chunk
    finally:
        await response.aclose()


async def iter_lines(response: httpx.Response, provider: str) -> AsyncGenerator[str, None]:
    """The lines of a streamed response (SSE, JSONL), closing it however iteration ends."""
    try:
        with transport_errors(provider):
            async for line in response.aiter_lines():
                yield line
    finally:
        await response.aclose()
