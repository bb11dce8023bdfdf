"""List pagination in both styles the official SDKs use.

- ``before_id`` / ``after_id`` / ``limit`` (0.x SDKs, and batches/models in every SDK): answer
  ``data, has_more, first_id, last_id``; ``has_more`` means more items in the requested direction.
- ``page`` / ``limit`` (files in 2.x SDKs): ``page`` is the opaque ``next_page`` cursor of the last answer.

Every answer carries all five keys, so either SDK can page through it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.datastructures import QueryParams

from finops.emulators.anthropic.errors import invalid_request

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_CURSOR_PREFIX = "page_"


@dataclass(frozen=True)
class ListQuery:
    limit: int
    before_seq: int | None = None
    after_seq: int | None = None


def encode_cursor(seq: int) -> str:
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(f"after:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = cursor.removeprefix(_CURSOR_PREFIX)
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        kind, _, seq = text.partition(":")
        if not cursor.startswith(_CURSOR_PREFIX) or kind != "after":
            raise ValueError(cursor)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_request(f"page: invalid page cursor '{cursor}'") from None


def parse_list_query(query: QueryParams, seq_of: Callable[[str], int | None]) -> ListQuery:
    raw_limit = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise invalid_request("limit: Input should be a valid integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid_request(f"limit: Input should be between 1 and {MAX_LIMIT}")
    before_id, after_id, page = query.get("before_id"), query.get("after_id"), query.get("page")
    if sum(value is not None for value in (before_id, after_id, page)) > 1:
        raise invalid_request("Only one of before_id, after_id and page may be given")
    if page is not None:
        return ListQuery(limit, after_seq=_decode_cursor(page))
    if before_id is not None:
        return ListQuery(limit, before_seq=_known_seq(before_id, "before_id", seq_of))
    if after_id is not None:
        return ListQuery(limit, after_seq=_known_seq(after_id, "after_id", seq_of))
    return ListQuery(limit)


def _known_seq(object_id: str, name: str, seq_of: Callable[[str], int | None]) -> int:
    seq = seq_of(object_id)
    if seq is None:
        raise invalid_request(f"{name}: unknown ID '{object_id}'")
    return seq


def paginate(
    items: Sequence[T],
    query: ListQuery,
    *,
    seq: Callable[[T], int],
    item_id: Callable[[T], str],
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``items`` (which must be ordered newest first, i.e. by descending seq)."""
    if query.before_seq is not None:
        newer = [item for item in items if seq(item) > query.before_seq]
        page = newer[-query.limit :]
        has_more = len(newer) > query.limit
    else:
        older = [item for item in items if query.after_seq is None or seq(item) < query.after_seq]
        page = older[: query.limit]
        has_more = len(older) > query.limit
    # next_page always walks forward (older), whatever direction this page was asked in.
    more_after = bool(page) and seq(items[-1]) < seq(page[-1])
    return {
        "data": [render(item) for item in page],
        "has_more": has_more,
        "first_id": item_id(page[0]) if page else None,
        "last_id": item_id(page[-1]) if page else None,
        "next_page": encode_cursor(seq(page[-1])) if more_after else None,
    }
