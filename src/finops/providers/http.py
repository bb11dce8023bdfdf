"""What every adapter needs from HTTP: a pooled client, transport failures mapped onto the gateway's
error tree, streamed bodies that always release their connection, and the count of requests that waited for one."""

from __future__ import annotations

import collections
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

import httpx

from finops.config import ProviderSettings
from finops.core.errors import (
    GatewayError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    error_for_status,
)
from finops.providers.client import UpstreamClient
from finops.providers.pool import POOL_WAITED

UpstreamErrorMapper = Callable[[httpx.Response, bytes], GatewayError]
"""Turns a non-2xx upstream response (and its body) into the gateway error to raise."""

_KEY_LIKE = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16})")


def build_client(settings: ProviderSettings, base_url: str, headers: dict[str, str] | None = None) -> UpstreamClient:
    timeouts = settings.timeouts
    limits = httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections)
    return UpstreamClient(
        base_url,
        headers=headers,
        timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool),
        limits=limits,
    )


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove the given secrets and anything shaped like a provider key from text bound for a caller."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


def upstream_error(
    provider: str,
    status: int,
    message: str,
    *,
    secrets: Iterable[str | None] = (),
    headers: dict[str, str] | None = None,
) -> GatewayError:
    """The gateway error for an upstream's non-2xx answer, its message scrubbed of secrets.

    A 401 from the upstream means the *gateway's* credentials were refused: telling the caller
    "authentication_error" would send them hunting for a problem with their own key, so it is a 500.
    """
    if status == 401:
        return UpstreamError(f"the {provider} upstream rejected the gateway's credentials; check its configuration")
    return error_for_status(status)(redact(message, secrets), headers=headers)


@contextlib.contextmanager
def transport_errors(provider: str) -> Iterator[None]:
    """Connection-level failures as gateway errors; the message names the provider, never its address."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeoutError(f"the {provider} upstream did not answer in time") from exc
    except httpx.TransportError as exc:
        raise UpstreamUnavailableError(f"the {provider} upstream could not be reached") from exc


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


async def iter_body(response: httpx.Response, provider: str) -> AsyncIterator[bytes]:
    """The body of a streamed response, chunk by chunk, closing it however iteration ends."""
    try:
        with transport_errors(provider):
            async for chunk in response.aiter_raw():
                yield chunk
    finally:
        await response.aclose()


async def iter_lines(response: httpx.Response, provider: str) -> AsyncIterator[str]:
    """The lines of a streamed response (SSE, JSONL), closing it however iteration ends."""
    try:
        with transport_errors(provider):
            async for line in response.aiter_lines():
                yield line
    finally:
        await response.aclose()
