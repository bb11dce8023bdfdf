"""The Anthropic error envelope, for every error leaving ``/anthropic`` (and the rest of the gateway)."""

from __future__ import annotations

import logging

import orjson
import redis.exceptions
import sqlalchemy.exc
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from finops.core.errors import DependencyUnavailableError, GatewayError

logger = logging.getLogger("finops.api")

UNAVAILABLE_DEPENDENCY: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,  # refused, reset, "database is locked" past the busy timeout
    sqlalchemy.exc.InterfaceError,  # the driver's connection was closed under it
    sqlalchemy.exc.TimeoutError,  # no pooled connection freed within database.pool_timeout_seconds
    redis.exceptions.ConnectionError,  # includes redis' TimeoutError
    TimeoutError,  # a connect or statement timeout (asyncpg raises the builtin)
    ConnectionError,  # refused or reset before the driver wrapped it
)
"""What a store or Redis that does not answer raises: a 503 with ``retry-after``, never a bare 500."""
DEPENDENCY_RETRY_AFTER_SECONDS = 5

_HTTP_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


def error_response(
    status: int, error_type: str, message: str, request_id: str | None, headers: dict[str, str] | None = None
) -> Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def request_id_of(request: Request) -> str | None:
    request_id: str | None = request.scope.get("state", {}).get("request_id")
    return request_id


async def gateway_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc.status_code, exc.error_type, exc.message, request_id_of(request), exc.headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    error_type = _HTTP_ERROR_TYPES.get(
        exc.status_code, "api_error" if exc.status_code >= 500 else "invalid_request_error"
    )
    return error_response(exc.status_code, error_type, message, request_id_of(request))


async def dependency_error_handler(request: Request, exc: Exception) -> Response:
    logger.warning("request %s: a dependency is unavailable: %s", request_id_of(request), type(exc).__name__)
    error = DependencyUnavailableError(
        "the gateway's database or Redis is unavailable; retry shortly",
        headers={"retry-after": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
    )
    return await gateway_error_handler(request, error)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    # The exception may carry upstream details: log it here, answer the caller only the request id.
    logger.exception("unhandled error in request %s", request_id_of(request))
    return error_response(500, "api_error", "Internal server error", request_id_of(request))
