"""What every request passes first: a ``request-id``, authentication and the ``anthropic-version`` check.

Both auth styles the official SDKs use are accepted: ``x-api-key`` (0.x) and ``Authorization: Bearer`` (2.x).
Like the real API, a request without ``anthropic-version`` is refused: a gateway that forgets to forward it
would fail against Anthropic, so it must fail here too. ``anthropic-beta`` is accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from finops.emulators.anthropic.errors import envelope
from finops.emulators.anthropic.ids import new_id

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def api_key_of(scope: Scope) -> str | None:
    key = _header(scope, b"x-api-key")
    if key:
        return key.strip()
    authorization = _header(scope, b"authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class Edge:
    """ASGI middleware: stamps ``request-id`` on every response and refuses unauthenticated calls."""

    def __init__(self, app: ASGIApp, *, api_keys: set[str] | None) -> None:
        self.app = app
        self.api_keys = api_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"request-id"]
                message["headers"] = [*headers, (b"request-id", request_id.encode())]
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            status, error_type, text = refusal
            body = orjson.dumps(envelope(error_type, text, request_id))
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send_with_id)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        key = api_key_of(scope)
        if key is None:
            return 401, "authentication_error", "x-api-key header is required"
        if self.api_keys is not None and key not in self.api_keys:
            return 401, "authentication_error", "invalid x-api-key"
        if not _header(scope, b"anthropic-version"):
            return 400, "invalid_request_error", "anthropic-version: header is required"
        return None
