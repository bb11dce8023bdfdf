"""Google's error envelope: ``{"error": {"code", "message", "status", "details"}}``.

Every failure the emulator reports, including injected faults and unknown routes, uses this shape, because the
google-genai SDK reads ``error.code``, ``error.status`` and ``error.message`` from it to build its exceptions.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

# google.rpc.Code names by HTTP status, as Google's front end maps them.
STATUS_BY_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_DEFAULT_MESSAGES: dict[int, str] = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}


class GoogleError(Exception):
    """Raised anywhere in a handler; rendered by the app as Google's envelope."""

    def __init__(
        self, code: int, message: str, status: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_HTTP.get(code, "UNKNOWN")
        self.details = details or []

    def as_status(self) -> dict[str, Any]:
        """The google.rpc.Status body (also used for per-request batch errors)."""
        return {"code": self.code, "message": self.message, "status": self.status, "details": self.details}


def invalid(message: str) -> GoogleError:
    return GoogleError(400, message, "INVALID_ARGUMENT")


def not_found(message: str) -> GoogleError:
    return GoogleError(404, message, "NOT_FOUND")


def error_body(
    code: int, message: str, status: str | None = None, details: list[dict[str, Any]] | None = None
) -> bytes:
    return orjson.dumps({"error": GoogleError(code, message, status, details).as_status()})


def error_response(error: GoogleError) -> Response:
    return Response(
        orjson.dumps({"error": error.as_status()}),
        status_code=error.code,
        media_type="application/json; charset=UTF-8",
    )


def render_error(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Error renderer for :class:`EmulatorControl` injected faults."""
    message = _DEFAULT_MESSAGES.get(status, f"Emulated upstream failure ({status}).")
    return error_body(status, message), [(b"content-type", b"application/json; charset=UTF-8")]
