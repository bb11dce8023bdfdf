"""Reading a request: body size limits, JSON, headers passed upstream, the provider header, pagination parameters."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Message

from finops.core.errors import InvalidRequestError, RequestTooLargeError
from finops.core.routing import provider_from_header
from finops.core.types import CallContext

from .errors import request_id_of

_HEADERS = "finops.headers"


def headers_of(request: Request) -> dict[str, str]:
    """The request's headers as a plain dictionary, built once per request (and kept in its scope).

    Starlette's ``Headers`` finds a header by walking the whole list, and ``get`` of one that is absent raises and
    catches a ``KeyError``: the dozen lookups of a message request (most of them for headers it does not have)
    cost more than building this. Names are in lower case (look them up so); a header sent twice reads as its
    first value, as in ``Headers``."""
    headers: dict[str, str] | None = request.scope.get(_HEADERS)
    if headers is None:
        headers = {}
        for name, value in request.scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        request.scope[_HEADERS] = headers
    return headers


def _too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(f"Request exceeds the maximum allowed size of {limit:,} bytes")


def check_declared_length(request: Request, limit: int) -> None:
    declared = headers_of(request).get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes ``limit`` (declared or actually sent)."""
    check_declared_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def limited(request: Request, limit: int) -> Request:
    """The same request, but its body stream raises 413 once more than ``limit`` bytes arrive."""
    check_declared_length(request, limit)
    received = 0
    receive = request.receive

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        return message

    return Request(request.scope, counting_receive)


MAX_JSON_DEPTH = 128
"""Deeper bodies are refused at parse time: orjson writes at most 254 levels, and a translation or batch envelope
adds a few; no real request comes near (tool schemas nest ~10)."""

_COUNT_BRACKETS_UP_TO = 16 * 1024

# Headers whose values the gateway sends upstream as they came: they must be something an HTTP client can send.
_FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version")


_ORJSON_MAX_DEPTH = 254
"""The deepest nesting ``orjson.dumps`` writes (one level more raises ``JSONEncodeError``)."""


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` (as ``orjson.loads`` made it) nests more than ``limit`` levels.

    ``orjson.dumps`` measures depth in C, ten times faster than walking the value in Python, but only against its
    own limit: wrapping the value in ``_ORJSON_MAX_DEPTH - limit`` lists first moves that limit to ``limit``.
    Nothing else can fail: every value ``orjson.loads`` returns can be written back.
    """
    for _ in range(_ORJSON_MAX_DEPTH - limit):
        value = [value]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return True
    return False


def parse_json(body: bytes) -> Any:
    if not body:
        raise InvalidRequestError("Request body is empty; expected a JSON object")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequestError("Request body is not valid JSON") from None
    # Nesting can be no deeper than the number of brackets: a small body is mostly cleared by that count alone
    # (counting costs ~0.3 ms a MB, more than the check itself on a large body, which therefore goes straight to it).
    small = len(body) <= _COUNT_BRACKETS_UP_TO and body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH
    if not small and isinstance(value, dict | list) and deeper_than(value, MAX_JSON_DEPTH):
        raise InvalidRequestError(f"Request body is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def check_forwarded_headers(request: Request) -> None:
    """A header the gateway would pass upstream must be printable ASCII (``anthropic-beta: café`` is a 400 here,
    not an encoding error in the upstream client)."""
    headers = headers_of(request)
    for name in _FORWARDED_HEADERS:
        value = headers.get(name)
        if value is not None and not (value.isascii() and value.isprintable()):
            raise InvalidRequestError(f"{name}: header value must be printable ASCII")


def provider_of(request: Request) -> str:
    return provider_from_header(headers_of(request).get("x-model-provider"))


def call_context(request: Request, *, raw_body: bytes | None = None) -> CallContext:
    """The call's inputs from its headers; ``raw_body`` is the body exactly as received, when it was read whole."""
    headers = headers_of(request)
    return CallContext(
        request_id=request_id_of(request) or "",
        anthropic_beta=headers.get("anthropic-beta"),
        anthropic_version=headers.get("anthropic-version"),
        raw_body=raw_body,
    )


@dataclass(frozen=True)
class ListParams:
    limit: int
    after_id: str | None
    before_id: str | None


def _decode_page(token: str) -> str:
    if not token.startswith("page_"):
        raise InvalidRequestError("page: not a page token returned by this API")
    try:
        return base64.urlsafe_b64decode(token[5:] + "=" * (-len(token[5:]) % 4)).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text (``page_%FF``) are all ValueErrors
        raise InvalidRequestError("page: not a page token returned by this API") from None


def encode_page(last_id: str) -> str:
    return "page_" + base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def list_params(request: Request, *, default_limit: int = 20, max_limit: int = 1000) -> ListParams:
    query = request.query_params
    raw_limit = query.get("limit")
    limit = default_limit
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= max_limit:
            raise InvalidRequestError(f"limit: must be an integer between 1 and {max_limit}")
        limit = int(raw_limit)
    after_id, before_id, page = query.get("after_id"), query.get("before_id"), query.get("page")
    if sum(value is not None for value in (after_id, before_id, page)) > 1:
        raise InvalidRequestError("use only one of after_id, before_id and page")
    if page is not None:
        after_id = _decode_page(page)
    return ListParams(limit=limit, after_id=after_id, before_id=before_id)
