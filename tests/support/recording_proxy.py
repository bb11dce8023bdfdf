"""A logging reverse proxy between a real client and the gateway: it records every exchange (request body and the
gateway's answer, streams included) so a test can count calls by route, find 4xx/5xx answers and show exactly
what the client sent. Credentials are masked in the record; everything is forwarded unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .servers import serve_in_thread

# Answers are recorded up to this many bytes (an SSE stream of a short answer is a few kB; file downloads may not).
_MAX_RECORDED_BYTES = 512 * 1024
_SECRET_HEADERS = {"x-api-key", "authorization", "x-goog-api-key"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}


@dataclass
class Exchange:
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytearray = field(default_factory=bytearray)
    error: str | None = None
    """Set when the gateway could not be reached or the exchange broke off."""

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def request_json(self) -> Any:
        try:
            return json.loads(self.request_body)
        except ValueError:
            return None

    def response_text(self) -> str:
        return bytes(self.response_body).decode("utf-8", "replace")

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def failed(self) -> bool:
        return self.error is not None or self.status >= 400

    def summary(self) -> str:
        """One line a failing assertion can print."""
        outcome = self.error or f"{self.status} {self.response_text()[:400]}"
        target = f"{self.path}?{self.query}" if self.query else self.path
        return f"{self.method} {target} -> {outcome}"


def _masked(headers: httpx.Headers) -> dict[str, str]:
    return {name: ("<masked>" if name in _SECRET_HEADERS else value) for name, value in headers.items()}


class RecordingProxy:
    """ASGI app forwarding to ``upstream`` (the gateway's base URL) and keeping the exchanges in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._client: httpx.AsyncClient | None = None

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = httpx.Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]])
        query = scope.get("query_string", b"").decode("latin-1")
        exchange = Exchange(scope["method"], scope["path"], query, _masked(headers), bytes(body))
        with self._lock:
            self._exchanges.append(exchange)
        await self._forward(exchange, headers, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # No read timeout: a model's stream may pause for long; the test's own timeout bounds the run.
                self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, exchange: Exchange, headers: httpx.Headers, send: Any) -> None:
        assert self._client is not None
        forwarded = [(name, value) for name, value in headers.multi_items() if name not in _HOP_BY_HOP]
        url = f"{self.upstream}{exchange.path}" + (f"?{exchange.query}" if exchange.query else "")
        request = self._client.build_request(exchange.method, url, headers=forwarded, content=exchange.request_body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            exchange.error = f"proxy could not reach the gateway: {exc!r}"
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": exchange.error.encode()})
            return
        exchange.status = response.status_code
        exchange.response_headers = dict(response.headers)
        out_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.multi_items()
            if name not in _HOP_BY_HOP
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
        try:
            async for chunk in response.aiter_raw():
                if len(exchange.response_body) < _MAX_RECORDED_BYTES:
                    exchange.response_body.extend(chunk[: _MAX_RECORDED_BYTES - len(exchange.response_body)])
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:
            exchange.error = f"the gateway's answer broke off: {exc!r}"
        finally:
            await response.aclose()
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def recording_proxy(upstream: str) -> Iterator[tuple[str, RecordingProxy]]:
    """Serve a :class:`RecordingProxy` to ``upstream``; yields (the proxy's base URL, the proxy)."""
    proxy = RecordingProxy(upstream)
    with serve_in_thread(proxy) as url:
        yield url, proxy


def dump_exchanges(exchanges: list[Exchange], path: Path) -> None:
    """Write ``exchanges`` as JSON (request bodies parsed where they are JSON): the raw material behind the "Real
    clients" section of ``docs/compatibility.md``."""
    records = []
    for exchange in exchanges:
        body = exchange.request_json()
        records.append(
            {
                "method": exchange.method,
                "path": exchange.path,
                "query": exchange.query,
                "request_headers": exchange.request_headers,
                "request_body": body if body is not None else exchange.request_body.decode("utf-8", "replace"),
                "status": exchange.status,
                "error": exchange.error,
                "response": exchange.response_text(),
            }
        )
    path.write_text(json.dumps(records, indent=1))
