"""The gateway's one error tree. Every class carries the Anthropic ``error.type`` and HTTP status it renders as.

    GatewayError
      InvalidRequestError        400 invalid_request_error
      AuthenticationError        401 authentication_error
      PermissionDeniedError      403 permission_error
      NotFoundError              404 not_found_error
      ConflictError              409 invalid_request_error
      RequestTooLargeError       413 request_too_large
      RateLimitError             429 rate_limit_error
      UpstreamError              500 api_error        (upstream answered something unusable)
        UpstreamUnavailableError 502 api_error        (upstream refused the connection / reset)
        UpstreamTimeoutError     504 timeout_error
      OverloadedError            529 overloaded_error
      DependencyUnavailableError 503 api_error        (the gateway's own store or Redis did not answer in time)

Translators raise ``InvalidRequestError`` for input the target provider cannot express; adapters map upstream
HTTP failures onto this tree at their boundary (never passing upstream bodies or secrets through verbatim).
"""

from __future__ import annotations


class GatewayError(Exception):
    status_code: int = 500
    error_type: str = "api_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidRequestError(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"


class AuthenticationError(GatewayError):
    status_code = 401
    error_type = "authentication_error"


class PermissionDeniedError(GatewayError):
    status_code = 403
    error_type = "permission_error"


class NotFoundError(GatewayError):
    status_code = 404
    error_type = "not_found_error"


class ConflictError(GatewayError):
    status_code = 409
    error_type = "invalid_request_error"


class RequestTooLargeError(GatewayError):
    status_code = 413
    error_type = "request_too_large"


class RateLimitError(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"


class UpstreamError(GatewayError):
    status_code = 500
    error_type = "api_error"


class UpstreamUnavailableError(UpstreamError):
    status_code = 502


class UpstreamTimeoutError(UpstreamError):
    status_code = 504
    error_type = "timeout_error"


class OverloadedError(GatewayError):
    status_code = 529
    error_type = "overloaded_error"


class DependencyUnavailableError(GatewayError):
    """The gateway's database or Redis is unreachable or too slow: retry later (``retry-after`` says when)."""

    status_code = 503
    error_type = "api_error"


_BY_STATUS: dict[int, type[GatewayError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    429: RateLimitError,
    500: UpstreamError,
    502: UpstreamUnavailableError,
    503: OverloadedError,
    504: UpstreamTimeoutError,
    529: OverloadedError,
}


def error_for_status(status: int) -> type[GatewayError]:
    """The gateway error class for an upstream HTTP status (4xx fall back to 400, 5xx to 500)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InvalidRequestError if 400 <= status < 500 else UpstreamError
