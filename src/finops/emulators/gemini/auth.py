"""API-key check in front of every route, answering Google's envelope on failure.

The key comes in ``x-goog-api-key`` (what the SDK sends) or ``?key=``. Upload-session chunk requests carry
no key (the SDK does not send one): their unguessable session id was issued to an authenticated caller.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from finops.emulators.gemini.errors import error_body

_MISSING = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
_INVALID = "API key not valid. Please pass a valid API key."


class ApiKeyAuth:
    def __init__(self, app: Any, api_keys: set[str] | None) -> None:
        self.app = app
        self.api_keys = api_keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if scope["path"].startswith("/upload/") and "upload_id" in query:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-goog-api-key", b"").decode("latin-1").strip() or (query.get("key") or [""])[0]
        if not key:
            await _deny(send, 403, _MISSING, "PERMISSION_DENIED", "")
        elif self.api_keys is not None and key not in self.api_keys:
            await _deny(send, 401, _INVALID, "UNAUTHENTICATED", "API_KEY_INVALID")
        else:
            await self.app(scope, receive, send)


async def _deny(send: Any, code: int, message: str, status: str, reason: str) -> None:
    details = []
    if reason:
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    body = error_body(code, message, status, details)
    headers = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
