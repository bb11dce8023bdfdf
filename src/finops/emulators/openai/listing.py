"""Cursor pagination shared by ``GET /v1/files`` and ``GET /v1/batches``.

The SDK's ``CursorPage`` asks for the next page with ``after=<last id of this page>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finops.emulators.openai.errors import bad_request


def parse_limit(raw: str | None, *, default: int, maximum: int) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(f"Invalid 'limit': expected an integer, got '{raw}'.", param="limit") from None
    if not 1 <= limit <= maximum:
        raise bad_request(f"Invalid 'limit': must be between 1 and {maximum}.", param="limit")
    return limit


def page(items: Sequence[Any], *, after: str | None, limit: int) -> dict[str, Any]:
    """A list object over ``items`` (filtered and ordered); each item has ``id`` and ``to_object()``."""
    start = 0
    if after:
        ids = [item.id for item in items]
        # An unknown cursor (e.g. a deleted object) yields an empty page rather than restarting the listing.
        start = ids.index(after) + 1 if after in ids else len(items)
    chosen = items[start : start + limit]
    return {
        "object": "list",
        "data": [item.to_object() for item in chosen],
        "first_id": chosen[0].id if chosen else None,
        "last_id": chosen[-1].id if chosen else None,
        "has_more": start + limit < len(items),
    }
