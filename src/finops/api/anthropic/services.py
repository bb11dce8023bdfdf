"""The services a request handler reaches through ``request.app.state.services``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from finops.config import Settings
from finops.core.batches import BatchService
from finops.core.errors import InvalidRequestError
from finops.core.files import FileService
from finops.core.ids import shown_id
from finops.core.messages import MessageService
from finops.core.types import Principal

from .hosts import allowed_hosts, host_allowed
from .requests import check_forwarded_headers, headers_of


class Authenticator(Protocol):
    async def authenticate(self, api_key: str | None) -> Principal: ...


@dataclass
class Services:
    settings: Settings
    authenticator: Authenticator
    messages: MessageService
    files: FileService
    batches: BatchService


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def presented_key(request: Request) -> str | None:
    """``x-api-key`` (older SDKs) or ``Authorization: Bearer`` (anthropic 2.x)."""
    headers = headers_of(request)
    key = headers.get("x-api-key")
    if key:
        return key
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: Request) -> Principal:
    principal = await services_of(request).authenticator.authenticate(presented_key(request))
    check_forwarded_headers(request)  # every route authenticates first; headers it would send upstream are next
    return principal


def base_url(request: Request) -> str:
    """The gateway's absolute base URL for links clients follow with their API key (``results_url``):
    ``server.public_url``, else the request's own base when its Host is one the operator allowed."""
    server = services_of(request).settings.server
    if server.public_url:
        return server.public_url
    host = headers_of(request).get("host", "")
    if not host_allowed(host, allowed_hosts(server)):
        raise InvalidRequestError(
            f"Host {shown_id(host)!r} is not one this gateway answers as; the operator sets server.public_url "
            "or lists the host in server.allowed_hosts"
        )
    return str(request.base_url).rstrip("/")
