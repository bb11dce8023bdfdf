"""Small wire helpers: proto-JSON field lookup in either case, JSON bodies, timestamps and ids."""

from __future__ import annotations

import base64
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.gemini.errors import invalid

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")
_ID_ALPHABET = string.ascii_lowercase + string.digits


def snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def pick(obj: Any, camel: str, default: Any = None) -> Any:
    """Read a proto field by its camelCase name, falling back to snake_case.

    Proto-JSON parsers accept both spellings and the SDK sometimes sends snake_case. We look fields up
    instead of rewriting keys, so user data (function args, schema property names, metadata) is never altered.
    """
    if not isinstance(obj, dict):
        return default
    if camel in obj:
        return obj[camel]
    return obj.get(snake(camel), default)


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return body


def json_response(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload),
        status_code=status_code,
        media_type="application/json; charset=UTF-8",
        headers=headers,
    )


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """RFC 3339 with microseconds and a ``Z``, as Google's proto-JSON writes Timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resource_id(length: int = 16) -> str:
    """Random lowercase id: valid as a Files id ([a-z0-9-], <= 40 chars) and unguessable."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def page_size(value: str | None, *, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    try:
        size = int(value)
    except ValueError as exc:
        raise invalid(f"Invalid value at 'page_size' (TYPE_INT32), \"{value}\"") from exc
    if size < 0:
        raise invalid("page_size must not be negative.")
    return default if size == 0 else min(size, maximum)


def paginate(items: list[Any], seq_of: Any, token: str | None, size: int) -> tuple[list[Any], str | None]:
    """Cursor pagination over ``items`` sorted by descending sequence number.

    The token names the last sequence number served, so deletions between pages never skip or repeat items.
    """
    if token:
        try:
            after = int(base64.urlsafe_b64decode(token.encode() + b"==").decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid("Invalid page token.") from exc
        items = [item for item in items if seq_of(item) < after]
    page = items[:size]
    if len(items) > size:
        return page, base64.urlsafe_b64encode(str(seq_of(page[-1])).encode()).decode().rstrip("=")
    return page, None
