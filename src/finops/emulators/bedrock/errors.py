"""Bedrock Runtime's error shapes (rest-json): ``{"message": ...}`` plus an ``x-amzn-ErrorType`` header.

botocore reads the error code from ``x-amzn-ErrorType`` (the part before ``:``), so the header carries the
same ``Code:namespace`` form AWS sends. Inside an event stream the same errors travel as exception frames
whose ``:exception-type`` is the camelCase member name of the stream union (``throttlingException``).
"""

from __future__ import annotations

import uuid

import orjson

_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"

# status -> (error code, default message), as Bedrock Runtime answers them.
_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("ValidationException", "Malformed input request, please reformat your input and try again."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "The requested resource could not be found."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    409: ("ConflictException", "The request conflicts with the current state of the resource."),
    424: ("ModelErrorException", "The model returned an error. Try your request again."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The server encountered an internal error. Try your request again."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}

# Error codes that exist as exception members of the response-stream unions.
STREAM_EXCEPTIONS: dict[str, int] = {
    "internalServerException": 500,
    "modelStreamErrorException": 424,
    "validationException": 400,
    "throttlingException": 429,
    "modelTimeoutException": 408,
    "serviceUnavailableException": 503,
}


class BedrockError(Exception):
    """An error the emulator answers in Bedrock's shape; raised anywhere below a route handler."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _BY_STATUS.get(status, ("InternalServerException", ""))[0]


def validation(message: str) -> BedrockError:
    return BedrockError(400, message, "ValidationException")


def new_request_id() -> str:
    return str(uuid.uuid4())


def error_parts(status: int, message: str, code: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = orjson.dumps({"message": message})
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", f"{code}:{_NAMESPACE}".encode()),
        (b"x-amzn-requestid", new_request_id().encode()),
    ]
    return body, headers


def render_error(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The ``EmulatorControl`` renderer: an injected fault with status ``status`` in Bedrock's shape."""
    code, message = _BY_STATUS.get(status, ("InternalServerException", "Injected fault."))
    return error_parts(status, message, code)
