"""Check a request body against the request model once, before anything else reads it.

The body stays the dict the client sent (validation builds nothing the gateway keeps), so the Anthropic passthrough
can still forward the client's own bytes. A body that does not fit becomes a 400 ``invalid_request_error`` naming the
field as Anthropic's API does: ``messages.1.content.0.text: Field required``.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from finops.core.errors import InvalidRequestError

from .request import BatchCreateParams, BatchRequestParam, CountTokensParams, MessageParams
from .unions import TAG

MAX_BATCH_REQUESTS = 100_000
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_MESSAGE = TypeAdapter(MessageParams)
_COUNT_TOKENS = TypeAdapter(CountTokensParams)
_BATCH = TypeAdapter(BatchCreateParams)

_Body = TypeVar("_Body", MessageParams, CountTokensParams, BatchCreateParams)


def describe(error: ErrorDetails) -> str:
    """``path: problem`` for one pydantic error, with the union tags pydantic adds to the path left out."""
    path = [str(part) for part in error["loc"] if not (isinstance(part, str) and part.startswith(TAG))]
    kind, message, context = error["type"], error["msg"], error.get("ctx") or {}
    field = str(context.get("discriminator", "")).removesuffix("()")  # the field a union is told apart by
    if kind == "union_tag_not_found":
        value = error["input"]
        if not isinstance(value, dict):
            message = "Input should be a valid dictionary"
        else:
            path.append(field)
            message = "Field required" if field not in value else "Input should be a valid string"
    elif kind == "union_tag_invalid":
        tag, expected = str(context["tag"]).removeprefix(TAG), str(context["expected_tags"]).replace(f"'{TAG}", "'")
        if field == "type":  # Anthropic's own wording for a block or tool of a type it does not know
            message = f"Input tag '{tag}' found using 'type' does not match any of the expected tags: {expected}"
        else:  # ``role`` is a plain enum in Anthropic's schema: its error names the field
            path.append(field)
            first, _, last = expected.rpartition(", ")
            message = f"Input should be {first} or {last}" if first else f"Input should be {last}"
    return f"{'.'.join(path)}: {message}" if path else message


def _validated(adapter: TypeAdapter[_Body], body: Any) -> _Body:
    if not isinstance(body, dict):
        raise InvalidRequestError("body: must be a JSON object")
    try:
        adapter.validate_python(body)
    except ValidationError as exc:
        raise InvalidRequestError(describe(exc.errors(include_url=False)[0])) from None
    return cast(_Body, body)


_VALIDATE_AT_ONCE = 500
"""Requests validated per pydantic call: one call over 100,000 requests holds the GIL for ~100 ms, which every
other request of the process waits out."""


def _validated_batch(body: Any) -> BatchCreateParams:
    """``_validated(_BATCH, body)`` (the same first error), ``_VALIDATE_AT_ONCE`` requests per pydantic call.

    The model checks ``requests`` before its other fields and every request on its own, so the whole body's
    first error is the first error of the first slice that has one, else the first of the other fields."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or len(requests) <= _VALIDATE_AT_ONCE:
        return _validated(_BATCH, body)
    for start in range(0, len(requests), _VALIDATE_AT_ONCE):
        try:
            _BATCH.validate_python({"requests": requests[start : start + _VALIDATE_AT_ONCE]})
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = first["loc"]  # ("requests", index in the slice, ...)
            if len(loc) < 2 or not isinstance(loc[1], int):
                return _validated(_BATCH, body)  # not one request's error: the whole body says which it is
            where = ("requests", start + loc[1], *loc[2:])
            raise InvalidRequestError(describe({**first, "loc": where})) from None
    _validated(_BATCH, {**body, "requests": []})  # the other fields
    return cast(BatchCreateParams, body)


def _check_messages(params: MessageParams | CountTokensParams, where: str = "") -> None:
    if not params["messages"]:
        raise InvalidRequestError(f"{where}messages: at least one message is required")


def parse_message_params(body: Any) -> MessageParams:
    """A ``POST /v1/messages`` body, checked; the same dict, typed."""
    params = _validated(_MESSAGE, body)
    _check_messages(params)
    return params


def parse_count_tokens_params(body: Any) -> CountTokensParams:
    params = _validated(_COUNT_TOKENS, body)
    _check_messages(params)
    return params


def parse_batch(body: Any) -> list[BatchRequestParam]:
    """A Message Batches create body, checked as Anthropic checks it before accepting any of it; its requests."""
    if not isinstance(body, dict):
        raise InvalidRequestError("body: must be a JSON object")
    requests = body.get("requests")
    if isinstance(requests, list):  # the size first: a 100,001-request body is refused before it is walked
        if not requests:
            raise InvalidRequestError("requests: must contain at least 1 request")
        if len(requests) > MAX_BATCH_REQUESTS:
            raise InvalidRequestError(
                f"requests: a batch holds at most {MAX_BATCH_REQUESTS:,} requests, got {len(requests):,}"
            )
    batch = _validated_batch(body)
    seen: set[str] = set()
    for index, request in enumerate(batch["requests"]):
        where = f"requests.{index}"
        custom_id = request["custom_id"]
        if not CUSTOM_ID.match(custom_id):
            raise InvalidRequestError(f"{where}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
        if custom_id in seen:
            raise InvalidRequestError(f"{where}.custom_id: duplicate custom_id {custom_id!r}; custom_id must be unique")
        seen.add(custom_id)
        params = request["params"]
        _check_messages(params, f"{where}.params.")
        if params["max_tokens"] < 1:
            raise InvalidRequestError(f"{where}.params.max_tokens: must be an integer >= 1")
        if params.get("stream"):
            raise InvalidRequestError(f"{where}.params.stream: streaming is not supported in batch requests")
    return batch["requests"]
