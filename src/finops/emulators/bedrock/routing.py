"""One port, three AWS services: Bedrock Runtime, the Bedrock control plane and S3.

The emulator does not know the host name clients use for it, so a request is routed by what it says about
itself, in this order:

1. the SigV4 credential scope's service: ``s3`` goes to S3 (so a bucket may even be called ``model``);
2. the path: ``/model/...`` (runtime) and ``/model-invocation-job...`` (control plane) go to Bedrock;
3. the host: ``bedrock-runtime.*`` / ``bedrock.*`` go to Bedrock;
4. everything else is S3, which answers an unsigned or foreign-signed request with its own refusal.

Runtime and control plane both sign as ``bedrock`` and share one Starlette app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from finops.emulators.bedrock.sigv4 import credential_scope

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
_BEDROCK_PATHS = ("/model/", "/model-invocation-job")
_BEDROCK_HOSTS = ("bedrock-runtime.", "bedrock.")


def signed_service(scope: Mapping[str, Any]) -> str | None:
    """The service a request's SigV4 ``Authorization`` header is scoped to (unverified), if any."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            parts = credential_scope(value.decode("latin-1"))
            return parts[3] if parts else None
    return None


def is_s3_request(scope: Mapping[str, Any]) -> bool:
    service = signed_service(scope)
    if service == "s3":
        return True
    if scope["path"].startswith(_BEDROCK_PATHS):
        return False
    host = next((v.decode("latin-1").lower() for n, v in scope.get("headers", []) if n.lower() == b"host"), "")
    return not host.startswith(_BEDROCK_HOSTS)


class ServiceRouter:
    """ASGI app that hands each HTTP request to Bedrock or S3; lifespan events go to Bedrock's app."""

    def __init__(self, bedrock: ASGIApp, s3: ASGIApp) -> None:
        self.bedrock = bedrock
        self.s3 = s3

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_s3_request(scope):
            await self.s3(scope, receive, send)
        else:
            await self.bedrock(scope, receive, send)
