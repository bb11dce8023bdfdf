"""Reading a request: body size limits, JSON, the provider header, pagination parameters."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from finops.core.errors import InvalidRequestError, RequestTooLargeError
from finops.core.routing import provider_from_header
from finops.core.types import CallContext

from .errors import request_id_of


def _too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(f"Request exceeds the maximum allowed size of {limit:,} bytes")


def check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
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

    async def counting_receive() -> dict[str, Any]:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        return message

    return Request(request.scope, counting_receive)


def parse_json(body: bytes) -> Any:
    if not body:
        raise InvalidRequestError("Request body is empty; expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequestError("Request body is not valid JSON") from None


def provider_of(request: Request) -> str:
    return provider_from_header(request.headers.get("x-model-provider"))


def call_context(request: Request, *, raw_body: bytes | None = None) -> CallContext:
    """The call's inputs from its headers; ``raw_body`` is the body exactly as received, when it was read whole."""
    return CallContext(
        request_id=request_id_of(request) or "",
        anthropic_beta=request.headers.get("anthropic-beta"),
        anthropic_version=request.headers.get("anthropic-version"),
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
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRequestError("page: not a page token returned by this API") from None


def encode_page(last_id: str) -> str:
    return "page_" + base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def list_params(request: Request, *, default_limit: int = 20, max_limit: int = 1000) -> ListParams:
    query = request.query_params
    raw_limit = query.get("limit")
    limit = default_limit
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= max_limit:
            raise InvalidRequestError(f"limit: must be an integer between 1 and {max_limit}")
        limit = int(raw_limit)
    after_id, before_id, page = query.get("after_id"), query.get("before_id"), query.get("page")
    if sum(value is not None for value in (after_id, before_id, page)) > 1:
        raise InvalidRequestError("use only one of after_id, before_id and page")
    if page is not None:
        after_id = _decode_page(page)
    return ListParams(limit=limit, after_id=after_id, before_id=before_id)
