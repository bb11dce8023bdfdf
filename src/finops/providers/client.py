"""The upstream client every adapter holds: a base URL, default headers, timeouts and a connection pool.

It is a small class of our own over httpx's public pieces, not an ``httpx.AsyncClient``: requests are
``httpx.Request``s built by their constructor, and they go to an ``httpx.AsyncBaseTransport`` through
``handle_async_request`` (our pool, ``finops.providers.pool``, or httpx's own transport when an environment proxy
applies). What ``AsyncClient.send`` adds around that (auth flows, redirects, event hooks, a cookie jar) the gateway
never wants: a cookie set by an upstream for one caller must not ride along with the next caller's request.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterable, Mapping
from types import TracebackType
from typing import IO, Any

import cachetools
import httpx

from finops.providers.pool import PoolTransport

# What httpx.AsyncClient sends by default, so the wire stays as it was; only the encodings httpx can decode
# without optional packages are offered.
DEFAULT_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "User-Agent": f"python-httpx/{httpx.__version__}",
}

Content = bytes | str | AsyncIterable[bytes]
"""A request body: bytes as they are, or a stream (then sent by httpx's transport, chunk by chunk)."""
Params = Mapping[str, str | int]
Files = Mapping[str, tuple[str, IO[bytes], str]]
"""Multipart file fields: name -> (filename, file, content type)."""

_MERGED_URLS = 64
"""Resolved URLs remembered per client: an adapter sends a handful of fixed paths, and parsing one into an
``httpx.URL`` costs about as much as building the rest of the request. Paths carrying ids only churn the LRU's
tail."""


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` name for ``url``, unless ``NO_PROXY`` excludes
    its host: the standard library's reading of those variables (and of the system's settings on macOS and
    Windows), as requests does."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy


class UpstreamClient:
    """Builds and sends requests to one upstream.

    Relative URLs resolve against ``base_url`` as httpx's do (the base's path is kept: ``/v1`` + ``/models`` →
    ``/v1/models``); absolute ones are used as they are. Headers given per request replace defaults of the same
    name, whatever their case. Every request carries the client's timeouts as httpx's ``timeout`` extension,
    which the transport applies. Every request goes to the same transport, chosen once for the base URL: adapters
    only ever send to their configured upstream's host.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout,
        limits: httpx.Limits,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = httpx.URL(base_url if base_url.endswith("/") else base_url + "/")
        self._headers = {name.lower(): (name, value) for name, value in {**DEFAULT_HEADERS, **(headers or {})}.items()}
        self._default_headers = list(self._headers.values())
        self._extensions: dict[str, Any] = {"timeout": timeout.as_dict()}
        self._urls: cachetools.LRUCache[str, httpx.URL] = cachetools.LRUCache(_MERGED_URLS)
        if transport is None:
            proxy = environment_proxy(self.base_url)
            transport = PoolTransport(limits) if proxy is None else httpx.AsyncHTTPTransport(limits=limits, proxy=proxy)
        self.transport = transport

    def build_request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        content: Content | None = None,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        if isinstance(content, bytes) and content and params is None and json is None and not files and not data:
            return self._bytes_request(method, self._resolve(url), content, self._merge_headers(headers))
        return httpx.Request(
            method,
            self._resolve(url),
            params=params,
            headers=self._merge_headers(headers),
            content=content,
            json=json,
            files=files,
            data=data,
            extensions=self._extensions,
        )

    def _bytes_request(
        self, method: str, url: httpx.URL, content: bytes, headers: list[tuple[str, str]]
    ) -> httpx.Request:
        """The request ``httpx.Request(method, url, headers=headers, content=content)`` builds, byte for byte, built
        the cheaper way httpx offers for a body already in hand (``stream=``): its headers are normalised once
        instead of twice, and the auto headers are added here as httpx adds them (``Host`` first and
        ``Content-Length`` last, each unless given). Most upstream calls are one of these (those with query
        parameters are not); httpx's own way cost ~2.5 times as much, some 15 µs a request."""
        names = {name.lower() for name, _ in headers}
        complete = headers if "host" in names or not url.host else [("Host", url.netloc.decode("ascii")), *headers]
        if "content-length" not in names:
            complete = [*complete, ("Content-Length", str(len(content)))]
        request = httpx.Request(
            method, url, headers=complete, stream=httpx.ByteStream(content), extensions=self._extensions
        )
        request.read()  # ``content`` readable, as for a request built with ``content=``
        return request

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """The response to ``request``; its body read unless ``stream`` (then the caller closes it)."""
        response = await self.transport.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    def _resolve(self, url: str | httpx.URL) -> httpx.URL:
        if isinstance(url, httpx.URL):
            return self._merge(url)
        merged = self._urls.get(url)
        if merged is None:
            merged = self._urls[url] = self._merge(httpx.URL(url))
        return merged

    def _merge(self, url: httpx.URL) -> httpx.URL:
        if not url.is_relative_url:
            return url
        return self.base_url.copy_with(raw_path=self.base_url.raw_path + url.raw_path.lstrip(b"/"))

    def _merge_headers(self, headers: Mapping[str, str] | None) -> list[tuple[str, str]]:
        if not headers:
            return self._default_headers
        merged = self._headers.copy()
        for name, value in headers.items():
            merged[name.lower()] = (name, value)
        return list(merged.values())
