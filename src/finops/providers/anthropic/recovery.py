"""Find and remove what an unfinished create left on Anthropic (``finops.core.recovery``).

Anthropic's Message Batches and Files APIs take no metadata and no idempotency key, and the gateway passes the
caller's file name through, so nothing the gateway sends marks the object. Recovery uses a heuristic instead:
among the newest objects (``GET /v1/messages/batches`` or ``/v1/files``, newest first) it takes those created
within ``WINDOW`` of the intent (either side: the clocks differ), of the intent's size (a batch's request count;
a file's name and byte size), whose IDs the gateway does not know (``CreateIntent.known_upstream_ids``), and
cancels and deletes them (a batch is deleted only once it ended: a cancelled one stays listed, cancelled, until
Anthropic expires it). The core never settles an intent while another live create of the same provider and size
could match the same object (``finops.core.recovery``), so a running create is never mistaken for a dead one's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from finops.core.cleanup import quietly
from finops.core.types import JSON
from finops.providers.base import CreateIntent

Call = Callable[..., Awaitable[JSON]]

WINDOW = timedelta(minutes=5)
_PAGE = 100


def _created(batch: JSON) -> datetime | None:
    try:
        return datetime.fromisoformat(str(batch.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None


def _request_count(batch: JSON) -> int:
    counts = batch.get("request_counts") or {}
    return sum(int(value) for value in counts.values() if isinstance(value, int))


def _near(item: JSON, intent: CreateIntent) -> bool:
    created = _created(item)
    return (
        created is not None
        and abs(created - intent.created_at) <= WINDOW
        and item.get("id") not in intent.known_upstream_ids
    )


def matches(item: JSON, intent: CreateIntent) -> bool:
    """A batch with the intent's request count, or a file with its name and size, created around it, unknown."""
    if intent.kind == "batch":
        return _near(item, intent) and _request_count(item) == intent.request_count
    return _near(item, intent) and (item.get("filename"), item.get("size_bytes")) == (
        intent.filename,
        intent.size_bytes,
    )


async def remove_created(call: Call, intent: CreateIntent) -> int:
    path = "/v1/messages/batches" if intent.kind == "batch" else "/v1/files"
    found = 0
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": _PAGE, **({"after_id": after} if after else {})}
        page = await call("GET", path, params=params)
        data = page.get("data") or []
        for item in data:
            created = _created(item)
            if created is not None and created < intent.created_at - WINDOW:
                return found
            if matches(item, intent):
                found += 1
                if intent.kind == "batch":
                    await quietly(call("POST", f"{path}/{item['id']}/cancel"))
                await quietly(call("DELETE", f"{path}/{item['id']}"))
        if not page.get("has_more") or not data:
            return found
        after = page.get("last_id") or data[-1]["id"]
