"""Anthropic's error envelope: ``{"type":"error","error":{"type","message"},"request_id"}``.

The status decides which exception the official SDK raises, the ``error.type`` is what users branch on.
"""

from __future__ import annotations

from typing import Any

import orjson

from finops.emulators.anthropic.ids import new_id

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_DEFAULT_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}


def error_type_for(status: int) -> str:
    # Anthropic uses invalid_request_error for 4xx statuses it has no dedicated type for, api_error for 5xx.
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


class ApiError(Exception):
    """Raised by handlers; rendered as the envelope with the request's own ``request_id``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or error_type_for(status)
        self.details = details


def invalid_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def envelope(
    error_type: str, message: str, request_id: str | None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details is not None:
        # 2.13.0 SDKs pick a specific exception class from error.details.error_code.
        error["details"] = details
    return {"type": "error", "error": error, "request_id": request_id}


def render_error(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Error body and headers for an injected fault (``EmulatorControl`` calls this)."""
    request_id = new_id("req")
    error_type = error_type_for(status)
    body = orjson.dumps(envelope(error_type, _DEFAULT_MESSAGES.get(error_type, "Error"), request_id))
    return body, [(b"content-type", b"application/json"), (b"request-id", request_id.encode())]
