"""Find and remove what an unfinished batch create left on Anthropic (``finops.core.recovery``).

Anthropic's Message Batches API takes no metadata and no idempotency key, so nothing the gateway sends marks the
batch. Recovery uses a heuristic instead: among the newest batches (``GET /v1/messages/batches``, newest first)
it takes those created within ``WINDOW`` of the intent (either side: the clocks differ) with exactly the intent's
request count, whose IDs the gateway does not know (``CreateIntent.known_upstream_ids``), and cancels and deletes
them (a batch is deleted only once it ended: a cancelled one stays listed, cancelled, until Anthropic expires
it). The core never settles an intent while another live create of the same provider could match the same batch
(``finops.core.recovery``), so a running create is never mistaken for a dead one's. Files carry no mark either,
and are not searched: a file upload killed in the window stays upstream (documented in docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from finops.core.cleanup import quietly
from finops.providers.base import CreateIntent

JSON = dict[str, Any]
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


def matches(batch: JSON, intent: CreateIntent) -> bool:
    created = _created(batch)
    return (
        created is not None
        and abs(created - intent.created_at) <= WINDOW
        and _request_count(batch) == intent.request_count
        and batch.get("id") not in intent.known_upstream_ids
    )


async def remove_created(call: Call, intent: CreateIntent) -> int:
    if intent.kind != "batch" or intent.request_count is None:
        return 0
    found = 0
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": _PAGE, **({"after_id": after} if after else {})}
        page = await call("GET", "/v1/messages/batches", params=params)
        data = page.get("data") or []
        for batch in data:
            created = _created(batch)
            if created is not None and created < intent.created_at - WINDOW:
                return found
            if matches(batch, intent):
                found += 1
                await quietly(call("POST", f"/v1/messages/batches/{batch['id']}/cancel"))
                await quietly(call("DELETE", f"/v1/messages/batches/{batch['id']}"))
        if not page.get("has_more") or not data:
            return found
        after = page.get("last_id") or data[-1]["id"]
