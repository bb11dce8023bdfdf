"""The upstream HTTP client: httpx's API over aiohttp's connection pool.

httpx's own pool (httpcore) checked every pooled connection on every request, which profiled as the largest single
cost of a passthrough request; aiohttp's pool does the same job several times cheaper. Adapters keep speaking
httpx (requests, responses, streams, exceptions); only the transport underneath changes. Streamed request bodies
(resumable uploads) still go through httpx's own transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL


def _transport_error(exc: BaseException) -> httpx.TransportError:
    """An aiohttp failure as the httpx exception ``transport_errors`` already maps."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc))
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(exc))
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(exc))
    return httpx.ReadError(str(exc))


class _AiohttpBody(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_error(exc) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's API over aiohttp's connection pool, several times cheaper per request than httpcore's (whose pool
    polls every idle socket on every request). Requests go out with exactly httpx's headers and body; bodies are
    passed up undecoded, so httpx decodes them as before. A streamed request body (a file upload) goes through
    httpx's own transport instead."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._fallback: httpx.AsyncHTTPTransport | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0, limit_per_host=0, ssl=httpx.create_ssl_context()
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            )
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout", {})
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=key[2], sock_connect=key[0], sock_read=key[1]
            )
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.ByteStream):
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport(limits=self._limits)
            return await self._fallback.handle_async_request(request)
        headers = CIMultiDict((name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw)
        try:
            response = await self._client_session().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=request.content or None,
                timeout=self._timeout(request),
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_error(exc) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_AiohttpBody(response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._fallback is not None:
            await self._fallback.aclose()


class UpstreamClient(httpx.AsyncClient):
    """Remembers how relative paths resolve against ``base_url``: that merge (parse, quote, copy) is half of
    ``build_request``'s cost, and an adapter sends a handful of fixed paths. Paths carrying ids only churn the
    small table, which is emptied when full."""

    _MERGED_MAX = 64

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._merged: dict[str, httpx.URL] = {}

    def _merge_url(self, url: httpx.URL | str) -> httpx.URL:
        if type(url) is not str:
            return super()._merge_url(url)
        merged = self._merged.get(url)
        if merged is None:
            merged = super()._merge_url(url)
            if len(self._merged) >= self._MERGED_MAX:
                self._merged.clear()
            self._merged[url] = merged
        return merged
