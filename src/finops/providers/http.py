"""What every adapter needs from HTTP: a pooled client, transport failures mapped onto the gateway's
error tree, and streamed bodies that always release their connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx

from finops.config import ProviderSettings
from finops.core.errors import GatewayError
from finops.providers.pool import PoolTransport
from finops.providers.transport import UpstreamClient
from finops.providers.upstream_errors import broke_off, timed_out, unreachable

UpstreamErrorMapper = Callable[[httpx.Response, bytes], GatewayError]
"""Turns a non-2xx upstream response (and its body) into the gateway error to raise."""


def build_client(settings: ProviderSettings, base_url: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    timeouts = settings.timeouts
    limits = httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections)
    return UpstreamClient(
        base_url=base_url,
        headers=headers,
        timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool),
        limits=limits,
        transport=PoolTransport(limits),
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


async def _send_direct(client: httpx.AsyncClient, request: httpx.Request, *, stream: bool) -> httpx.Response:
    """``client.send`` without the layers the gateway's clients never use (auth flows, redirects, event hooks),
    which cost more than the transport itself: the request goes to the transport ``client.send`` would pick
    (so environment proxies still apply) and the response gets what ``client.send`` gives it, cookies included.
    ``httpx`` is pinned, so its two private names used here are stable."""
    transport = client._transport_for_url(request.url)
    response = await transport.handle_async_request(request)
    response.request = request
    response.default_encoding = client._default_encoding
    if "set-cookie" in response.headers:
        client.cookies.extract_cookies(response)
    if not stream:
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
    return response


async def send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    provider: str,
    on_error: UpstreamErrorMapper,
    stream: bool = False,
) -> httpx.Response:
    """Send ``request``; a non-2xx answer is read, closed and raised through ``on_error``."""
    with transport_errors(provider):
        response = await _send_direct(client, request, stream=stream)
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
