"""Request validation done before anything reaches a provider (bad input must never cost money)."""

from __future__ import annotations

import re
from typing import Any

from finops.core.errors import InvalidRequestError

MAX_BATCH_REQUESTS = 100_000
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = ("user", "assistant")


def _fail(where: str, problem: str) -> InvalidRequestError:
    return InvalidRequestError(f"{where}: {problem}" if where else problem)


def validate_message_params(params: Any, *, where: str = "", in_batch: bool = False) -> None:
    """Check the fields every provider needs; provider-specific limits are the translators' business."""
    prefix = f"{where}." if where else ""
    if not isinstance(params, dict):
        raise _fail(where or "body", "must be a JSON object")
    model = params.get("model")
    if not isinstance(model, str) or not model:
        raise _fail(f"{prefix}model", "Field required" if model is None else "must be a non-empty string")
    max_tokens = params.get("max_tokens")
    if max_tokens is None:
        raise _fail(f"{prefix}max_tokens", "Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < (1 if in_batch else 0):
        raise _fail(f"{prefix}max_tokens", f"must be an integer >= {1 if in_batch else 0}")
    messages = params.get("messages")
    if messages is None:
        raise _fail(f"{prefix}messages", "Field required")
    if not isinstance(messages, list) or not messages:
        raise _fail(f"{prefix}messages", "must be a non-empty list")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise _fail(f"{prefix}messages.{index}.role", "must be 'user' or 'assistant'")
        content = message.get("content")
        if not isinstance(content, str | list):
            raise _fail(f"{prefix}messages.{index}.content", "must be a string or a list of content blocks")
    if in_batch and params.get("stream"):
        raise _fail(f"{prefix}stream", "streaming is not supported in batch requests")


def validate_batch_requests(body: Any) -> list[dict[str, Any]]:
    """Validate a Message Batches create body; return its ``requests``."""
    if not isinstance(body, dict):
        raise InvalidRequestError("body: must be a JSON object")
    requests = body.get("requests")
    if requests is None:
        raise InvalidRequestError("requests: Field required")
    if not isinstance(requests, list):
        raise InvalidRequestError("requests: must be a list")
    if not requests:
        raise InvalidRequestError("requests: must contain at least 1 request")
    if len(requests) > MAX_BATCH_REQUESTS:
        raise InvalidRequestError(
            f"requests: a batch holds at most {MAX_BATCH_REQUESTS:,} requests, got {len(requests):,}"
        )
    seen: set[str] = set()
    for index, request in enumerate(requests):
        where = f"requests.{index}"
        if not isinstance(request, dict):
            raise _fail(where, "must be an object with custom_id and params")
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            raise _fail(f"{where}.custom_id", "must match ^[a-zA-Z0-9_-]{1,64}$")
        if custom_id in seen:
            raise _fail(f"{where}.custom_id", f"duplicate custom_id {custom_id!r}; custom_id must be unique")
        seen.add(custom_id)
        validate_message_params(request.get("params"), where=f"{where}.params", in_batch=True)
    return requests
