"""Response headers every ``/ui`` answer carries, and how the console decides a cookie must be ``Secure``.

The policy allows only the gateway's own scripts, styles and connections: no inline script or style, no
``eval``, no framing. Pages are ``no-store`` (they show spend and, once, a key's secret); static assets may be
cached but are revalidated.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_ALWAYS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # not no-referrer: that makes browsers send "Origin: null"
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")
STATIC_PREFIX = "/static/"


def served_over_https(request: Request) -> bool:
    """Whether the browser reached the console over https.

    The request's scheme is https when uvicorn terminates TLS, or when a trusted proxy said so in
    ``X-Forwarded-Proto`` (believed only from ``server.trusted_proxies``, which ``finops serve`` hands uvicorn).
    A ``server.public_url`` starting with https means the operator publishes the console over https, so its
    cookies are ``Secure`` even if the last hop is plain HTTP.
    """
    if request.url.scheme == "https":
        return True
    public_url = request.app.state.console.settings.server.public_url
    return bool(public_url and public_url.startswith("https://"))


class SecurityHeaders:
    """ASGI middleware for the ``/ui`` mount."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).removeprefix(str(scope.get("root_path", ""))).startswith(STATIC_PREFIX)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in {b"cache-control", b"content-security-policy"}
                    or (static and name.lower() == b"cache-control")
                ]
                headers += _ALWAYS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                elif not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-cache"))
                if https:
                    headers.append(_HSTS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
