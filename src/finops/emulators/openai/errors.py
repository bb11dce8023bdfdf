"""OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``.

Handlers raise :class:`OpenAIError`; the app turns it into a JSON response with the status the official SDK
maps to the right exception class (400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, ...).
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

# The ``type`` real OpenAI puts on errors it did not get from a handler (faults injected by EmulatorControl,
# unknown routes). 401 is ``invalid_request_error`` on the real API, not ``authentication_error``.
_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "requests",
    500: "server_error",
    502: "server_error",
    503: "server_error",
}
_MESSAGE_BY_STATUS = {
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
}
_CODE_BY_STATUS = {429: "rate_limit_exceeded"}


class OpenAIError(Exception):
    """An API error rendered in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def not_found(kind: str, object_id: str, param: str) -> OpenAIError:
    return OpenAIError(404, f"No such {kind}: '{object_id}'", param=param, code=None)


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def error_response(error: OpenAIError) -> Response:
    return Response(orjson.dumps(error.body()), status_code=error.status, media_type="application/json")


def render_error(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Body and headers for a fault injected by ``EmulatorControl`` (no handler involved)."""
    error = OpenAIError(
        status,
        _MESSAGE_BY_STATUS.get(status, f"Emulated upstream error (HTTP {status})."),
        type=_TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error"),
        code=_CODE_BY_STATUS.get(status),
    )
    return orjson.dumps(error.body()), [(b"content-type", b"application/json")]
